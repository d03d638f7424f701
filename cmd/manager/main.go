/*
Copyright 2026 The tiktok-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Command manager runs the tiktok-operator: the AccountQuota and TikTokPost controllers, with leader
// election, health probes and a secure metrics endpoint, kubebuilder style.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"os"
	goruntime "runtime"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	_ "k8s.io/client-go/plugin/pkg/client/auth" // cloud auth plugins for `make run` against real clusters
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	publishv1alpha1 "github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/controllers"
)

var scheme = runtime.NewScheme()

// defaultLeaderElectionID is the leader election Lease's name when --leader-election-id is not given
// (config/manager keeps it; the chart passes the release's full name, so shards in one namespace differ).
const defaultLeaderElectionID = "tiktok-operator.publish.tiktok-operator.dev"

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(publishv1alpha1.AddToScheme(scheme))
}

func main() {
	var (
		metricsAddr          string
		secureMetrics        bool
		enableHTTP2          bool
		probeAddr            string
		leaderElect          bool
		leaderElectionNS     string
		leaderElectionID     string
		namespaces           string
		accountSelector      string
		maxConcurrent        int
		accountStatusEvery   time.Duration
		accountStatusQPS     float64
		statusPollInitial    time.Duration
		statusPollMax        time.Duration
		creatorInfoTTL       time.Duration
		tiktokTimeout        time.Duration
		uploadTimeout        time.Duration
		processingTimeout    time.Duration
		accountGoneGrace     time.Duration
		gracefulShutdownWait time.Duration
		pprofAddr            string
		identityFlag         string
		identityFile         string
		accountLease         time.Duration
		capRetryInterval     time.Duration
		allowedEndpoints     string
		allowedUploadHosts   string
	)
	// The controllers' options default to controllers.DefaultOptions, written once there.
	defaults := controllers.DefaultOptions()
	flag.StringVar(&metricsAddr, "metrics-bind-address", "0",
		"The address the metrics endpoint binds to, e.g. :8443 (HTTPS) or :8080 (HTTP). 0 disables it.")
	flag.BoolVar(&secureMetrics, "metrics-secure", true,
		"Serve metrics over HTTPS and authorize callers with TokenReview/SubjectAccessReview.")
	flag.BoolVar(&enableHTTP2, "enable-http2", false,
		"Enable HTTP/2 for the metrics server (off by default: HTTP/2 Rapid Reset, CVE-2023-44487).")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "The address the health probes bind to.")
	flag.BoolVar(&leaderElect, "leader-elect", false,
		"Enable leader election, so that only one replica publishes at a time.")
	flag.StringVar(&leaderElectionNS, "leader-election-namespace", "",
		"The namespace of the leader election Lease (default: the pod's namespace).")
	flag.StringVar(&leaderElectionID, "leader-election-id", defaultLeaderElectionID,
		"The name of the leader election Lease. Releases sharded by --account-selector in one namespace "+
			"need different ones (the chart uses the release's full name).")
	flag.StringVar(&namespaces, "namespaces", "",
		"Comma-separated namespaces to watch. Empty watches all namespaces.")
	flag.StringVar(&accountSelector, "account-selector", "",
		"A label selector: only AccountQuotas that match it (and their posts) are handled by this release. "+
			"Run several releases with disjoint selectors to shard a large fleet.")
	flag.IntVar(&maxConcurrent, "max-concurrent-reconciles", defaults.MaxConcurrentReconciles,
		"How many posts (and accounts) are reconciled at once.")
	flag.DurationVar(&accountStatusEvery, "account-status-interval", defaults.AccountStatusInterval,
		"The least time between two status writes of one AccountQuota (usage and queue are coalesced).")
	flag.Float64Var(&accountStatusQPS, "account-status-qps", defaults.AccountStatusQPS,
		"The most AccountQuota status writes of moved figures (usage, queue) per second, over all accounts; "+
			"a large fleet's accounts then take turns. Condition changes are written at once.")
	flag.DurationVar(&statusPollInitial, "status-poll-initial", defaults.StatusPollInitial,
		"The first wait before polling TikTok for a post's processing status; it doubles up to --status-poll-max.")
	flag.DurationVar(&statusPollMax, "status-poll-max", defaults.StatusPollMax, "The longest wait between two status polls.")
	flag.DurationVar(&creatorInfoTTL, "creator-info-ttl", defaults.CreatorInfoTTL, "How long creator info is cached.")
	flag.DurationVar(&tiktokTimeout, "tiktok-timeout", defaults.CallTimeout, "The deadline of one call to TikTok.")
	flag.DurationVar(&uploadTimeout, "upload-timeout", defaults.UploadTimeout,
		"The longest a FileUpload post's transfer may take (TikTok's upload URL lives an hour); then it is retried with a new init.")
	flag.DurationVar(&processingTimeout, "processing-timeout", defaults.ProcessingTimeout,
		"How long TikTok may process an accepted post before it fails with reason ProcessingTimeout.")
	flag.DurationVar(&accountGoneGrace, "account-gone-grace", defaults.AccountGoneGrace,
		"How long a post in flight waits for its deleted AccountQuota to come back before it fails with reason AccountNotFound.")
	flag.DurationVar(&gracefulShutdownWait, "graceful-shutdown-timeout", 30*time.Second,
		"How long calls in flight may take to finish on shutdown (an init call cut short is an uncertain outcome).")
	flag.StringVar(&pprofAddr, "pprof-bind-address", "",
		"The address Go's pprof endpoints bind to, e.g. 127.0.0.1:6060. Empty (the default) disables them.")
	flag.StringVar(&identityFlag, "identity", "",
		"This manager's name in the per-account Leases it holds (default: the host name, '_' and a random suffix). "+
			"It must be unique to the process. Not with --identity-file.")
	flag.StringVar(&identityFile, "identity-file", "",
		"A file in a directory that outlives the container but not the pod (an emptyDir; the chart mounts one): "+
			"it keeps this manager's name across restarts of its container, under a lock only a live process holds. "+
			"A restart after a crash (SIGKILL, OOMKilled) then takes its Leases over at once instead of after they lapse.")
	flag.DurationVar(&accountLease, "account-lease-duration", defaults.AccountLeaseDuration,
		"The duration of the per-account Leases (whole seconds): one manager at a time paces an account; the "+
			"holder renews its Lease every third of it while the account has work, another manager takes the "+
			"account over only after it went unrenewed this long.")
	flag.DurationVar(&capRetryInterval, "cap-retry-interval", time.Hour,
		"The longest an account's direct posts (or pending shares) wait after TikTok refused one for a daily cap "+
			"that the operator's own 24 h log does not explain (other apps of the creator posted): they wait until "+
			"the oldest post of that log leaves the day, or this long, whichever is sooner, then one post probes.")
	flag.StringVar(&allowedEndpoints, "allowed-endpoints", controllers.DefaultAllowedEndpoints,
		"Comma-separated API endpoints (scheme://host[:port]; without a port, any port of the host) the operator may "+
			"send an account's credentials to. An AccountQuota whose spec.endpoint is not listed reports EndpointNotAllowed "+
			"and nothing is sent to it. http:// (the simulator on loopback, say) only when listed.")
	flag.StringVar(&allowedUploadHosts, "allowed-upload-hosts", controllers.DefaultAllowedUploadHosts,
		"Comma-separated hosts (a name, or *.domain for the names under it) that a FileUpload post's bytes may be sent to "+
			"over https when TikTok's init answer names them in upload_url; the account's own endpoint is always trusted. "+
			"Any other upload_url fails the post with reason UploadURLNotAllowed before a byte is sent.")
	opts := zap.Options{Development: false}
	opts.BindFlags(flag.CommandLine)
	// The metrics endpoint's certificate (--metrics-cert-path, -name, -key): metrics_cert.go.
	var metricsCert metricsCertFlags
	metricsCert.bind(flag.CommandLine)
	flag.Parse()

	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))
	log := ctrl.Log.WithName("setup")

	selector, err := labels.Parse(accountSelector)
	if err != nil {
		log.Error(err, "invalid --account-selector")
		os.Exit(1)
	}
	endpoints, err := controllers.ParseAllowedEndpoints(allowedEndpoints)
	if err != nil {
		log.Error(err, "invalid --allowed-endpoints")
		os.Exit(1)
	}
	uploadHosts, err := controllers.ParseUploadHosts(allowedUploadHosts)
	if err != nil {
		log.Error(err, "invalid --allowed-upload-hosts")
		os.Exit(1)
	}

	// HTTP/2 stays off unless asked for: the Rapid Reset and Stream Cancellation advisories.
	var tlsOpts []func(*tls.Config)
	if !enableHTTP2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	metricsOpts := metricsserver.Options{BindAddress: metricsAddr, SecureServing: secureMetrics, TLSOpts: tlsOpts}
	if secureMetrics {
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}
	metricsCertWatcher, err := metricsCert.apply(&metricsOpts)
	if err != nil {
		log.Error(err, "invalid metrics certificate")
		os.Exit(1)
	}

	cacheOpts := cache.Options{}
	if ns := splitList(namespaces); len(ns) > 0 {
		cacheOpts.DefaultNamespaces = map[string]cache.Config{}
		for _, n := range ns {
			cacheOpts.DefaultNamespaces[n] = cache.Config{}
		}
	}
	// The operator only ever sees Secrets labelled as TikTok credentials (the cache, and so the list/watch
	// it sends, is restricted by label), and it caches objects without their managedFields.
	controllers.ConfigureCache(&cacheOpts)

	name, claim, err := managerName(log, identityFlag, identityFile)
	if err != nil {
		log.Error(err, "invalid identity")
		os.Exit(1)
	}
	// The claim stays reachable until main returns: an unreachable os.File is closed by its finalizer,
	// and the identity file's lock with it.
	defer goruntime.KeepAlive(claim)

	cfg := ctrl.GetConfigOrDie()
	renewDeadline := leaderRenewDeadline
	mgrOpts := ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsOpts,
		HealthProbeBindAddress:  probeAddr,
		LeaderElection:          leaderElect,
		LeaderElectionID:        leaderElectionID,
		LeaderElectionNamespace: leaderElectionNS,
		RenewDeadline:           &renewDeadline,
		// The leader-election Lease is released when the manager stops (main returns right after Start
		// does), so that a new pod of a rolling update leads at once, not once the Lease lapsed.
		LeaderElectionReleaseOnCancel: true,
		Cache:                         cacheOpts,
		GracefulShutdownTimeout:       &gracefulShutdownWait,
		PprofBindAddress:              pprofAddr,
	}
	if leaderElect {
		if mgrOpts.LeaderElectionResourceLockInterface, err = leaderLock(cfg, leaderElectionNS, leaderElectionID, name); err != nil {
			log.Error(err, "unable to set up leader election")
			os.Exit(1)
		}
	}
	mgr, err := ctrl.NewManager(cfg, mgrOpts)
	if err != nil {
		log.Error(err, "unable to create the manager")
		os.Exit(1)
	}

	if err := controllers.Setup(mgr, controllers.Options{
		AccountSelector:         selector,
		MaxConcurrentReconciles: maxConcurrent,
		AccountStatusInterval:   accountStatusEvery,
		AccountStatusQPS:        accountStatusQPS,
		StatusPollInitial:       statusPollInitial,
		StatusPollMax:           statusPollMax,
		CreatorInfoTTL:          creatorInfoTTL,
		CallTimeout:             tiktokTimeout,
		UploadTimeout:           uploadTimeout,
		ProcessingTimeout:       processingTimeout,
		AccountGoneGrace:        accountGoneGrace,
		Identity:                name,
		AccountLeaseDuration:    accountLease,
		CapRetryInterval:        capRetryInterval,
		AllowedEndpoints:        endpoints,
		AllowedUploadHosts:      uploadHosts,
	}); err != nil {
		log.Error(err, "unable to set up the controllers")
		os.Exit(1)
	}

	if metricsCertWatcher != nil {
		if err := mgr.Add(metricsCertWatcher); err != nil {
			log.Error(err, "unable to watch the metrics certificate")
			os.Exit(1)
		}
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		log.Error(err, "unable to set up the health check")
		os.Exit(1)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		log.Error(err, "unable to set up the ready check")
		os.Exit(1)
	}

	log.Info("starting manager", "identity", name, "namespaces", fmt.Sprint(splitList(namespaces)), "accountSelector", selector.String(),
		"allowedEndpoints", endpoints.String(), "allowedUploadHosts", uploadHosts.String())
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		log.Error(err, "problem running the manager")
		os.Exit(1)
	}
}

// splitList splits a comma-separated flag value, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
