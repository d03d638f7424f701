package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/controllers"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktok"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
)

// tokenPattern matches every token the simulator issues (access "act.", refresh "rft.", client secret "cs.").
var tokenPattern = regexp.MustCompile(`\b(act|rft|cs)\.[A-Za-z0-9_-]{6,}`)

// TestTokenRefreshWithRotation gives access tokens a 2 s life with rotating refresh tokens: the operator
// refreshes before expiry, persists each new pair to the Secret, and every post publishes. No token
// reaches the logs, the Events or the statuses.
func TestTokenRefreshWithRotation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *tiktoksim.Config) {
		c.AccessTokenTTL = tiktoksim.Duration(2 * time.Second)
		c.RotateRefreshTokens = true
	})
	aq := e.account("brand")
	for i := range 12 {
		e.post(fmt.Sprintf("post-%02d", i), "brand", nil)
	}
	e.startManager(fastOptions())
	posts := e.waitPosts(2*time.Minute, nil)
	for _, p := range posts {
		if p.Status.Phase != v1alpha1.PhasePublished {
			t.Errorf("%s: phase %s (last error %+v)", p.Name, p.Status.Phase, p.Status.LastError)
		}
	}
	refreshes := e.sim.Stats().Get(e.ns+"-brand", tiktoksim.EndpointOAuthToken)
	if refreshes.Accepted < 2 {
		t.Errorf("%d refreshes in a run much longer than the token's 2 s life", refreshes.Accepted)
	}
	// The Secret holds the refresh token TikTok issued last (the previous ones no longer work).
	access, refresh, err := e.sim.Tokens(e.ns + "-brand")
	if err != nil {
		t.Fatal(err)
	}
	sec := &corev1.Secret{}
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: e.ns, Name: aq.Spec.CredentialsSecretRef.Name}, sec); err != nil {
		t.Fatal(err)
	}
	if string(sec.Data[v1alpha1.SecretKeyRefreshToken]) != refresh {
		t.Errorf("the Secret's refresh token is not the newest one TikTok issued")
	}
	if string(sec.Data[v1alpha1.SecretKeyAccessToken]) != access {
		t.Errorf("the Secret's access token is not the newest one")
	}
	if len(sec.Data[v1alpha1.SecretKeyAccessTokenExpiresAt]) == 0 {
		t.Errorf("the Secret has no access token expiry")
	}
	assertNoTokens(t, e)
}

// assertNoTokens checks the manager's logs, the namespace's Events and every status for token text.
func assertNoTokens(t *testing.T, e *env) {
	t.Helper()
	if m := tokenPattern.FindString(e.logs.String()); m != "" {
		t.Errorf("a token reached the logs: %.12s...", m)
	}
	if len(e.logs.String()) == 0 {
		t.Errorf("no log line at all: the check above proves nothing")
	}
	var evs eventsv1.EventList
	if err := k8sClient.List(context.Background(), &evs, client.InNamespace(e.ns)); err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs.Items {
		if tokenPattern.MatchString(ev.Note) || tokenPattern.MatchString(ev.Reason) {
			t.Errorf("a token reached an Event: %s", ev.Reason)
		}
	}
	var aqs v1alpha1.AccountQuotaList
	if err := k8sClient.List(context.Background(), &aqs, client.InNamespace(e.ns)); err != nil {
		t.Fatal(err)
	}
	for _, obj := range append(asObjects(aqs.Items), asObjects(e.posts())...) {
		u, _ := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
		if tokenPattern.MatchString(fmt.Sprint(u["status"])) {
			t.Errorf("a token reached the status of %T", obj)
		}
	}
}

func asObjects[T any](items []T) []any {
	out := make([]any, 0, len(items))
	for i := range items {
		out = append(out, &items[i])
	}
	return out
}

