package controllers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	testclock "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/go-logr/logr"
	"golang.org/x/time/rate"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/pacing"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
	"github.com/tiktok-operator/tiktok-operator/test/fixture"
)

// The decision tests drive the real reconcilers one Reconcile at a time, on controller-runtime's fake
// client (a real API server adds nothing to these decisions: what matters is which write fails and how),
// with a fake clock shared by the operator and the TikTok simulator, which answers over real HTTP. What
// is fake, and why: the client (so a test can script the answer to each status write, and what a read
// returns), the clock (so pacing, backoff and timeouts are decided in virtual time). Everything else is
// the production code.

const testNS = "team"

// writeFault is what the API server does with one status write.
type writeFault int

const (
	passWrite     writeFault = iota
	conflict409              // refused before it lands (an edit of the post's labels came first)
	tooMany429               // refused before it lands (API priority and fairness)
	error500After            // lands, then the answer is a 500
	droppedAfter             // lands, then the connection drops without an answer
	foreignIntent            // another manager writes its own intent first; ours then conflicts
)

func (f writeFault) String() string {
	return [...]string{"pass", "409", "429", "500 after the write landed", "dropped after the write landed",
		"another manager's intent first"}[f]
}

// world is one decision test: a fake API server, a simulator, and the two reconcilers of one process.
type world struct {
	t      *testing.T
	clk    *testclock.FakeClock
	sim    *tiktoksim.Server
	simURL string
	raw    client.WithWatch // the fake API server itself: what is stored
	opts   Options

	mu sync.Mutex
	// script holds, per post name, the faults of its next status writes, in order.
	script map[string][]writeFault
	// stale holds, per post name, how many more reads of it return the copy from before its last write.
	stale  map[string]int
	before map[string]*v1alpha1.TikTokPost
	// failSecretUpdates makes every Secret update fail (before it lands) while set.
	failSecretUpdates bool
	applied           []string // the faults applied, for the log
	writes            []string // every status write of a post: its phase and the fault it met

	posts    *TikTokPostReconciler
	accounts *AccountQuotaReconciler
	recorder *events.FakeRecorder
	media    *httptest.Server
	// logger, when set, is the logger each Reconcile of drive, reconcileAccount and readyAccount finds in
	// its context, with the request's namespace and name as controller-runtime's reconcile handler adds
	// them (TestDecisionsAreLogged).
	logger *logr.Logger
}

// reconcileContext is the context a Reconcile of req gets: with the world's logger, when it has one.
func (w *world) reconcileContext(req ctrl.Request) context.Context {
	ctx := context.Background()
	if w.logger == nil {
		return ctx
	}
	return log.IntoContext(ctx, w.logger.WithValues("namespace", req.Namespace, "name", req.Name))
}

func newWorld(t *testing.T, simCfg func(*tiktoksim.Config)) *world {
	t.Helper()
	clk := testclock.NewFakeClock(time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC))
	cfg := tiktoksim.DefaultConfig()
	cfg.Processing.Delay = tiktoksim.Duration(3 * time.Second)
	// The app verified the CDN's prefix (PULL_FROM_URL); the media server serves FILE_UPLOAD, which
	// TikTok does not check.
	cfg.VerifiedURLPrefixes = []string{"https://cdn.example.com/"}
	if simCfg != nil {
		simCfg(&cfg)
	}
	sim := tiktoksim.New(cfg, tiktoksim.WithClock(clk))
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	media := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "video.mp4", time.Time{}, bytes.NewReader(make([]byte, 3<<20)))
	}))
	t.Cleanup(media.Close)

	sch := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(sch); err != nil {
		t.Fatal(err)
	}
	if err := v1alpha1.AddToScheme(sch); err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, clk: clk, sim: sim, simURL: srv.URL, media: media,
		script: map[string][]writeFault{}, stale: map[string]int{}, before: map[string]*v1alpha1.TikTokPost{}}
	w.raw = fake.NewClientBuilder().WithScheme(sch).
		WithStatusSubresource(&v1alpha1.TikTokPost{}, &v1alpha1.AccountQuota{}).
		WithIndex(&v1alpha1.TikTokPost{}, indexAccountRef, func(o client.Object) []string {
			return []string{o.(*v1alpha1.TikTokPost).Spec.AccountRef.Name}
		}).
		WithIndex(&v1alpha1.AccountQuota{}, indexSecretRef, func(o client.Object) []string {
			return []string{o.(*v1alpha1.AccountQuota).Spec.CredentialsSecretRef.Name}
		}).Build()
	w.opts = Options{StatusPollInitial: time.Second, StatusPollMax: 10 * time.Second, CallTimeout: 5 * time.Second,
		Clock: clk, MediaClient: media.Client(), Rand: func() float64 { return 0.5 },
		AllowedEndpoints: MustParseAllowedEndpoints(srv.URL)}
	w.restart()
	return w
}

