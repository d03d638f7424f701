package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktok"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
	"github.com/tiktok-operator/tiktok-operator/test/fixture"
)

// tokenText matches every token the simulator issues (access "act.", refresh "rft.", client secret "cs.").
var tokenText = regexp.MustCompile(`\b(act|rft|cs)\.[A-Za-z0-9_-]{6,}`)

// tokenFront stands in front of the simulator for some accounts (their spec.endpoint): it passes every call
// on, and can hold a token refresh unanswered until the caller gives up, or strip expires_in from the
// refresh answer. It records when (on the world's clock) each refresh arrived.
type tokenFront struct {
	w   *world
	url string

	mu          sync.Mutex
	hang        bool
	stripExpiry bool
	refreshes   []time.Time
	// arrived receives a value for each refresh held unanswered.
	arrived chan struct{}
	release chan struct{}
	once    sync.Once
}

func newTokenFront(w *world) *tokenFront {
	f := &tokenFront{w: w, arrived: make(chan struct{}, 16), release: make(chan struct{})}
	srv := httptest.NewServer(f)
	f.url = srv.URL
	// The manager must admit the stand-in as an endpoint (a new process: no account exists yet).
	w.opts.AllowedEndpoints = append(w.opts.AllowedEndpoints, MustParseAllowedEndpoints(srv.URL)...)
	w.restart()
	w.t.Cleanup(func() {
		f.answer() // a held refresh ends (unanswered) before the server closes
		srv.Close()
	})
	return f
}

// answer ends the hang: held refreshes end unanswered, later ones pass through.
func (f *tokenFront) answer() {
	f.set(false, false)
	f.once.Do(func() { close(f.release) })
}

func (f *tokenFront) set(hang, stripExpiry bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hang, f.stripExpiry = hang, stripExpiry
}

func (f *tokenFront) refreshTimes() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.refreshes...)
}

func (f *tokenFront) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if r.URL.Path != tiktok.EndpointOAuthToken.Path() {
		f.w.sim.ServeHTTP(rw, r)
		return
	}
	f.mu.Lock()
	f.refreshes = append(f.refreshes, f.w.clk.Now())
	hang, strip := f.hang, f.stripExpiry
	f.mu.Unlock()
	if hang {
		f.arrived <- struct{}{}
		select {
		case <-r.Context().Done():
		case <-f.release:
		}
		return
	}
	if !strip {
		f.w.sim.ServeHTTP(rw, r)
		return
	}
	rec := httptest.NewRecorder()
	f.w.sim.ServeHTTP(rec, r)
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		f.w.t.Errorf("the simulator's token answer is not JSON: %v", err)
	}
	delete(body, "expires_in")
	out, _ := json.Marshal(body)
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(rec.Code)
	_, _ = rw.Write(out)
}

func (w *world) getSecret(name string) *corev1.Secret {
	w.t.Helper()
	sec := &corev1.Secret{}
	if err := w.raw.Get(context.Background(), client.ObjectKey{Namespace: testNS, Name: name}, sec); err != nil {
		w.t.Fatal(err)
	}
	return sec
}

func (w *world) setFailSecretUpdates(fail bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.failSecretUpdates = fail
}

// refuseToken makes the process believe TikTok refused the account's current access token (what a post
// does on access_token_invalid), so the account's next reconcile refreshes.
func (w *world) refuseToken(account string) {
	w.t.Helper()
	a := w.accounts.Tokens.get(accountKeyOf(testNS, account))
	if a == nil {
		w.t.Fatalf("account %s has no tokens loaded", account)
	}
	a.mu.Lock()
	tok := a.current.access
	a.mu.Unlock()
	w.accounts.Tokens.invalidate(accountKeyOf(testNS, account), tok)
}

// newestRefresh is the refresh token the simulator issued last for the account (the only one that works).
func (w *world) newestRefresh(account string) string {
	w.t.Helper()
	_, refresh, err := w.sim.Tokens(account)
	if err != nil {
		w.t.Fatal(err)
	}
	return refresh
}

// noTokenIn fails the test if any text holds a token.
func noTokenIn(t *testing.T, what string, texts []string) {
	t.Helper()
	for _, s := range texts {
		if tokenText.MatchString(s) {
			t.Errorf("a token reached %s: %.40s...", what, s)
		}
	}
}