// TestBannedAccountFailsItsPostsOnly bans one account: its posts fail with AccountBanned and make no
// init call; the other account of the namespace publishes as usual.
func TestBannedAccountFailsItsPostsOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.account("banned")
	e.account("fine")
	if err := e.sim.Ban(e.ns+"-banned", true); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		e.post(fmt.Sprintf("banned-%d", i), "banned", nil)
		e.post(fmt.Sprintf("fine-%d", i), "fine", nil)
	}
	e.startManager(fastOptions())
	posts := e.waitPosts(time.Minute, nil)
	for _, p := range posts {
		want, reason := v1alpha1.PhasePublished, v1alpha1.ReasonPublished
		if p.Spec.AccountRef.Name == "banned" {
			want, reason = v1alpha1.PhaseFailed, v1alpha1.ReasonAccountBanned
		}
		c := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionReady)
		if p.Status.Phase != want || c == nil || c.Reason != reason {
			t.Errorf("%s: phase %s, Ready %+v; want %s with reason %s", p.Name, p.Status.Phase, c, want, reason)
		}
	}
	if n := e.sim.Stats().Get(e.ns+"-banned", tiktoksim.EndpointVideoInit).Calls; n != 0 {
		t.Errorf("%d init calls went to the banned account", n)
	}
}

// TestDailyCapMakesPostsWait gives the account a cap of 3 direct posts per 8 s: 7 posts all publish,
// the later ones after the cap's window rolls, and TikTok never answers spam_risk_too_many_posts.
func TestDailyCapMakesPostsWait(t *testing.T) {
	t.Parallel()
	capWindow := 8 * time.Second
	e := newEnv(t, func(c *tiktoksim.Config) {
		c.DailyPosts = tiktoksim.Limit{Requests: 3, Window: tiktoksim.Duration(capWindow)}
	})
	e.account("brand", func(aq *v1alpha1.AccountQuota) {
		aq.Spec.Limits.DailyPosts = v1alpha1.RateLimit{Requests: 3, Window: metav1.Duration{Duration: capWindow}}
	})
	for i := range 7 {
		e.post(fmt.Sprintf("post-%d", i), "brand", nil)
	}
	e.startManager(fastOptions())
	posts := e.waitPosts(2*time.Minute, nil)
	for _, p := range posts {
		if p.Status.Phase != v1alpha1.PhasePublished || p.Status.Attempts != 1 {
			t.Errorf("%s: phase %s after %d attempts", p.Name, p.Status.Phase, p.Status.Attempts)
		}
	}
	st := e.sim.Stats().Get(e.ns+"-brand", tiktoksim.EndpointVideoInit)
	if st.Errors["spam_risk_too_many_posts"] != 0 {
		t.Errorf("TikTok answered spam_risk_too_many_posts %d times", st.Errors["spam_risk_too_many_posts"])
	}
	accepted := e.sim.Posts()
	if len(accepted) != 7 {
		t.Fatalf("%d accepted", len(accepted))
	}
	if span := accepted[6].Time.Sub(accepted[0].Time); span < 2*capWindow {
		t.Errorf("7 posts under a cap of 3 per %s went out within %s", capWindow, span)
	}
}