// restart gives the world a new process: new reconcilers with empty memories, a new pacing engine that
// rebuilds from what is stored, the same API server and simulator.
func (w *world) restart() {
	opts := w.opts.withDefaults()
	c := interceptor.NewClient(w.raw, w.interceptors())
	engine := pacing.NewEngine(opts.Clock, opts.Rand)
	engine.SetMaxInFlight(opts.CallTimeout + 5*time.Second)
	w.recorder = events.NewFakeRecorder(1000)
	d := deps{Client: c, APIReader: w.raw, Recorder: w.recorder, Clock: opts.Clock, Engine: engine,
		Accounts: newAccountRegistry(engine, c, opts.Clock.Now), Tokens: newTokenStore(),
		TikTok: newClientPool(opts), Options: opts}
	d.Holders = newAccountHolder(c, w.raw, opts, w.recorder)
	d.Holders.reset = d.Accounts.reset
	w.accounts = &AccountQuotaReconciler{deps: d, kicks: make(chan eventFor, 1024), writeBudget: rate.NewLimiter(rate.Inf, 1)}
	w.posts = newTestPostReconciler(d, w.accounts.kicks)
}

// interceptors script the answers to the posts' status writes and the staleness of their reads.
func (w *world) interceptors() interceptor.Funcs {
	return interceptor.Funcs{
		Update: func(ctx context.Context, c client.WithWatch, o client.Object, opts ...client.UpdateOption) error {
			if _, ok := o.(*corev1.Secret); ok {
				w.mu.Lock()
				fail := w.failSecretUpdates
				w.mu.Unlock()
				if fail {
					return apierrors.NewInternalError(errors.New("Secret update refused (injected)"))
				}
			}
			return c.Update(ctx, o, opts...)
		},
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, o client.Object, opts ...client.GetOption) error {
			if p, ok := o.(*v1alpha1.TikTokPost); ok {
				w.mu.Lock()
				old := w.before[key.Name]
				if w.stale[key.Name] > 0 && old != nil {
					w.stale[key.Name]--
					old.DeepCopyInto(p)
					w.mu.Unlock()
					return nil
				}
				w.mu.Unlock()
			}
			return c.Get(ctx, key, o, opts...)
		},
		SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, o client.Object, opts ...client.SubResourceUpdateOption) error {
			p, ok := o.(*v1alpha1.TikTokPost)
			if !ok || sub != "status" {
				return c.SubResource(sub).Update(ctx, o, opts...)
			}
			f := w.nextFault(p.Name)
			w.mu.Lock()
			w.writes = append(w.writes, fmt.Sprintf("%s %s(%d): %s", p.Name, p.Status.Phase, p.Status.Attempts, f))
			w.mu.Unlock()
			gr := schema.GroupResource{Group: v1alpha1.GroupVersion.Group, Resource: "tiktokposts"}
			switch f {
			case conflict409:
				return apierrors.NewConflict(gr, p.Name, errors.New("the object has been modified (injected)"))
			case tooMany429:
				return apierrors.NewTooManyRequests("injected", 1)
			case foreignIntent:
				w.writeForeignIntent(ctx, p.Name)
				return c.SubResource(sub).Update(ctx, o, opts...)
			case error500After, droppedAfter:
				w.remember(ctx, p.Name)
				if err := c.SubResource(sub).Update(ctx, o.DeepCopyObject().(client.Object), opts...); err != nil {
					return err
				}
				if f == error500After {
					return apierrors.NewInternalError(errors.New("injected after the write landed"))
				}
				return fmt.Errorf("put status: %w", errors.New("connection reset by peer (injected after the write landed)"))
			}
			w.remember(ctx, p.Name)
			return c.SubResource(sub).Update(ctx, o, opts...)
		},
	}
}

