package e2e

import (
	"fmt"
	"sort"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
)

// TestPacingFillsEveryWindowAndNeverCrossesIt applies 5 accounts x 30 posts at once with 6 inits per 5 s
// windows: the simulator (the referee) must answer no 429, the fullest window must hold exactly the
// limit, and each account's makespan must be within 5% of the least TikTok allows. (The ratio is what a
// slow machine can disturb: the first window's spacing depends on how fast the first reconciles come,
// and the sliding windows repeat it. 5 s windows keep a loaded machine's few hundred milliseconds
// inside the 5%.)
//
// It does not run in parallel with the other tests of the package: it measures time.
func TestPacingFillsEveryWindowAndNeverCrossesIt(t *testing.T) {
	const accounts, perAccount, limit = 5, 30, 6
	const window = 5 * time.Second
	e := newEnvWindow(t, window, nil)
	for a := range accounts {
		name := fmt.Sprintf("acct-%d", a)
		e.account(name)
		for i := range perAccount {
			e.post(fmt.Sprintf("%s-post-%02d", name, i), name, nil)
		}
	}
	e.startManager(fastOptions())
	posts := e.waitPosts(3*time.Minute, nil)
	most := 0
	for _, p := range posts {
		if p.Status.Phase != v1alpha1.PhasePublished || p.Status.Attempts != 1 {
			t.Errorf("%s: phase %s after %d attempts (last error %+v)", p.Name, p.Status.Phase, p.Status.Attempts, p.Status.LastError)
		}
		// Invariant "bounded writes": waiting in the queue (up to 4 windows here, with many requeues) costs
		// no write per requeue. A post makes five: account not ready yet (the manager starts with the posts
		// there), Queued with its projection, the intent, the answer, Published. Its projection is
		// not rewritten: the account's posts enter the queue together once it is ready.
		w := e.writes.statusWrites("TikTokPost", p.Name)
		most = max(most, w)
		if w > 5 {
			t.Errorf("%s: %d status writes after waiting in the queue, want at most 5", p.Name, w)
		}
	}
	t.Logf("the most status writes of one post: %d", most)

	stats := e.sim.Stats()
	sends := map[string][]time.Time{}
	for _, a := range e.sim.Posts() {
		sends[a.Account] = append(sends[a.Account], a.Time)
	}
	// The least time TikTok allows for n inits: the first of the last window comes ceil(n/limit)-1
	// windows after the first call, and the rest of that window follow minInterval apart.
	minimum := time.Duration((perAccount+limit-1)/limit-1)*window + time.Duration((perAccount-1)%limit)*testMinInterval
	for a := range accounts {
		simName := fmt.Sprintf("%s-acct-%d", e.ns, a)
		st := stats.Get(simName, tiktoksim.EndpointVideoInit)
		if n := sum(st.RateLimited); n != 0 {
			t.Errorf("%s: the simulator answered %d 429s to inits: %v", simName, n, st.RateLimited)
		}
		if st.MaxAcceptedInWindow != limit {
			t.Errorf("%s: the fullest window held %d inits, want exactly %d", simName, st.MaxAcceptedInWindow, limit)
		}
		ts := sends[simName]
		if len(ts) != perAccount {
			t.Errorf("%s: %d posts accepted, want %d", simName, len(ts), perAccount)
			continue
		}
		sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
		makespan := ts[len(ts)-1].Sub(ts[0])
		ratio := float64(makespan) / float64(minimum)
		t.Logf("%s: makespan %s, minimum %s, ratio %.3f", simName, makespan, minimum, ratio)
		if ratio > 1.03 {
			for i := range ts {
				t.Logf("  send %2d at +%s", i, ts[i].Sub(ts[0]))
			}
		}
		if ratio > 1.05 || ratio < 0.999 {
			t.Errorf("%s: makespan %s is %.3f x the minimum %s (want within 5%%)", simName, makespan, ratio, minimum)
		}
	}
}