// TestSecretWriteNeedsTheLabel: the label is the operator's permission to write a Secret, not only a
// cache filter. The label is removed from the account's Secret after the process read it (the cache may
// still show the labelled copy; the fake client here shows the Secret as it is, label or not), and TikTok
// refuses the access token: the refresh succeeds, the write is refused with SecretWriteFailed naming the
// missing label, the Secret is left alone, and the pair stays in memory until the label is back.
func TestSecretWriteNeedsTheLabel(t *testing.T) {
	w := newWorld(t, nil)
	w.account("brand", nil)
	name := fixture.SecretName("brand")
	sec := w.getSecret(name)
	delete(sec.Labels, v1alpha1.CredentialsLabel)
	if err := w.raw.Update(context.Background(), sec); err != nil {
		t.Fatal(err)
	}
	before := string(w.getSecret(name).Data[v1alpha1.SecretKeyRefreshToken])
	w.clk.Step(2 * time.Minute)
	w.refuseToken("brand")
	if _, err := w.reconcileAccount("brand"); err != nil {
		t.Logf("reconcile: %v", err)
	}

	if got := string(w.getSecret(name).Data[v1alpha1.SecretKeyRefreshToken]); got != before {
		t.Errorf("the refreshed tokens were written into Secret %s, which no longer carries the label %s", name, v1alpha1.CredentialsLabel)
	}
	c := meta.FindStatusCondition(w.getAccount("brand").Status.Conditions, v1alpha1.ConditionReconciling)
	if c == nil || c.Reason != v1alpha1.ReasonSecretWriteFailed || !strings.Contains(c.Message, v1alpha1.CredentialsLabel) {
		t.Errorf("Reconciling %+v, want reason %s with a message naming the label %s", c, v1alpha1.ReasonSecretWriteFailed, v1alpha1.CredentialsLabel)
	}
	evs := w.eventsWith(v1alpha1.ReasonSecretWriteFailed)
	if len(evs) == 0 {
		t.Errorf("no %s Event", v1alpha1.ReasonSecretWriteFailed)
	}
	noTokenIn(t, "an Event", evs)

	// The label comes back: the pair TikTok issued (the only refresh token that works now) is written.
	sec = w.getSecret(name)
	if sec.Labels == nil {
		sec.Labels = map[string]string{}
	}
	sec.Labels[v1alpha1.CredentialsLabel] = v1alpha1.CredentialsLabelValue
	if err := w.raw.Update(context.Background(), sec); err != nil {
		t.Fatal(err)
	}
	w.clk.Step(5 * time.Second)
	if _, err := w.reconcileAccount("brand"); err != nil {
		t.Logf("reconcile: %v", err)
	}
	if got := string(w.getSecret(name).Data[v1alpha1.SecretKeyRefreshToken]); got != w.newestRefresh("brand") {
		t.Errorf("once labelled again, the Secret does not hold the newest refresh token")
	}
	if n := w.sim.Stats().Get("brand", tiktoksim.EndpointOAuthToken).Accepted; n != 2 {
		t.Errorf("%d refreshes, want 2 (the first at start, one on the refusal): the unwritten pair was not kept", n)
	}
}