// remember keeps the stored copy from before a write, for the stale reads a test asks for.
func (w *world) remember(ctx context.Context, name string) {
	cur := &v1alpha1.TikTokPost{}
	if err := w.raw.Get(ctx, client.ObjectKey{Namespace: testNS, Name: name}, cur); err == nil {
		w.mu.Lock()
		w.before[name] = cur
		w.mu.Unlock()
	}
}

// writeForeignIntent stores another manager's intent for the post's next attempt, as a second manager
// (overlapping shards) would: its own name, an unanswered attempt.
func (w *world) writeForeignIntent(ctx context.Context, name string) {
	cur := &v1alpha1.TikTokPost{}
	if err := w.raw.Get(ctx, client.ObjectKey{Namespace: testNS, Name: name}, cur); err != nil {
		w.t.Errorf("reading %s for the foreign intent: %v", name, err)
		return
	}
	cur.Status.Phase = v1alpha1.PhasePublishing
	cur.Status.Attempts++
	cur.Status.AttemptHistory = append(cur.Status.AttemptHistory, v1alpha1.AttemptRecord{Attempt: cur.Status.Attempts,
		StartTime: metav1.NewMicroTime(w.clk.Now()), IntentID: "0123456789ab-1"})
	if err := w.raw.Status().Update(ctx, cur); err != nil {
		w.t.Errorf("writing the foreign intent: %v", err)
	}
}

func (w *world) nextFault(name string) writeFault {
	w.mu.Lock()
	defer w.mu.Unlock()
	q := w.script[name]
	if len(q) == 0 {
		return passWrite
	}
	w.script[name] = q[1:]
	if q[0] != passWrite {
		w.applied = append(w.applied, fmt.Sprintf("%s: %s", name, q[0]))
	}
	return q[0]
}

// faults scripts the answers to the post's next status writes.
func (w *world) faults(name string, fs ...writeFault) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.script[name] = append(w.script[name], fs...)
}

// staleReads makes the next n reads of the post return the copy from before its last write.
func (w *world) staleReads(name string, n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stale[name] = n
}

// account creates a creator on the simulator, its Secret and its AccountQuota, and reconciles the
// account until it is Ready.
func (w *world) account(name string, mutate func(*v1alpha1.AccountQuota)) *v1alpha1.AccountQuota {
	w.t.Helper()
	aq := w.addAccount(name, mutate)
	if !aq.Spec.Suspend {
		w.readyAccount(name)
	}
	return aq
}

// addAccount creates a creator on the simulator, its Secret and its AccountQuota, and reconciles nothing.
func (w *world) addAccount(name string, mutate func(*v1alpha1.AccountQuota)) *v1alpha1.AccountQuota {
	w.t.Helper()
	sec := w.secret(name)
	d := func(x time.Duration) metav1.Duration { return metav1.Duration{Duration: x} }
	aq := &v1alpha1.AccountQuota{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS, UID: types.UID("uid-" + name), Generation: 1},
		Spec: v1alpha1.AccountQuotaSpec{
			CredentialsSecretRef: v1alpha1.LocalObjectReference{Name: sec.Name},
			Endpoint:             w.simURL,
			Limits: v1alpha1.AccountLimits{
				PostInit:      v1alpha1.RateLimit{Requests: 6, Window: d(time.Minute)},
				StatusFetch:   v1alpha1.RateLimit{Requests: 30, Window: d(time.Minute)},
				CreatorInfo:   v1alpha1.RateLimit{Requests: 20, Window: d(time.Minute)},
				DailyPosts:    v1alpha1.RateLimit{Requests: 15, Window: d(24 * time.Hour)},
				PendingShares: v1alpha1.RateLimit{Requests: 5, Window: d(24 * time.Hour)},
				MinInterval:   d(time.Second),
			},
			Backoff:              v1alpha1.BackoffPolicy{Initial: d(time.Second), Max: d(time.Minute), Jitter: "Full"},
			AllowedMediaPrefixes: []string{w.media.URL + "/", "https://cdn.example.com/"},
		},
	}
	if mutate != nil {
		mutate(aq)
	}
	w.create(aq)
	return aq
}

