package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/testenv"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
	"github.com/tiktok-operator/tiktok-operator/test/fixture"
)

// kube is the one real API server (envtest: kube-apiserver + etcd) the two operators share; each
// operator run gets a fresh namespace and its own manager.
type kube struct {
	env    *envtest.Environment
	cfg    *rest.Config
	scheme *runtime.Scheme
	client client.Client // the benchmark's own client (creating the workload), never counted
	logger logr.Logger
	// root and assets are what startKube was given, for restart.
	root, assets string
}

// startKube starts kube-apiserver and etcd from assets (a directory holding both binaries) with the
// project's CRDs installed.
func startKube(root, assets string, logger logr.Logger) (*kube, error) {
	sch := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(sch); err != nil {
		return nil, fmt.Errorf("building the scheme: %w", err)
	}
	if err := v1alpha1.AddToScheme(sch); err != nil {
		return nil, fmt.Errorf("building the scheme: %w", err)
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     []string{filepath.Join(root, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		Scheme:                sch,
	}
	cfg, err := testenv.Start(env)
	if err != nil {
		return nil, err
	}
	// The benchmark's client creates hundreds of posts in a burst: do not let client-go's default
	// 5 qps throttle make the workload arrive late.
	cfg.QPS, cfg.Burst = 500, 1000
	cl, err := client.New(cfg, client.Options{Scheme: sch})
	if err != nil {
		_ = env.Stop()
		return nil, fmt.Errorf("creating the client: %w", err)
	}
	return &kube{env: env, cfg: cfg, scheme: sch, client: cl, logger: logger, root: root, assets: assets}, nil
}

func (k *kube) stop() error { return k.env.Stop() }

// restart stops the control plane and starts a fresh one in its place (empty etcd, new API server).
func (k *kube) restart() error {
	if err := k.stop(); err != nil {
		return fmt.Errorf("stopping the control plane: %w", err)
	}
	nk, err := startKube(k.root, k.assets, k.logger)
	if err != nil {
		return err
	}
	*k = *nk
	return nil
}

// namespace creates a fresh namespace for one contender's run.
func (k *kube) namespace(ctx context.Context, prefix string) (string, error) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}
	if err := k.client.Create(ctx, ns); err != nil {
		return "", fmt.Errorf("creating a namespace: %w", err)
	}
	return ns.Name, nil
}

// clean deletes what a run left in its namespace (posts, accounts, Secrets, Events), so that the
// contenders that share one control plane in the suite do not leave their objects to the next ones.
// It does not stop the API server's heap from growing from run to run (see repeatBurst, whose repeats
// start a fresh control plane for that reason). (envtest runs no namespace controller: deleting the
// namespace itself would delete nothing.)
func (k *kube) clean(ctx context.Context, ns string) error {
	for _, o := range []client.Object{&v1alpha1.TikTokPost{}, &v1alpha1.AccountQuota{}, &corev1.Secret{},
		&corev1.Event{}, &eventsv1.Event{}} {
		if err := k.client.DeleteAllOf(ctx, o, client.InNamespace(ns)); err != nil {
			return fmt.Errorf("cleaning %T out of %s: %w", o, ns, err)
		}
	}
	return nil
}

// createAccount creates the labelled credentials Secret and the AccountQuota of one simulator account,
// with every limit compressed, the post-init limit set to the scenario's configured one and the daily caps
// to the simulator's, and spec.adaptive.penalty to penalty when positive.
func (k *kube) createAccount(ctx context.Context, ns, simURL string, a tiktoksim.Account, s scale, sc scenario,
	penalty time.Duration) error {
	sec := fixture.CredentialsSecret(ns, a.Name, a)
	if err := k.client.Create(ctx, sec); err != nil {
		return fmt.Errorf("creating the Secret of %s: %w", a.Name, err)
	}
	d := func(x time.Duration) metav1.Duration { return metav1.Duration{Duration: x} }
	w := s.window()
	daily := s.dailyCap(sc)
	capLimit := v1alpha1.RateLimit{Requests: int32(daily.Requests), Window: d(daily.Window.D())}
	aq := &v1alpha1.AccountQuota{
		ObjectMeta: metav1.ObjectMeta{Name: a.Name, Namespace: ns},
		Spec: v1alpha1.AccountQuotaSpec{
			CredentialsSecretRef: v1alpha1.LocalObjectReference{Name: sec.Name},
			Endpoint:             simURL,
			Limits: v1alpha1.AccountLimits{
				PostInit:      v1alpha1.RateLimit{Requests: int32(sc.configuredLimit), Window: d(w)},
				StatusFetch:   v1alpha1.RateLimit{Requests: 30, Window: d(w)},
				CreatorInfo:   v1alpha1.RateLimit{Requests: 20, Window: d(w)},
				DailyPosts:    capLimit,
				PendingShares: capLimit,
				MinInterval:   d(s.minInterval()),
			},
			Backoff:              v1alpha1.BackoffPolicy{Initial: d(s.d(time.Second)), Max: d(s.d(10 * time.Minute)), Jitter: "Full"},
			AllowedMediaPrefixes: []string{mediaPrefix},
		},
	}
	if penalty > 0 {
		p := d(penalty)
		aq.Spec.Adaptive.Penalty = &p
	}
	if err := k.client.Create(ctx, aq); err != nil {
		return fmt.Errorf("creating the AccountQuota %s: %w", a.Name, err)
	}
	return nil
}

