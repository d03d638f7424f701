package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/controllers"
	"github.com/tiktok-operator/tiktok-operator/internal/testenv"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
	"github.com/tiktok-operator/tiktok-operator/test/apiproxy"
	"github.com/tiktok-operator/tiktok-operator/test/fixture"
)

// Compressed time: the tests keep TikTok's shapes (n calls per window) with windows of seconds.
const (
	testWindow      = 3 * time.Second
	testMinInterval = 100 * time.Millisecond
)

// env is one test's world: its own namespace, its own simulator, and the managers it starts.
type env struct {
	t      *testing.T
	ns     string
	sim    *tiktoksim.Server
	simURL string
	logs   *fixture.SyncBuffer
	writes *writeCounter
	// window is the length of every rate window (postInit, statusFetch, creatorInfo).
	window time.Duration
	// creatorPrivacy, when set for an account name before account() creates it, is the creator's
	// privacy_level_options on the simulator (default: all four).
	creatorPrivacy map[string][]string
}

// newEnv makes a namespace and a simulator with compressed windows; simCfg adjusts the simulator.
func newEnv(t *testing.T, simCfg func(*tiktoksim.Config)) *env {
	t.Helper()
	return newEnvWindow(t, testWindow, simCfg)
}

// newEnvWindow is newEnv with another length of the rate windows (simulator and accounts alike).
func newEnvWindow(t *testing.T, window time.Duration, simCfg func(*tiktoksim.Config)) *env {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-"}}
	if err := k8sClient.Create(context.Background(), ns); err != nil {
		t.Fatalf("creating the namespace: %v", err)
	}
	c := tiktoksim.DefaultConfig()
	w := tiktoksim.Duration(window)
	for k, l := range c.Limits {
		l.Window = w
		c.Limits[k] = l
	}
	c.DailyPosts = tiktoksim.Limit{Requests: 1000, Window: tiktoksim.Duration(24 * time.Hour)}
	c.PendingShares = tiktoksim.Limit{Requests: 1000, Window: tiktoksim.Duration(24 * time.Hour)}
	c.Processing.Delay = tiktoksim.Duration(300 * time.Millisecond)
	c.VerifiedURLPrefixes = []string{"https://cdn.example.com/"}
	if simCfg != nil {
		simCfg(&c)
	}
	sim := tiktoksim.New(c)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &env{t: t, ns: ns.Name, sim: sim, simURL: srv.URL, logs: &fixture.SyncBuffer{}, writes: newWriteCounter(), window: window}
}

// accountOpts adjust an AccountQuota before it is created.
type accountOpt func(*v1alpha1.AccountQuota)

// account creates a creator on the simulator, its labelled credentials Secret, and its AccountQuota
// with compressed windows that match the simulator's.
func (e *env) account(name string, opts ...accountOpt) *v1alpha1.AccountQuota {
	e.t.Helper()
	simName := e.ns + "-" + name
	a, err := e.sim.AddAccount(tiktoksim.Account{Name: simName, Creator: tiktoksim.CreatorInfo{
		Username: name, PrivacyLevelOptions: e.creatorPrivacy[name]}})
	if err != nil {
		e.t.Fatal(err)
	}
	sec := fixture.CredentialsSecret(e.ns, name, a)
	e.create(sec)
	d := func(x time.Duration) metav1.Duration { return metav1.Duration{Duration: x} }
	aq := &v1alpha1.AccountQuota{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns},
		Spec: v1alpha1.AccountQuotaSpec{
			CredentialsSecretRef: v1alpha1.LocalObjectReference{Name: sec.Name},
			Endpoint:             e.simURL,
			Limits: v1alpha1.AccountLimits{
				PostInit:      v1alpha1.RateLimit{Requests: 6, Window: d(e.window)},
				StatusFetch:   v1alpha1.RateLimit{Requests: 30, Window: d(e.window)},
				CreatorInfo:   v1alpha1.RateLimit{Requests: 20, Window: d(e.window)},
				DailyPosts:    v1alpha1.RateLimit{Requests: 1000, Window: d(24 * time.Hour)},
				PendingShares: v1alpha1.RateLimit{Requests: 1000, Window: d(24 * time.Hour)},
				MinInterval:   d(testMinInterval),
			},
			Backoff:              v1alpha1.BackoffPolicy{Initial: d(200 * time.Millisecond), Max: d(5 * time.Second), Jitter: "Full"},
			AllowedMediaPrefixes: []string{"https://cdn.example.com/"},
		},
	}
	for _, o := range opts {
		o(aq)
	}
	e.create(aq)
	return aq
}

// fleet creates accounts acct-0 .. acct-(accounts-1), each with perAccount posts acct-N-00 .. (their
// titles are their names), and returns the accounts' names.
func (e *env) fleet(accounts, perAccount int) []string {
	e.t.Helper()
	names := make([]string, 0, accounts)
	for a := range accounts {
		name := fmt.Sprintf("acct-%d", a)
		names = append(names, name)
		e.account(name)
		for i := range perAccount {
			e.post(fmt.Sprintf("%s-%02d", name, i), name, nil)
		}
	}
	return names
}