// TestRefreshedPairStaysWithItsSecret: a refreshed pair belongs to the Secret (name and UID) its refresh
// token came from. While such a pair is unwritten (the Secret refuses writes), the account is pointed at
// another Secret, or its Secret is deleted and created again: the pair never goes into the other Secret.
// It is written to its own Secret when that one still exists (same UID, labelled), dropped otherwise, and
// an Event without any token says which.
func TestRefreshedPairStaysWithItsSecret(t *testing.T) {
	// unwritten makes an account whose newest pair TikTok issued is only in memory.
	unwritten := func(t *testing.T) *world {
		w := newWorld(t, nil)
		w.account("brand", nil)
		w.setFailSecretUpdates(true)
		w.clk.Step(2 * time.Minute)
		w.refuseToken("brand")
		if _, err := w.reconcileAccount("brand"); err != nil {
			t.Logf("reconcile: %v", err)
		}
		if string(w.getSecret(fixture.SecretName("brand")).Data[v1alpha1.SecretKeyRefreshToken]) == w.newestRefresh("brand") {
			t.Fatal("the Secret took the write it should have refused")
		}
		w.setFailSecretUpdates(false)
		w.eventsWith() // drain
		return w
	}
	settle := func(w *world, account string) {
		for range 3 {
			if _, err := w.reconcileAccount(account); err != nil {
				w.t.Logf("reconcile: %v", err)
			}
			w.clk.Step(5 * time.Second)
		}
	}

	t.Run("credentialsSecretRef changes", func(t *testing.T) {
		w := unwritten(t)
		other := w.secret("other") // another creator's labelled Secret in the namespace
		aq := w.getAccount("brand")
		aq.Spec.CredentialsSecretRef.Name = other.Name
		aq.Generation++
		if err := w.raw.Update(context.Background(), aq); err != nil {
			t.Fatal(err)
		}
		settle(w, "brand")

		brandRefresh := w.newestRefresh("brand")
		if got := string(w.getSecret(other.Name).Data[v1alpha1.SecretKeyRefreshToken]); got == brandRefresh {
			t.Errorf("the pair refreshed from Secret %s was written into Secret %s", fixture.SecretName("brand"), other.Name)
		} else if got != w.newestRefresh("other") {
			t.Errorf("Secret %s does not hold its own newest refresh token", other.Name)
		}
		if got := string(w.getSecret(fixture.SecretName("brand")).Data[v1alpha1.SecretKeyRefreshToken]); got != brandRefresh {
			t.Errorf("the pair was not written back to Secret %s, which it was refreshed from and which still exists", fixture.SecretName("brand"))
		}
		evs := w.eventsWith(v1alpha1.ReasonOrphanedTokensWritten, fixture.SecretName("brand"))
		if len(evs) != 1 {
			t.Errorf("%d %s Events naming Secret %s, want 1", len(evs), v1alpha1.ReasonOrphanedTokensWritten, fixture.SecretName("brand"))
		}
		noTokenIn(t, "an Event", evs)
	})

	t.Run("Secret deleted and created again", func(t *testing.T) {
		w := unwritten(t)
		name := fixture.SecretName("brand")
		if err := w.raw.Delete(context.Background(), w.getSecret(name)); err != nil {
			t.Fatal(err)
		}
		// The creator authorized again: the new Secret (same name, new UID) holds a new grant.
		again := w.secret("brand-again")
		if err := w.raw.Delete(context.Background(), again); err != nil {
			t.Fatal(err)
		}
		again.ObjectMeta = againMeta(name)
		if err := w.raw.Create(context.Background(), again); err != nil {
			t.Fatal(err)
		}
		settle(w, "brand")

		got := string(w.getSecret(name).Data[v1alpha1.SecretKeyRefreshToken])
		if got == w.newestRefresh("brand") {
			t.Errorf("the pair refreshed from the deleted Secret was written into the new Secret of the same name")
		} else if got != w.newestRefresh("brand-again") {
			t.Errorf("the new Secret does not hold its own newest refresh token")
		}
		evs := w.eventsWith(v1alpha1.ReasonOrphanedTokensDropped, name)
		if len(evs) != 1 {
			t.Errorf("%d %s Events naming Secret %s, want 1", len(evs), v1alpha1.ReasonOrphanedTokensDropped, name)
		}
		noTokenIn(t, "an Event", evs)
	})
}

func againMeta(name string) (m metav1.ObjectMeta) {
	m.Name, m.Namespace, m.UID = name, testNS, types.UID("uid-secret-recreated")
	m.Labels = map[string]string{v1alpha1.CredentialsLabel: v1alpha1.CredentialsLabelValue}
	return m
}