// TestKstatusAndPreflight reads posts the way Flux does (kstatus): InProgress while waiting, Current
// once published, Failed when stalled; and checks the pre-flight refusals, which spend no quota.
func TestKstatusAndPreflight(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.creatorPrivacy = map[string][]string{"brand": {"PUBLIC_TO_EVERYONE", "SELF_ONLY"}}
	e.account("brand", func(aq *v1alpha1.AccountQuota) {
		aq.Spec.Limits.PostInit = v1alpha1.RateLimit{Requests: 1, Window: metav1.Duration{Duration: 20 * time.Second}}
	})
	e.post("first", "brand", nil)
	e.post("second", "brand", nil) // waits 20 s for the next slot
	e.post("not-allowed-privacy", "brand", func(s *v1alpha1.TikTokPostSpec) { s.PrivacyLevel = "FOLLOWER_OF_CREATOR" })
	e.post("outside-prefixes", "brand", func(s *v1alpha1.TikTokPostSpec) { s.Video.URL = "https://elsewhere.example.org/v.mp4" })
	e.startManager(fastOptions())

	e.waitPosts(time.Minute, func(ps []v1alpha1.TikTokPost) bool {
		return phaseOf(ps, "first") == v1alpha1.PhasePublished && phaseOf(ps, "second") == v1alpha1.PhaseQueued &&
			phaseOf(ps, "not-allowed-privacy") == v1alpha1.PhaseFailed && phaseOf(ps, "outside-prefixes") == v1alpha1.PhaseFailed
	})
	want := map[string]status.Status{"first": status.CurrentStatus, "second": status.InProgressStatus,
		"not-allowed-privacy": status.FailedStatus, "outside-prefixes": status.FailedStatus}
	for name, w := range want {
		p := e.getPost(name)
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(p)
		if err != nil {
			t.Fatal(err)
		}
		res, err := status.Compute(&unstructured.Unstructured{Object: u})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != w {
			t.Errorf("%s: kstatus %s (%s), want %s", name, res.Status, res.Message, w)
		}
	}
	reasons := map[string]string{"not-allowed-privacy": v1alpha1.ReasonPrivacyLevelNotAllowed, "outside-prefixes": v1alpha1.ReasonMediaURLNotAllowed}
	for name, reason := range reasons {
		c := meta.FindStatusCondition(e.getPost(name).Status.Conditions, v1alpha1.ConditionStalled)
		if c == nil || c.Reason != reason {
			t.Errorf("%s: Stalled %+v, want reason %s", name, c, reason)
		}
	}
	second := e.getPost("second").Status
	// The projection is written when the post enters the queue (and rewritten only when it moves by
	// more than a window), so the position may count the post that was still ahead of it then.
	if second.NextAttemptTime == nil || second.QueuePosition < 1 || second.QueuePosition > 2 {
		t.Errorf("a queued post shows nextAttemptTime %v and queuePosition %d", second.NextAttemptTime, second.QueuePosition)
	}
	if n := e.sim.Stats().Get(e.ns+"-brand", tiktoksim.EndpointVideoInit).Calls; n != 1 {
		t.Errorf("%d init calls; the refused posts must spend none", n)
	}
}

func phaseOf(ps []v1alpha1.TikTokPost, name string) v1alpha1.Phase {
	for i := range ps {
		if ps[i].Name == name {
			return ps[i].Status.Phase
		}
	}
	return ""
}

// TestMissingOrUnlabelledSecret: an account whose Secret is missing, and one whose Secret lacks the
// credentials label, are Stalled with a reason naming the Secret; their posts say why they wait; a third
// account publishes as usual.
func TestMissingOrUnlabelledSecret(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.account("fine")
	missing := e.account("missing")
	if err := k8sClient.Delete(context.Background(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{
		Namespace: e.ns, Name: missing.Spec.CredentialsSecretRef.Name}}); err != nil {
		t.Fatal(err)
	}
	unlabelled := e.account("unlabelled")
	sec := &corev1.Secret{}
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: e.ns, Name: unlabelled.Spec.CredentialsSecretRef.Name}, sec); err != nil {
		t.Fatal(err)
	}
	sec.Labels = nil
	if err := k8sClient.Update(context.Background(), sec); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"fine", "missing", "unlabelled"} {
		e.post(a+"-post", a, nil)
	}
	e.startManager(fastOptions())
	e.waitPosts(time.Minute, func(ps []v1alpha1.TikTokPost) bool {
		return phaseOf(ps, "fine-post") == v1alpha1.PhasePublished &&
			stalledReason(e, "missing-post") == v1alpha1.ReasonAccountNotReady &&
			stalledReason(e, "unlabelled-post") == v1alpha1.ReasonAccountNotReady
	})
	for _, a := range []string{"missing", "unlabelled"} {
		aq := &v1alpha1.AccountQuota{}
		if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: e.ns, Name: a}, aq); err != nil {
			t.Fatal(err)
		}
		c := meta.FindStatusCondition(aq.Status.Conditions, v1alpha1.ConditionStalled)
		if c == nil || c.Reason != v1alpha1.ReasonCredentialsMissing || !regexp.MustCompile(a+"-tiktok").MatchString(c.Message) {
			t.Errorf("%s: Stalled %+v, want CredentialsMissing naming the Secret", a, c)
		}
	}
}

func stalledReason(e *env, name string) string {
	c := meta.FindStatusCondition(e.getPost(name).Status.Conditions, v1alpha1.ConditionStalled)
	if c == nil {
		return ""
	}
	return c.Reason
}