// post creates a video post (by URL, DirectPost, public) with the given changes.
func (e *env) post(name, account string, mutate func(*v1alpha1.TikTokPostSpec)) *v1alpha1.TikTokPost {
	e.t.Helper()
	p := &v1alpha1.TikTokPost{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns},
		Spec: v1alpha1.TikTokPostSpec{
			AccountRef:   v1alpha1.LocalObjectReference{Name: account},
			Video:        &v1alpha1.VideoSource{URL: "https://cdn.example.com/" + name + ".mp4"},
			Title:        name,
			PrivacyLevel: v1alpha1.PrivacyPublicToEveryone,
		},
	}
	if mutate != nil {
		mutate(&p.Spec)
	}
	e.create(p)
	return p
}

func (e *env) create(o client.Object) {
	e.t.Helper()
	if err := k8sClient.Create(context.Background(), o); err != nil {
		e.t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
	}
}

// startManager runs the production manager (controllers.Setup) in this process, watching the test's
// namespace only, with a client that counts status writes and a logger that keeps every line.
// It returns a stop function (also run at cleanup) that waits for the manager to end.
func (e *env) startManager(opts controllers.Options) (stop func()) {
	e.t.Helper()
	return e.startManagerWith(cfg, opts)
}

// managerUserAgent is the User-Agent of a manager started through a proxy (startManagerVia), for the
// proxy's rules to strike its requests and nobody else's.
const managerUserAgent = "tiktok-operator-e2e-manager"

// startManagerVia is startManager with the manager talking to the API server through a fault-injecting
// proxy (the test's own client, k8sClient, still goes direct).
func (e *env) startManagerVia(px *apiproxy.Proxy, opts controllers.Options) (stop func()) {
	e.t.Helper()
	c := px.Config()
	c.UserAgent = managerUserAgent
	return e.startManagerWith(c, opts)
}

// apiProxy starts a fault-injecting proxy in front of the test control plane; it stops at cleanup (after
// a manager started later has stopped).
func (e *env) apiProxy(opts apiproxy.Options) *apiproxy.Proxy {
	e.t.Helper()
	px, err := apiproxy.New(cfg, opts)
	if err != nil {
		e.t.Fatalf("starting the API server proxy: %v", err)
	}
	e.t.Cleanup(px.Close)
	return px
}

// startManagerWith is startManager with the given rest config. Unless opts lists its own, the manager
// admits the test's simulator as its only API endpoint (--allowed-endpoints). mgrOpts, if any, change the
// manager's options last (leader election, say).
func (e *env) startManagerWith(restCfg *rest.Config, opts controllers.Options, mgrOpts ...func(*ctrl.Options)) (stop func()) {
	e.t.Helper()
	if len(opts.AllowedEndpoints) == 0 {
		opts.AllowedEndpoints = controllers.MustParseAllowedEndpoints(e.simURL)
	}
	o := testenv.ManagerOptions(scheme.Scheme, e.ns, zap.New(zap.WriteTo(e.logs), zap.UseDevMode(true)))
	o.NewClient = func(c *rest.Config, o client.Options) (client.Client, error) {
		cl, err := client.NewWithWatch(c, o)
		if err != nil {
			return nil, err
		}
		return interceptor.NewClient(cl, e.writes.funcs()), nil
	}
	for _, f := range mgrOpts {
		f(&o)
	}
	mgr, err := ctrl.NewManager(restCfg, o)
	if err != nil {
		e.t.Fatalf("creating the manager: %v", err)
	}
	if err := controllers.Setup(mgr, opts); err != nil {
		e.t.Fatalf("setting up the controllers: %v", err)
	}
	stopMgr := testenv.RunManager(mgr)
	var once sync.Once
	stop = func() {
		once.Do(func() {
			if err := stopMgr(); err != nil {
				e.t.Errorf("the manager stopped with an error: %v", err)
			}
		})
	}
	e.t.Cleanup(stop)
	return stop
}

// fastOptions are controller options for compressed windows.
func fastOptions() controllers.Options {
	return controllers.Options{
		AccountStatusInterval:   500 * time.Millisecond,
		AccountStatusQPS:        100, // the 5 s interval's budget, compressed with it
		StatusPollInitial:       time.Second,
		StatusPollMax:           time.Second,
		CallTimeout:             5 * time.Second,
		MaxConcurrentReconciles: 4,
		// Access tokens live 2 s in some tests: refreshed at 1.6 s, not a minute apart.
		TokenRefreshMinInterval: 300 * time.Millisecond,
		AccountLeaseDuration:    3 * time.Second,
	}
}

// posts lists the namespace's posts.
func (e *env) posts() []v1alpha1.TikTokPost {
	e.t.Helper()
	var l v1alpha1.TikTokPostList
	if err := k8sClient.List(context.Background(), &l, client.InNamespace(e.ns)); err != nil {
		e.t.Fatal(err)
	}
	return l.Items
}