// TestSlowTokenRefreshHoldsNoWorker: an account's token endpoint takes the refresh and never answers (the
// call ends at CallTimeout, 20 s here). Meanwhile four workers take that account's posts, as a work queue
// with 4 workers would, and another reconcile of the account comes: each must return at once (the posts
// wait for the account, a second refresh is not started), so no worker is held for the length of
// someone else's call; another account's post publishes meanwhile.
func TestSlowTokenRefreshHoldsNoWorker(t *testing.T) {
	w := newWorld(t, nil)
	w.opts.CallTimeout = 20 * time.Second
	w.restart()
	front := newTokenFront(w)
	w.account("slow", func(aq *v1alpha1.AccountQuota) { aq.Spec.Endpoint = front.url })
	w.account("fine", nil)
	for i := range 4 {
		w.post(fmt.Sprintf("slow-%d", i), "slow", nil)
	}
	w.post("fine-0", "fine", nil)

	front.set(true, false)
	before := len(front.refreshTimes()) // the refresh at start (the Secret records no expiry)
	w.clk.Step(2 * time.Minute)
	w.refuseToken("slow")
	refreshEnded := make(chan struct{})
	go func() {
		defer close(refreshEnded)
		_, _ = w.reconcileAccount("slow")
	}()
	select {
	case <-front.arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the refresh never reached the token endpoint")
	}

	// Four workers take the slow account's posts, a fifth its AccountQuota again.
	done := make(chan string, 5)
	for i := range 4 {
		name := fmt.Sprintf("slow-%d", i)
		go func() {
			_, _ = w.posts.Reconcile(context.Background(), reqFor(name))
			done <- name
		}()
	}
	go func() {
		_, _ = w.reconcileAccount("slow")
		done <- "AccountQuota slow"
	}()
	returned := 0
	timeout := time.After(2 * time.Second)
wait:
	for returned < 5 {
		select {
		case <-done:
			returned++
		case <-timeout:
			break wait
		}
	}
	if returned < 5 {
		t.Errorf("%d of 5 reconciles (4 posts of the account, the account again) still held after 2 s by a token refresh that does not answer", 5-returned)
	}
	if p := w.drive("fine-0", 40); p.Status.Phase != v1alpha1.PhasePublished {
		t.Errorf("the other account's post: %s", describe(p))
	}
	if n := len(front.refreshTimes()) - before; n != 1 {
		t.Errorf("%d refresh calls for the slow account, want 1 in flight", n)
	}
	// Let everything end before the world goes.
	front.answer()
	<-refreshEnded
	for returned < 5 {
		<-done
		returned++
	}
}

// TestRefreshWithoutExpiresIn: TikTok answers a refresh without expires_in. The operator assumes a
// conservative lifetime and never refreshes more often than Options.TokenRefreshMinInterval (1 min by
// default), over a fake hour of reconciles that come every 10 s at most (as watch events would); nor does
// an access token that TikTok refuses each time make it refresh faster.
func TestRefreshWithoutExpiresIn(t *testing.T) {
	for _, refuseEachTime := range []bool{false, true} {
		t.Run(fmt.Sprintf("refused each time %v", refuseEachTime), func(t *testing.T) {
			w := newWorld(t, nil)
			front := newTokenFront(w)
			front.set(false, true)
			w.account("brand", func(aq *v1alpha1.AccountQuota) { aq.Spec.Endpoint = front.url })
			start := w.clk.Now()
			reconciles := 0
			for ; reconciles < 3000 && w.clk.Since(start) < time.Hour; reconciles++ {
				if refuseEachTime {
					w.refuseToken("brand")
				}
				res, err := w.reconcileAccount("brand")
				w.eventsWith() // drained: the fake recorder holds 1,000
				step := 10 * time.Second
				if err != nil {
					step = 10 * time.Millisecond
				} else if res.RequeueAfter > 0 && res.RequeueAfter < step {
					step = res.RequeueAfter
				}
				w.clk.Step(step)
			}
			times := front.refreshTimes()
			minGap := time.Duration(-1) // -1: fewer than two refreshes
			for i := 1; i < len(times); i++ {
				if g := times[i].Sub(times[i-1]); minGap < 0 || g < minGap {
					minGap = g
				}
			}
			t.Logf("%d reconciles over %s of fake time: %d refreshes, closest two %s apart", reconciles,
				w.clk.Since(start).Round(time.Second), len(times), minGap)
			if minGap >= 0 && minGap < time.Minute {
				t.Errorf("two refreshes %s apart (%d refreshes in %s), want at least a minute between two",
					minGap, len(times), w.clk.Since(start).Round(time.Second))
			}
			if max := 1 + int(w.clk.Since(start)/time.Minute); len(times) > max {
				t.Errorf("%d refreshes in %s, want at most %d", len(times), w.clk.Since(start).Round(time.Second), max)
			}
			if !refuseEachTime {
				// Not refused: the assumed lifetime schedules the next refresh, well after the hour.
				if len(times) != 1 {
					t.Errorf("%d refreshes in an hour, want 1 (the lifetime assumed without expires_in is %s)", len(times), 2*time.Hour)
				}
				sec := w.getSecret(fixture.SecretName("brand"))
				if exp := string(sec.Data[v1alpha1.SecretKeyAccessTokenExpiresAt]); exp == "" {
					t.Errorf("the Secret records no (assumed) access token expiry")
				}
			}
		})
	}
}

func reqFor(name string) ctrl.Request {
	return ctrl.Request{NamespacedName: types.NamespacedName{Namespace: testNS, Name: name}}
}