// secret creates a creator on the simulator and its labelled credentials Secret (named
// fixture.SecretName(name), with a UID: the fake API server sets none).
func (w *world) secret(name string) *corev1.Secret {
	w.t.Helper()
	a, err := w.sim.AddAccount(tiktoksim.Account{Name: name, Creator: tiktoksim.CreatorInfo{Username: name}})
	if err != nil {
		w.t.Fatal(err)
	}
	sec := fixture.CredentialsSecret(testNS, name, a)
	sec.Data = map[string][]byte{}
	for k, v := range sec.StringData {
		sec.Data[k] = []byte(v)
	}
	sec.StringData = nil
	sec.UID = types.UID("uid-secret-" + name)
	w.create(sec)
	return sec
}

// reconcileAccount runs the account's reconcile once.
func (w *world) reconcileAccount(name string) (ctrl.Result, error) {
	req := ctrl.Request{NamespacedName: types.NamespacedName{Namespace: testNS, Name: name}}
	return w.accounts.Reconcile(w.reconcileContext(req), req)
}

// readyAccount reconciles the account until it is Ready (credentials loaded, creator_info fetched).
// getAccount reads the AccountQuota past the manager's cache.
func (w *world) getAccount(name string) *v1alpha1.AccountQuota {
	w.t.Helper()
	aq := &v1alpha1.AccountQuota{}
	if err := w.raw.Get(context.Background(), client.ObjectKey{Namespace: testNS, Name: name}, aq); err != nil {
		w.t.Fatal(err)
	}
	return aq
}

func (w *world) readyAccount(name string) {
	w.t.Helper()
	for range 10 {
		req := ctrl.Request{NamespacedName: types.NamespacedName{Namespace: testNS, Name: name}}
		if _, err := w.accounts.Reconcile(w.reconcileContext(req), req); err != nil {
			w.t.Logf("account %s: %v", name, err)
		}
		for _, c := range w.getAccount(name).Status.Conditions {
			if c.Type == v1alpha1.ConditionReady && c.Status == metav1.ConditionTrue {
				return
			}
		}
		w.clk.Step(time.Second)
	}
	w.t.Fatalf("account %s never became Ready", name)
}

// post creates a video post (by URL, DirectPost, public) with the given changes.
func (w *world) post(name, account string, mutate func(*v1alpha1.TikTokPostSpec)) {
	w.t.Helper()
	p := &v1alpha1.TikTokPost{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS, UID: types.UID("uid-" + name), Generation: 1,
			CreationTimestamp: metav1.NewTime(w.clk.Now())},
		Spec: v1alpha1.TikTokPostSpec{
			AccountRef:   v1alpha1.LocalObjectReference{Name: account},
			Video:        &v1alpha1.VideoSource{URL: "https://cdn.example.com/" + name + ".mp4"},
			Title:        name,
			PrivacyLevel: v1alpha1.PrivacyPublicToEveryone,
			MaxAttempts:  10,
		},
	}
	if mutate != nil {
		mutate(&p.Spec)
	}
	w.create(p)
}

// fileUpload makes a post a FileUpload of the world's media server.
func (w *world) fileUpload(s *v1alpha1.TikTokPostSpec) {
	s.Video = &v1alpha1.VideoSource{URL: w.media.URL + "/video.mp4", Transfer: v1alpha1.TransferFileUpload}
}

