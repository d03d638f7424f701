package testenv

import (
	"context"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/tiktok-operator/tiktok-operator/controllers"
)

// ManagerOptions are the options of a manager built like cmd/manager's that runs in a test's (or the
// demo's) process, watching namespace ns only: its cache configured as the production one
// (controllers.ConfigureCache: labelled Secrets, no managedFields), no metrics or probe port to clash
// with another run, controller names that may repeat across the managers of one process, and the
// production graceful shutdown (30 s). Callers change what they need (a client that counts writes, leader
// election) before ctrl.NewManager.
func ManagerOptions(scheme *runtime.Scheme, ns string, log logr.Logger) ctrl.Options {
	cacheOpts := cache.Options{DefaultNamespaces: map[string]cache.Config{ns: {}}}
	controllers.ConfigureCache(&cacheOpts)
	return ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress:  "0",
		Cache:                   cacheOpts,
		Controller:              config.Controller{SkipNameValidation: ptr.To(true)},
		Logger:                  log,
		GracefulShutdownTimeout: ptr.To(30 * time.Second),
	}
}

// RunManager starts mgr in the background; stop cancels it and returns how it ended (calls in flight
// get the graceful shutdown timeout).
func RunManager(mgr ctrl.Manager) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	return func() error { cancel(); return <-done }
}
