package e2e

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
)

// The checks every fault test ends with: the invariants "nothing lost", "never over quota" and "at most
// once", judged by the simulator (the referee) and the API server, never by the operator's own word.

// acceptedByTitle counts the simulator's accepted posts by title (each test post's title is its name).
func acceptedByTitle(e *env) map[string]int {
	seen := map[string]int{}
	for _, a := range e.sim.Posts() {
		seen[a.Title]++
	}
	return seen
}

// assertAtMostOnce fails for any post the simulator accepted more than once.
func assertAtMostOnce(t *testing.T, e *env) {
	t.Helper()
	for title, n := range acceptedByTitle(e) {
		if n > 1 {
			t.Errorf("%s was accepted %d times", title, n)
		}
	}
}

// assertAllPublishedOnce fails unless every post is Published and the simulator holds each exactly once.
func assertAllPublishedOnce(t *testing.T, e *env, posts []v1alpha1.TikTokPost) {
	t.Helper()
	seen := acceptedByTitle(e)
	for _, p := range posts {
		if p.Status.Phase != v1alpha1.PhasePublished {
			c := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionReady)
			t.Errorf("%s: phase %s after %d attempts (Ready %+v, last error %+v)", p.Name, p.Status.Phase, p.Status.Attempts, c, p.Status.LastError)
		}
		if seen[p.Name] != 1 {
			t.Errorf("%s: the simulator accepted it %d times, want exactly once", p.Name, seen[p.Name])
		}
	}
}

// assertNeverOverQuota fails when any of the accounts (operator-side names) saw more inits in one
// window than the limit, or any 429 on an init.
func assertNeverOverQuota(t *testing.T, e *env, accounts []string, limit int) {
	t.Helper()
	stats := e.sim.Stats()
	for _, a := range accounts {
		st := stats.Get(e.ns+"-"+a, tiktoksim.EndpointVideoInit)
		if st.MaxAcceptedInWindow > limit {
			t.Errorf("%s: %d inits accepted in one window, limit %d", a, st.MaxAcceptedInWindow, limit)
		}
		if n := sum(st.RateLimited); n != 0 {
			t.Errorf("%s: %d inits answered 429: %v", a, n, st.RateLimited)
		}
	}
}

// historyOutcomes counts attemptHistory outcomes across the posts.
func historyOutcomes(posts []v1alpha1.TikTokPost) map[string]int {
	m := map[string]int{}
	for _, p := range posts {
		for _, h := range p.Status.AttemptHistory {
			m[h.Outcome]++
		}
	}
	return m
}

// readyReason is the reason of a post's Ready condition ("" without one).
func readyReason(p *v1alpha1.TikTokPost) string {
	if c := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionReady); c != nil {
		return c.Reason
	}
	return ""
}