// TestRefreshedTokensSurviveAFailingSecretWrite: the access token expires every 2 s and refresh tokens
// rotate, while the manager's Secret updates fail for a while. The new tokens are kept in memory (TikTok
// already stopped honouring the old refresh token), a Warning Event and the Reconciling condition say so,
// and once the Secret accepts writes again it holds the newest refresh token; every post publishes.
func TestRefreshedTokensSurviveAFailingSecretWrite(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *tiktoksim.Config) {
		c.AccessTokenTTL = tiktoksim.Duration(2 * time.Second)
		c.RotateRefreshTokens = true
	})
	aq := e.account("brand")
	e.writes.failSecretUpdates.Store(true)
	e.startManager(fastOptions())

	// The first refresh happens at once (the Secret records no expiry): its write fails.
	waitFor(t, 30*time.Second, "a SecretWriteFailed condition", func() bool {
		got := &v1alpha1.AccountQuota{}
		if err := k8sClient.Get(context.Background(), client.ObjectKeyFromObject(aq), got); err != nil {
			return false
		}
		c := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionReconciling)
		return c != nil && c.Reason == v1alpha1.ReasonSecretWriteFailed
	})
	waitFor(t, 30*time.Second, "a SecretWriteFailed Warning Event", func() bool {
		var evs eventsv1.EventList
		if err := k8sClient.List(context.Background(), &evs, client.InNamespace(e.ns)); err != nil {
			return false
		}
		for _, ev := range evs.Items {
			if ev.Reason == v1alpha1.ReasonSecretWriteFailed && ev.Type == corev1.EventTypeWarning {
				return true
			}
		}
		return false
	})
	e.writes.failSecretUpdates.Store(false)
	for i := range 6 {
		e.post(fmt.Sprintf("post-%d", i), "brand", nil)
	}
	for _, p := range e.waitPosts(time.Minute, nil) {
		if p.Status.Phase != v1alpha1.PhasePublished {
			t.Errorf("%s: %s (%+v)", p.Name, p.Status.Phase, p.Status.LastError)
		}
	}
	_, refresh, err := e.sim.Tokens(e.ns + "-brand")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the Secret to hold the newest refresh token", func() bool {
		sec := &corev1.Secret{}
		if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: e.ns, Name: aq.Spec.CredentialsSecretRef.Name}, sec); err != nil {
			return false
		}
		_, refresh, _ = e.sim.Tokens(e.ns + "-brand")
		return string(sec.Data[v1alpha1.SecretKeyRefreshToken]) == refresh
	})
	assertNoTokens(t, e)
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestIdleAccountWritesNoStatus: once an account has published its one post and its queue is empty,
// nothing changes in meaning, so its status is not written again (invariant "bounded writes"). (Found by
// the fault suite: nanosecond checkpoint times never compared equal to the stored microseconds.)
func TestIdleAccountWritesNoStatus(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.account("brand", func(aq *v1alpha1.AccountQuota) {
		aq.Spec.Limits.PostInit = v1alpha1.RateLimit{Requests: 1, Window: metav1.Duration{Duration: time.Hour}}
	})
	e.post("only", "brand", nil)
	e.startManager(fastOptions()) // AccountStatusInterval 500 ms
	e.waitPosts(time.Minute, nil)
	// The last calls leave their 3 s windows (a change in meaning: usage drops) and the last
	// coalesced write lands.
	time.Sleep(e.window + 1500*time.Millisecond)
	before := e.writes.statusWrites("AccountQuota", "brand")
	time.Sleep(3 * time.Second)
	if n := e.writes.statusWrites("AccountQuota", "brand") - before; n != 0 {
		t.Errorf("%d status writes of an idle AccountQuota in 3 s", n)
	}
}

// stallingTokenEndpoint stands in front of the simulator for one account (its spec.endpoint): every call
// passes through, except that while hang is set a token refresh is taken and never answered (the caller
// gives up at its CallTimeout).
type stallingTokenEndpoint struct {
	sim     *tiktoksim.Server
	url     string
	hang    atomic.Bool
	arrived chan struct{}
	release chan struct{}
	once    sync.Once
}

