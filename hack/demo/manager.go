package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/tiktok-operator/tiktok-operator/controllers"
	"github.com/tiktok-operator/tiktok-operator/internal/testenv"
)

// newLogger writes JSON log lines to w (the demo's manager.log), never to the terminal.
func newLogger(w io.Writer) logr.Logger {
	return zap.New(zap.WriteTo(w), zap.UseDevMode(false))
}

// controllerOptions are cmd/manager's options compressed to the demo's windows: status written twice
// a second so the live view moves, processing polled every second or two. The simulator at simURL is the
// only API endpoint admitted (--allowed-endpoints).
func controllerOptions(cfg config, media *http.Client, simURL string) (controllers.Options, error) {
	allowed, err := controllers.ParseAllowedEndpoints(simURL)
	if err != nil {
		return controllers.Options{}, err
	}
	o := controllers.Options{
		AllowedEndpoints:        allowed,
		MaxConcurrentReconciles: 4,
		AccountStatusInterval:   500 * time.Millisecond,
		AccountStatusQPS:        100,
		StatusPollInitial:       time.Second,
		StatusPollMax:           2 * time.Second,
		CallTimeout:             5 * time.Second,
		MediaClient:             media,
	}
	if cfg.Window >= time.Minute { // TikTok's real windows: cmd/manager's defaults but a livelier view
		o.StatusPollInitial, o.StatusPollMax, o.CallTimeout = 2*time.Second, 10*time.Second, 30*time.Second
	}
	return o, nil
}

// startManager runs the production controllers (controllers.Setup) on a manager built like
// cmd/manager's, in this process, watching the demo's namespace. Metrics and probes are off (no port to
// clash with a second run).
func startManager(restCfg *rest.Config, scheme *runtime.Scheme, log logr.Logger, opts controllers.Options) (*runningManager, error) {
	o := testenv.ManagerOptions(scheme, namespace, log)
	o.GracefulShutdownTimeout = ptr.To(10 * time.Second)
	mgr, err := ctrl.NewManager(restCfg, o)
	if err != nil {
		return nil, fmt.Errorf("creating the manager: %w", err)
	}
	if err := controllers.Setup(mgr, opts); err != nil {
		return nil, fmt.Errorf("setting up the controllers: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return nil, fmt.Errorf("adding the health check: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &runningManager{cancel: cancel, exited: make(chan struct{})}
	go func() { m.err = mgr.Start(ctx); close(m.exited) }()
	return m, nil
}

// runningManager is a manager started by startManager.
type runningManager struct {
	cancel context.CancelFunc
	// exited is closed when the manager has returned; err is then its result.
	exited chan struct{}
	err    error
}

// stop cancels the manager and waits for it (calls in flight get the graceful shutdown timeout).
func (m *runningManager) stop() error {
	if m == nil {
		return nil
	}
	m.cancel()
	<-m.exited
	if m.err != nil {
		return fmt.Errorf("the manager stopped with an error: %w", m.err)
	}
	return nil
}