// mediaPrefix is where every post's (simulated) video lives.
const mediaPrefix = "https://cdn.example.com/"

// createPost creates one Direct Post video, public, pulled from a URL.
func (k *kube) createPost(ctx context.Context, ns string, p plannedPost) error {
	post := &v1alpha1.TikTokPost{
		ObjectMeta: metav1.ObjectMeta{Name: p.name, Namespace: ns},
		Spec: v1alpha1.TikTokPostSpec{
			AccountRef:   v1alpha1.LocalObjectReference{Name: p.account},
			Video:        &v1alpha1.VideoSource{URL: mediaPrefix + p.name + ".mp4"},
			Title:        p.name,
			PrivacyLevel: v1alpha1.PrivacyPublicToEveryone,
		},
	}
	if err := k.client.Create(ctx, post); err != nil {
		return fmt.Errorf("creating the post %s: %w", p.name, err)
	}
	return nil
}

// createPosts creates posts concurrently (a few at a time), as a kubectl apply of a directory would.
func (k *kube) createPosts(ctx context.Context, ns string, posts []plannedPost) error {
	var wg sync.WaitGroup
	errs := make(chan error, len(posts))
	sem := make(chan struct{}, 8)
	for _, p := range posts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := k.createPost(ctx, ns, p); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs // nil when the channel is empty
}

// posts lists the namespace's posts by name.
func (k *kube) posts(ctx context.Context, ns string) (map[string]v1alpha1.TikTokPost, error) {
	var l v1alpha1.TikTokPostList
	if err := k.client.List(ctx, &l, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("listing posts: %w", err)
	}
	out := make(map[string]v1alpha1.TikTokPost, len(l.Items))
	for _, p := range l.Items {
		out[p.Name] = p
	}
	return out, nil
}

// accountsReady reports whether every AccountQuota of the namespace is Ready.
func (k *kube) accountsReady(ctx context.Context, ns string, want int) (bool, error) {
	var l v1alpha1.AccountQuotaList
	if err := k.client.List(ctx, &l, client.InNamespace(ns)); err != nil {
		return false, fmt.Errorf("listing accounts: %w", err)
	}
	ready := 0
	for _, aq := range l.Items {
		if meta.IsStatusConditionTrue(aq.Status.Conditions, v1alpha1.ConditionReady) {
			ready++
		}
	}
	return ready == want, nil
}

// writeCounter counts every write a manager's client sends to the API server (creates, updates,
// patches, deletes, and the same on subresources such as status). Events go through the event
// recorder's own client and are not counted.
type writeCounter struct{ n atomic.Int64 }

func (w *writeCounter) count(err error) error {
	if err == nil {
		w.n.Add(1)
	}
	return err
}

func (w *writeCounter) funcs() interceptor.Funcs {
	return interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, o client.Object, opts ...client.CreateOption) error {
			return w.count(c.Create(ctx, o, opts...))
		},
		Update: func(ctx context.Context, c client.WithWatch, o client.Object, opts ...client.UpdateOption) error {
			return w.count(c.Update(ctx, o, opts...))
		},
		Patch: func(ctx context.Context, c client.WithWatch, o client.Object, p client.Patch, opts ...client.PatchOption) error {
			return w.count(c.Patch(ctx, o, p, opts...))
		},
		Delete: func(ctx context.Context, c client.WithWatch, o client.Object, opts ...client.DeleteOption) error {
			return w.count(c.Delete(ctx, o, opts...))
		},
		SubResourceCreate: func(ctx context.Context, c client.Client, sub string, o, s client.Object,
			opts ...client.SubResourceCreateOption) error {
			return w.count(c.SubResource(sub).Create(ctx, o, s, opts...))
		},
		SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, o client.Object, opts ...client.SubResourceUpdateOption) error {
			return w.count(c.SubResource(sub).Update(ctx, o, opts...))
		},
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, o client.Object, p client.Patch,
			opts ...client.SubResourcePatchOption) error {
			return w.count(c.SubResource(sub).Patch(ctx, o, p, opts...))
		},
	}
}

// newManager builds a manager watching ns only (Secrets: the labelled ones), whose client counts its
// writes in wc. Names of controllers may repeat across managers (SkipNameValidation): each run has its
// own manager in the same process.
func (k *kube) newManager(ns string, wc *writeCounter) (ctrl.Manager, error) {
	o := testenv.ManagerOptions(k.scheme, ns, k.logger.WithValues("namespace", ns))
	o.NewClient = func(c *rest.Config, o client.Options) (client.Client, error) {
		cl, err := client.NewWithWatch(c, o)
		if err != nil {
			return nil, err
		}
		return interceptor.NewClient(cl, wc.funcs()), nil
	}
	mgr, err := ctrl.NewManager(rest.CopyConfig(k.cfg), o)
	if err != nil {
		return nil, fmt.Errorf("creating the manager: %w", err)
	}
	return mgr, nil
}

// runManager starts mgr in the background; the returned stop cancels it and waits for it to end.
func runManager(mgr ctrl.Manager) (stop func() error) {
	stopMgr := testenv.RunManager(mgr)
	return func() error {
		if err := stopMgr(); err != nil {
			return fmt.Errorf("the manager stopped with an error: %w", err)
		}
		return nil
	}
}