// getPost reads one post.
func (e *env) getPost(name string) *v1alpha1.TikTokPost {
	e.t.Helper()
	p := &v1alpha1.TikTokPost{}
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: e.ns, Name: name}, p); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// waitPosts polls until every post is in an end phase (or ok says so), failing after timeout with a
// summary of where the posts are.
func (e *env) waitPosts(timeout time.Duration, ok func([]v1alpha1.TikTokPost) bool) []v1alpha1.TikTokPost {
	e.t.Helper()
	if ok == nil {
		ok = allEnded
	}
	deadline := time.Now().Add(timeout)
	for {
		ps := e.posts()
		if ok(ps) {
			return ps
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out after %s; posts by phase: %v", timeout, phases(ps))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func allEnded(ps []v1alpha1.TikTokPost) bool {
	for i := range ps {
		switch ps[i].Status.Phase {
		case v1alpha1.PhasePublished, v1alpha1.PhaseDelivered, v1alpha1.PhaseFailed:
		default:
			return false
		}
	}
	return len(ps) > 0
}

func phases(ps []v1alpha1.TikTokPost) map[v1alpha1.Phase]int {
	m := map[v1alpha1.Phase]int{}
	for i := range ps {
		m[ps[i].Status.Phase]++
	}
	return m
}

// writeCounter counts the manager's status writes per object, and can make its Secret updates fail.
type writeCounter struct {
	mu     sync.Mutex
	status map[string]int
	// failSecretUpdates makes every Secret update of the manager fail (a webhook or RBAC gone wrong).
	failSecretUpdates atomic.Bool
	// withManagedFields counts status writes whose body carried managedFields (the cache drops them).
	withManagedFields atomic.Int64
	// cutOff holds manager identities whose account Lease writes fail (a manager cut off from the API
	// server for its Leases: it can neither renew nor release them).
	cutOff sync.Map
}

// leaseWriteFails says whether a write of o is an account Lease write of a manager that is cut off.
func (w *writeCounter) leaseWriteFails(o client.Object) bool {
	l, ok := o.(*coordinationv1.Lease)
	if !ok || l.Spec.HolderIdentity == nil {
		return false
	}
	_, cut := w.cutOff.Load(*l.Spec.HolderIdentity)
	return cut
}

func newWriteCounter() *writeCounter { return &writeCounter{status: map[string]int{}} }

func (w *writeCounter) funcs() interceptor.Funcs {
	count := func(kind string, o client.Object) {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.status[fmt.Sprintf("%s/%s", kind, o.GetName())]++
	}
	return interceptor.Funcs{
		Update: func(ctx context.Context, c client.WithWatch, o client.Object, opts ...client.UpdateOption) error {
			if _, ok := o.(*corev1.Secret); ok && w.failSecretUpdates.Load() {
				return fmt.Errorf("injected by the test: Secret updates are failing")
			}
			if w.leaseWriteFails(o) {
				return fmt.Errorf("injected by the test: this manager is cut off")
			}
			return c.Update(ctx, o, opts...)
		},
		Create: func(ctx context.Context, c client.WithWatch, o client.Object, opts ...client.CreateOption) error {
			if w.leaseWriteFails(o) {
				return fmt.Errorf("injected by the test: this manager is cut off")
			}
			return c.Create(ctx, o, opts...)
		},
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, o client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
			data, _ := p.Data(o)
			if bytes.Contains(data, []byte(`"managedFields"`)) {
				w.withManagedFields.Add(1)
			}
			err := c.SubResource(sub).Patch(ctx, o, p, opts...)
			if os.Getenv("E2E_DEBUG_WRITES") != "" && sub == "status" {
				fmt.Fprintf(os.Stderr, "WRITE %s %s err=%v %s\n", kindOf(o), o.GetName(), err, data)
			}
			if err == nil && sub == "status" {
				count(kindOf(o), o)
			}
			return err
		},
		SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, o client.Object, opts ...client.SubResourceUpdateOption) error {
			if len(o.GetManagedFields()) > 0 {
				w.withManagedFields.Add(1)
			}
			err := c.SubResource(sub).Update(ctx, o, opts...)
			if os.Getenv("E2E_DEBUG_WRITES") != "" && sub == "status" {
				st, _ := json.Marshal(statusOf(o))
				fmt.Fprintf(os.Stderr, "WRITE %s %s err=%v %s\n", kindOf(o), o.GetName(), err, st)
			}
			if err == nil && sub == "status" {
				count(kindOf(o), o)
			}
			return err
		},
	}
}

func (w *writeCounter) statusWrites(kind, name string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.status[kind+"/"+name]
}

// statusOf is the status of one of the project's objects (for the debug print of E2E_DEBUG_WRITES).
func statusOf(o client.Object) any {
	switch x := o.(type) {
	case *v1alpha1.TikTokPost:
		return x.Status
	case *v1alpha1.AccountQuota:
		return x.Status
	}
	return nil
}

func kindOf(o client.Object) string {
	switch o.(type) {
	case *v1alpha1.TikTokPost:
		return "TikTokPost"
	case *v1alpha1.AccountQuota:
		return "AccountQuota"
	}
	return strings.TrimPrefix(fmt.Sprintf("%T", o), "*")
}
