package e2e

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
)

// TestRestartsLoseNothingAndNeverDoubleOrOverPost stops and starts the manager at random points, 24
// times, while 120 posts across 3 accounts publish. After each start the pacing state is rebuilt from the
// posts' statuses and the accounts' checkpoints: the simulator must never answer 429 to an init, must
// accept each post at most once, and every post must end Published (a graceful stop lets an init call in
// flight finish, so no outcome is uncertain here; the fault suite kills the process instead).
func TestRestartsLoseNothingAndNeverDoubleOrOverPost(t *testing.T) {
	t.Parallel()
	const accounts, perAccount, restarts = 3, 40, 24
	e := newEnv(t, nil)
	for a := range accounts {
		name := fmt.Sprintf("acct-%d", a)
		e.account(name)
		for i := range perAccount {
			e.post(fmt.Sprintf("%s-%02d", name, i), name, nil)
		}
	}
	rng := rand.New(rand.NewPCG(7, 11))
	for i := range restarts {
		t0 := time.Now()
		stop := e.startManager(fastOptions())
		time.Sleep(time.Duration(300+rng.IntN(1500)) * time.Millisecond)
		t1 := time.Now()
		stop()
		t.Logf("restart %d: ran %s, stop took %s; %v", i, t1.Sub(t0), time.Since(t1), phases(e.posts()))
		if allEnded(e.posts()) {
			t.Logf("every post ended after %d restarts", i+1)
			break
		}
	}
	t0 := time.Now()
	e.startManager(fastOptions())
	posts := e.waitPosts(4*time.Minute, nil)
	t.Logf("the last run took %s", time.Since(t0))

	for _, p := range posts {
		if p.Status.Phase != v1alpha1.PhasePublished {
			c := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionReady)
			t.Errorf("%s: phase %s (%+v)", p.Name, p.Status.Phase, c)
		}
	}
	seen := map[string]int{}
	for _, a := range e.sim.Posts() {
		seen[a.Title]++
	}
	for title, n := range seen {
		if n > 1 {
			t.Errorf("%s was accepted %d times", title, n)
		}
	}
	if len(seen) != accounts*perAccount {
		t.Errorf("the simulator accepted %d distinct posts, want %d", len(seen), accounts*perAccount)
	}
	stats := e.sim.Stats()
	for a := range accounts {
		st := stats.Get(fmt.Sprintf("%s-acct-%d", e.ns, a), tiktoksim.EndpointVideoInit)
		if n := sum(st.RateLimited); n != 0 {
			t.Errorf("acct-%d: %d inits answered 429 across restarts: %v", a, n, st.RateLimited)
		}
		if st.MaxAcceptedInWindow > 6 {
			t.Errorf("acct-%d: %d inits accepted in one window", a, st.MaxAcceptedInWindow)
		}
	}
}
