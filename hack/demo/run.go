package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
)

// run is the whole demo: control plane, simulator, media server, accounts, manager, posts, the live
// view until every post has ended, the summary, and `kubectl tiktok status -A` of the accounts.
// Everything it starts is stopped and its temporary folder removed before it returns, also when ctx is
// cancelled (Ctrl-C), so a second run starts clean.
func run(ctx context.Context, cfg config, out io.Writer) (*summary, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	started := time.Now()
	dir, err := os.MkdirTemp("", "tiktok-demo-")
	if err != nil {
		return nil, fmt.Errorf("creating the temporary folder: %w", err)
	}
	defer func() { _ = os.RemoveAll(dir) }()
	say := func(format string, a ...any) { _, _ = fmt.Fprintf(out, format+"\n", a...) }

	kubeconfig := filepath.Join(dir, "kubeconfig")
	say("tiktok-operator demo: %d posts on %d accounts, %d inits per %s window per endpoint, %s apart",
		cfg.Posts, len(sampleAccounts), cfg.InitLimit, cfg.Window, cfg.MinInterval)
	say("kubeconfig: %s", kubeconfig)
	say("  watch it from another terminal:  KUBECONFIG=%s kubectl get tiktok -A -w", kubeconfig)
	logPath := filepath.Join(dir, "manager.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("creating the manager log: %w", err)
	}
	defer func() { _ = logFile.Close() }()
	log := newLogger(logFile)
	ctrl.SetLogger(log)
	say("  operator log:  tail -f %s   (everything is removed when the demo ends)", logPath)

	say("starting etcd and kube-apiserver on loopback, installing the CRDs ...")
	cp, err := startControlPlane(cfg, dir)
	if err != nil {
		return nil, err
	}
	defer func() { _ = cp.stop() }()
	if kubeconfig != cp.Kubeconfig {
		return nil, fmt.Errorf("kubeconfig written to %s, announced %s", cp.Kubeconfig, kubeconfig)
	}

	sim, err := startSim(ctx, cfg, dir)
	if err != nil {
		return nil, err
	}
	defer sim.stop()
	say("tiktok-sim listening on %s", sim.URL)

	mediaURL := ""
	media := startMedia()
	defer media.Close()
	if !cfg.ExternalManager {
		mediaURL = media.URL
	}

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
	c, err := client.New(cp.Config, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("creating the API client: %w", err)
	}
	secrets, err := createAccounts(ctx, c, sim, cfg, mediaURL)
	if err != nil {
		return nil, err
	}
	say("created %d AccountQuotas and their credential Secrets in namespace %s", len(sampleAccounts), namespace)

	var mgr *runningManager
	if cfg.ExternalManager {
		say("waiting for an operator: run  KUBECONFIG=%s make run RUN_ARGS='--health-probe-bind-address=127.0.0.1:0 --allowed-endpoints=%s'",
			kubeconfig, sim.URL)
	} else {
		opts, err := controllerOptions(cfg, media.Client(), sim.URL)
		if err != nil {
			return nil, err
		}
		mgr, err = startManager(cp.Config, scheme, log, opts)
		if err != nil {
			return nil, err
		}
		defer func() { _ = mgr.stop() }()
		say("operator started (controllers.Setup, in this process)")
	}
	if err := waitAccountsReady(ctx, c, mgr); err != nil {
		return nil, err
	}

	plan := planPosts(cfg.Posts, mediaURL, time.Now(), cfg.Window)
	if err := applyPosts(ctx, c, plan); err != nil {
		return nil, err
	}
	say("applied %d TikTokPosts; the operator paces them:", len(plan))
	say("")

	view := &progressView{out: out, tty: isTerminal(out), start: time.Now(), every: cfg.PlainEvery}
	if cfg.Terminal != nil {
		view.tty = *cfg.Terminal
	}
	final, err := watch(ctx, c, mgr, view, cfg.Refresh, len(plan))
	if err != nil {
		return nil, err
	}
	accepted, err := sim.posts(ctx)
	if err != nil {
		return nil, err
	}
	stats, err := sim.stats(ctx)
	if err != nil {
		return nil, err
	}
	sum := summarize(cfg, plan, final.Posts, accepted, stats)
	sum.Elapsed = time.Since(started)
	sum.secrets = secrets
	sum.print(out, cfg)
	if err := printPluginStatus(ctx, out, kubeconfig); err != nil {
		return nil, err
	}
	return sum, nil
}

// waitAccountsReady waits until every AccountQuota is Ready (credentials read, creator info fetched),
// so the posts meet accounts that can publish and the makespan starts with the first post.
func waitAccountsReady(ctx context.Context, c client.Client, mgr *runningManager) error {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		var aqs v1alpha1.AccountQuotaList
		if err := c.List(ctx, &aqs, client.InNamespace(namespace)); err != nil {
			return fmt.Errorf("listing AccountQuotas: %w", err)
		}
		ready := 0
		for i := range aqs.Items {
			if meta.IsStatusConditionTrue(aqs.Items[i].Status.Conditions, v1alpha1.ConditionReady) {
				ready++
			}
		}
		if ready == len(sampleAccounts) {
			return nil
		}
		if err := wait(ctx, tick.C, mgr); err != nil {
			return fmt.Errorf("waiting for the accounts to be Ready (%d of %d): %w", ready, len(sampleAccounts), err)
		}
	}
}

// watch redraws the view every refresh until every post has ended, and returns the last snapshot.
func watch(ctx context.Context, c client.Client, mgr *runningManager, view *progressView, refresh time.Duration,
	want int) (snapshot, error) {
	tick := time.NewTicker(refresh)
	defer tick.Stop()
	for {
		s, err := readSnapshot(ctx, c)
		if err != nil {
			return snapshot{}, err
		}
		done := s.allEnded(want)
		view.update(s, time.Now(), done)
		if done {
			return s, nil
		}
		if err := wait(ctx, tick.C, mgr); err != nil {
			return snapshot{}, err
		}
	}
}

// errManagerExited is returned when the in-process manager ended before the demo did.
var errManagerExited = errors.New("the operator's manager exited")

// wait waits for the next tick; it fails when ctx ends or the manager (nil: none) has exited.
func wait(ctx context.Context, tick <-chan time.Time, mgr *runningManager) error {
	var exited <-chan struct{}
	if mgr != nil {
		exited = mgr.exited
	}
	select {
	case <-ctx.Done():
		return fmt.Errorf("interrupted: %w", ctx.Err())
	case <-exited:
		return fmt.Errorf("%w: %v", errManagerExited, mgr.err)
	case <-tick:
		return nil
	}
}