func newStallingTokenEndpoint(t *testing.T, sim *tiktoksim.Server) *stallingTokenEndpoint {
	s := &stallingTokenEndpoint{sim: sim, arrived: make(chan struct{}, 64), release: make(chan struct{})}
	srv := httptest.NewServer(s)
	s.url = srv.URL
	t.Cleanup(srv.Close)
	t.Cleanup(s.answer) // runs first: a held refresh ends before the server closes
	return s
}

func (s *stallingTokenEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == tiktok.EndpointOAuthToken.Path() && s.hang.Load() {
		s.arrived <- struct{}{}
		select {
		case <-r.Context().Done():
		case <-s.release:
		}
		return
	}
	s.sim.ServeHTTP(w, r)
}

// answer ends the hang: held refreshes end unanswered, later ones pass through.
func (s *stallingTokenEndpoint) answer() {
	s.hang.Store(false)
	s.once.Do(func() { close(s.release) })
}

// TestSlowTokenEndpointStallsNoOtherAccount: one tenant's token endpoint takes the refresh and never
// answers (the call ends at the production CallTimeout, 30 s). That account's posts wait for it, holding
// none of the manager's 4 workers; the other accounts' posts, created meanwhile, publish within the usual
// few seconds. Once the endpoint answers again, the stalled account's posts publish too.
func TestSlowTokenEndpointStallsNoOtherAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	front := newStallingTokenEndpoint(t, e.sim)
	e.account("slow", func(aq *v1alpha1.AccountQuota) { aq.Spec.Endpoint = front.url })
	fine := []string{"fine-a", "fine-b", "fine-c"}
	for _, a := range fine {
		e.account(a)
	}
	opts := fastOptions()
	opts.CallTimeout = 30 * time.Second
	opts.AllowedEndpoints = controllers.MustParseAllowedEndpoints(e.simURL + "," + front.url) // the stand-in that stalls
	e.startManager(opts)
	waitFor(t, time.Minute, "every account Ready", func() bool {
		var l v1alpha1.AccountQuotaList
		if err := k8sClient.List(context.Background(), &l, client.InNamespace(e.ns)); err != nil {
			return false
		}
		for i := range l.Items {
			if !meta.IsStatusConditionTrue(l.Items[i].Status.Conditions, v1alpha1.ConditionReady) {
				return false
			}
		}
		return len(l.Items) == 1+len(fine)
	})

	// TikTok refuses the slow account's access token; its refresh stalls.
	front.hang.Store(true)
	if err := e.sim.ExpireAccessTokens(e.ns + "-slow"); err != nil {
		t.Fatal(err)
	}
	for i := range 8 {
		e.post(fmt.Sprintf("slow-%d", i), "slow", nil)
	}
	select {
	case <-front.arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("the slow account never asked for a refresh")
	}
	time.Sleep(time.Second) // its posts come for the token meanwhile

	created := time.Now()
	var names []string
	for _, a := range fine {
		for i := range 3 {
			names = append(names, fmt.Sprintf("%s-%d", a, i))
			e.post(names[len(names)-1], a, nil)
		}
	}
	e.waitPosts(time.Minute, func(ps []v1alpha1.TikTokPost) bool {
		for _, n := range names {
			if phaseOf(ps, n) != v1alpha1.PhasePublished {
				return false
			}
		}
		return true
	})
	took := time.Since(created)
	t.Logf("the other accounts' %d posts published %s after they were created, while the slow account's refresh hung",
		len(names), took.Round(100*time.Millisecond))
	if took > 15*time.Second {
		t.Errorf("the other accounts' posts took %s to publish while one account's token endpoint hung (its call times out after %s)",
			took.Round(100*time.Millisecond), opts.CallTimeout)
	}

	front.answer()
	for _, p := range e.waitPosts(2*time.Minute, nil) {
		if p.Status.Phase != v1alpha1.PhasePublished {
			t.Errorf("%s: %s (%+v)", p.Name, p.Status.Phase, p.Status.LastError)
		}
	}
	assertNoTokens(t, e)
}
