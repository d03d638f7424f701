package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
)

// TestTokenExpiresAndRefreshFailsForAWhile: access tokens live 2 s and refresh tokens rotate; mid-run the
// simulator expires the access token outright and then fails every refresh for 4 s (500s, then 200s with
// an OAuth error body). Every post still publishes exactly once, never over quota, and afterwards the
// Secret holds the newest pair TikTok issued, with no token anywhere it must not be.
func TestTokenExpiresAndRefreshFailsForAWhile(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *tiktoksim.Config) {
		c.AccessTokenTTL = tiktoksim.Duration(2 * time.Second)
		c.RotateRefreshTokens = true
	})
	aq := e.account("brand")
	for i := range 18 {
		e.post(fmt.Sprintf("post-%02d", i), "brand", nil)
	}
	e.startManager(fastOptions())
	e.waitPosts(time.Minute, func(ps []v1alpha1.TikTokPost) bool { return phases(ps)[v1alpha1.PhasePublished] >= 3 })

	if err := e.sim.ExpireAccessTokens(e.ns + "-brand"); err != nil {
		t.Fatal(err)
	}
	oauth := []string{tiktoksim.EndpointOAuthToken}
	e.sim.SetFaults(tiktoksim.Faults{ServerError: 1, Endpoints: oauth})
	time.Sleep(2 * time.Second)
	e.sim.SetFaults(tiktoksim.Faults{ErrorBody200: 1, Endpoints: oauth})
	time.Sleep(2 * time.Second)
	e.sim.SetFaults(tiktoksim.Faults{})

	posts := e.waitPosts(2*time.Minute, nil)
	assertAllPublishedOnce(t, e, posts)
	assertNeverOverQuota(t, e, []string{"brand"}, 6)
	st := e.sim.Stats().Get(e.ns+"-brand", tiktoksim.EndpointOAuthToken)
	t.Logf("refresh calls %d, accepted %d, errors %v", st.Calls, st.Accepted, st.Errors)
	// Failed refreshes whose fault came first carry no account; count them on "(unknown)" as well.
	unknown := e.sim.Stats().Get("(unknown)", tiktoksim.EndpointOAuthToken)
	if st.Errors["server_error"]+st.Errors["temporarily_unavailable"]+
		unknown.Errors["server_error"]+unknown.Errors["temporarily_unavailable"] == 0 {
		t.Errorf("no refresh met the injected failure: the test proves nothing about it")
	}
	if st.Accepted < 2 {
		t.Errorf("%d successful refreshes, want refreshes before and after the failures", st.Accepted)
	}
	access, refresh, err := e.sim.Tokens(e.ns + "-brand")
	if err != nil {
		t.Fatal(err)
	}
	sec := &corev1.Secret{}
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: e.ns, Name: aq.Spec.CredentialsSecretRef.Name}, sec); err != nil {
		t.Fatal(err)
	}
	if string(sec.Data[v1alpha1.SecretKeyRefreshToken]) != refresh || string(sec.Data[v1alpha1.SecretKeyAccessToken]) != access {
		t.Errorf("the Secret does not hold the newest token pair TikTok issued")
	}
	assertNoTokens(t, e)
}

// TestBanMidRun bans an account while its posts are publishing: the posts it already published stay
// Published, the rest fail with reason AccountBanned, at most one init reaches the banned account (the
// one that learns of the ban) and no call at all after that; the other account publishes as usual.
func TestBanMidRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.account("victim")
	e.account("fine")
	for i := range 15 {
		e.post(fmt.Sprintf("victim-%02d", i), "victim", nil)
		e.post(fmt.Sprintf("fine-%02d", i), "fine", nil)
	}
	e.startManager(fastOptions())
	e.waitPosts(time.Minute, func(ps []v1alpha1.TikTokPost) bool {
		n := 0
		for i := range ps {
			if ps[i].Spec.AccountRef.Name == "victim" && ps[i].Status.Phase == v1alpha1.PhasePublished {
				n++
			}
		}
		return n >= 3
	})
	if err := e.sim.Ban(e.ns+"-victim", true); err != nil {
		t.Fatal(err)
	}
	posts := e.waitPosts(2*time.Minute, nil)
	accepted := acceptedByTitle(e)
	banned := 0
	for _, p := range posts {
		switch {
		case p.Spec.AccountRef.Name == "fine" || accepted[p.Name] == 1:
			if p.Status.Phase != v1alpha1.PhasePublished {
				t.Errorf("%s: TikTok accepted it (or its account is fine) but it is %s (%s)", p.Name, p.Status.Phase, readyReason(&p))
			}
		default:
			banned++
			if p.Status.Phase != v1alpha1.PhaseFailed || readyReason(&p) != v1alpha1.ReasonAccountBanned {
				t.Errorf("%s: phase %s reason %q, want Failed/AccountBanned", p.Name, p.Status.Phase, readyReason(&p))
			}
		}
	}
	if banned == 0 {
		t.Errorf("every victim post was published before the ban: the test proves nothing")
	}
	assertAtMostOnce(t, e)
	assertNeverOverQuota(t, e, []string{"victim", "fine"}, 6)
	calls := func() int {
		n := 0
		for _, st := range e.sim.Stats().Accounts[e.ns+"-victim"] {
			n += st.Calls
		}
		return n
	}
	st := e.sim.Stats().Get(e.ns+"-victim", tiktoksim.EndpointVideoInit)
	// Only the init that learns of the ban reaches the banned account: from then on the account is known
	// banned in memory and its other posts fail without calling TikTok.
	if n := st.Errors["spam_risk_user_banned_from_posting"]; n > 1 {
		t.Errorf("%d inits refused as banned: after the first, no post may be sent", n)
	}
	before := calls()
	time.Sleep(2 * time.Second)
	if after := calls(); after != before {
		t.Errorf("%d more calls went to the banned account after every post ended", after-before)
	}
	t.Logf("victim: %d published before the ban, %d failed; init errors %v", 15-banned, banned, st.Errors)
}