func (w *world) create(o client.Object) {
	w.t.Helper()
	if err := w.raw.Create(context.Background(), o); err != nil {
		w.t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
	}
}

func (w *world) get(name string) *v1alpha1.TikTokPost {
	w.t.Helper()
	p := &v1alpha1.TikTokPost{}
	if err := w.raw.Get(context.Background(), client.ObjectKey{Namespace: testNS, Name: name}, p); err != nil {
		w.t.Fatal(err)
	}
	return p
}

// drive reconciles one post as its work queue would (a result's RequeueAfter advances the fake clock, an
// error is retried 10 ms later), until it ends or steps run out, and returns the stored post. An upload
// in flight is waited for in real time: it runs outside the reconcile, as in production.
func (w *world) drive(name string, steps int) *v1alpha1.TikTokPost {
	w.t.Helper()
	req := ctrl.Request{NamespacedName: types.NamespacedName{Namespace: testNS, Name: name}}
	for range steps {
		res, err := w.posts.Reconcile(w.reconcileContext(req), req)
		p := w.get(name)
		if ended(p.Status.Phase) && err == nil {
			return p
		}
		w.waitUpload(req.NamespacedName)
		switch {
		case err != nil:
			w.clk.Step(10 * time.Millisecond)
		case res.RequeueAfter > 0:
			w.clk.Step(res.RequeueAfter)
		default:
			w.clk.Step(time.Millisecond)
		}
	}
	return w.get(name)
}

// waitUpload waits (real time, bounded) for an upload the process runs for the post to end.
func (w *world) waitUpload(key types.NamespacedName) {
	w.posts.mu.Lock()
	m := w.posts.posts[key]
	w.posts.mu.Unlock()
	if m == nil || m.upload == nil {
		return
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if _, _, done, _ := m.upload.progress(); done {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	w.t.Fatalf("the upload of %s did not end within 20 s", key.Name)
}

func ended(p v1alpha1.Phase) bool {
	return p == v1alpha1.PhasePublished || p == v1alpha1.PhaseDelivered || p == v1alpha1.PhaseFailed
}

// inits counts the init calls the simulator answered for the account (any answer).
func (w *world) inits(account string) int {
	st := w.sim.Stats()
	n := 0
	for _, ep := range []string{tiktoksim.EndpointVideoInit, tiktoksim.EndpointInboxInit, tiktoksim.EndpointContentInit} {
		n += st.Get(account, ep).Calls
	}
	return n
}

// held counts the posts the simulator holds with this title.
func (w *world) held(title string) int {
	n := 0
	for _, p := range w.sim.Posts() {
		if p.Title == title {
			n++
		}
	}
	return n
}

// reasonOf is the reason of the post's Ready condition.
func reasonOf(p *v1alpha1.TikTokPost) string {
	for _, c := range p.Status.Conditions {
		if c.Type == v1alpha1.ConditionReady {
			return c.Reason
		}
	}
	return ""
}

func describe(p *v1alpha1.TikTokPost) string {
	var b strings.Builder
	fmt.Fprintf(&b, "phase %s, reason %s, attempts %d", p.Status.Phase, reasonOf(p), p.Status.Attempts)
	if e := p.Status.LastError; e != nil {
		fmt.Fprintf(&b, ", last error %s: %s", e.Code, e.Message)
	}
	for _, c := range p.Status.Conditions {
		if c.Type == v1alpha1.ConditionReady {
			fmt.Fprintf(&b, " (%s)", c.Message)
		}
	}
	return b.String()
}

// eventsWith drains the recorded Events and returns those that contain every one of words.
func (w *world) eventsWith(words ...string) []string {
	var out []string
	for {
		select {
		case e := <-w.recorder.Events:
			ok := true
			for _, x := range words {
				ok = ok && strings.Contains(e, x)
			}
			if ok {
				out = append(out, e)
			}
		default:
			return out
		}
	}
}