// TestThrottledPostsAllPublish sets the operator's limit above the simulator's (6 vs 4 per window):
// 429s happen, each is recorded in the post's status with a jittered delay, and every post publishes.
func TestThrottledPostsAllPublish(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *tiktoksim.Config) {
		l := c.Limits[tiktoksim.EndpointVideoInit]
		l.Requests = 4
		c.Limits[tiktoksim.EndpointVideoInit] = l
	})
	e.account("brand")
	const n = 24
	for i := range n {
		e.post(fmt.Sprintf("post-%02d", i), "brand", nil)
	}
	e.startManager(fastOptions())
	posts := e.waitPosts(3*time.Minute, nil)

	throttled := 0
	for _, p := range posts {
		st := p.Status
		if st.Phase != v1alpha1.PhasePublished {
			t.Errorf("%s: phase %s (last error %+v)", p.Name, st.Phase, st.LastError)
		}
		for _, h := range st.AttemptHistory {
			if h.Outcome != v1alpha1.AttemptOutcomeRateLimited {
				continue
			}
			throttled++
			if h.Code != "rate_limit_exceeded" || h.Delay == nil || h.EndTime == nil {
				t.Errorf("%s: a 429 attempt is recorded as %+v", p.Name, h)
				continue
			}
			// Full jitter: uniform(0, min(max, initial * 2^(attempt-1))) with the account's 200ms/5s.
			ceiling := min(5*time.Second, 200*time.Millisecond<<(h.Attempt-1))
			if h.Delay.Duration > ceiling {
				t.Errorf("%s: attempt %d waited %s, above the backoff's ceiling %s", p.Name, h.Attempt, h.Delay.Duration, ceiling)
			}
		}
		if st.Attempts > 1 && (st.BackoffDelay == nil || st.AttemptHistory[len(st.AttemptHistory)-1].Outcome != v1alpha1.AttemptOutcomeAccepted) {
			t.Errorf("%s: retried post shows backoffDelay %v and history %+v", p.Name, st.BackoffDelay, st.AttemptHistory)
		}
	}
	stats := e.sim.Stats().Get(e.ns+"-brand", tiktoksim.EndpointVideoInit)
	if got := sum(stats.RateLimited); got != throttled {
		t.Errorf("the simulator answered %d 429s, the posts' histories record %d", got, throttled)
	}
	if throttled == 0 {
		t.Errorf("no 429 at all: the test did not exercise throttling (simulator stats %+v)", stats)
	}
	if stats.MaxAcceptedInWindow > 4 {
		t.Errorf("the simulator accepted %d in a window of limit 4", stats.MaxAcceptedInWindow)
	}
	t.Logf("%d posts, %d init calls, %d answered 429 (%.1f%%)", n, stats.Calls, throttled, 100*float64(throttled)/float64(stats.Calls))
	assertThrottleMetrics(t, e, "brand", throttled)
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// TestPriorityOrder fills an account's only slot, then queues four posts at once: the next slots go by
// priority, and equal priorities go first come, first served.
func TestPriorityOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.account("brand", func(aq *v1alpha1.AccountQuota) {
		aq.Spec.Limits.PostInit = v1alpha1.RateLimit{Requests: 1, Window: metav1.Duration{Duration: 2 * time.Second}}
	})
	e.post("blocker", "brand", nil)
	e.startManager(fastOptions())
	e.waitPosts(30*time.Second, func(ps []v1alpha1.TikTokPost) bool { return phaseOf(ps, "blocker") == v1alpha1.PhasePublished })
	// Created while the window is full, in this order.
	for _, p := range []struct {
		name     string
		priority int32
	}{{"p0-low", 0}, {"p5-first", 5}, {"p10-top", 10}, {"p5-second", 5}} {
		e.post(p.name, "brand", func(s *v1alpha1.TikTokPostSpec) { s.Priority = p.priority })
		time.Sleep(20 * time.Millisecond) // distinct creation order (the tie-breaker after priority)
	}
	e.waitPosts(time.Minute, nil)
	var order []string
	for _, a := range e.sim.Posts() {
		order = append(order, a.Title)
	}
	want := []string{"blocker", "p10-top", "p5-first", "p5-second", "p0-low"}
	if fmt.Sprint(order) != fmt.Sprint(want) {
		t.Errorf("TikTok received %v, want %v", order, want)
	}
}
