package tiktok_test

import (
	"context"
	"sync"
	"testing"

	"github.com/tiktok-operator/tiktok-operator/internal/tiktok"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
)

// TestConcurrentCallsAgainstTheReferee: 60 simultaneous inits through one client while the simulator's
// clock stands still. Exactly the limit (6) is accepted, every other call is RateLimited, and the
// simulator's referee figure agrees. The hook, stamped by the injected clock, saw all 60.
func TestConcurrentCallsAgainstTheReferee(t *testing.T) {
	e := newEnv(t, func(c *tiktoksim.Config) { c.DailyPosts.Requests = 0 })
	const n = 60
	classes := make(chan tiktok.Class, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.client.InitDirectVideo(context.Background(), aliceAccess, pullRequest("c", tiktok.PrivacySelfOnly))
			classes <- tiktok.ClassOf(err)
		}()
	}
	wg.Wait()
	close(classes)
	count := map[tiktok.Class]int{}
	for c := range classes {
		count[c]++
	}
	if count[tiktok.OK] != 6 || count[tiktok.RateLimited] != n-6 {
		t.Fatalf("classes %v, want 6 OK and %d RateLimited", count, n-6)
	}
	st := e.sim.Stats().Get("alice", tiktoksim.EndpointVideoInit)
	if st.MaxAcceptedInWindow != 6 || st.Accepted != 6 || st.RateLimited["window"] != n-6 || len(e.sim.Posts()) != 6 {
		t.Fatalf("referee: %+v, %d posts", st, len(e.sim.Posts()))
	}
	calls := e.hookCalls()
	if len(calls) != n {
		t.Fatalf("hook saw %d calls", len(calls))
	}
	for _, ci := range calls {
		if !ci.Sent.Equal(t0) || !ci.Answered.Equal(t0) {
			t.Fatalf("hook times %v/%v, want the injected clock's %v", ci.Sent, ci.Answered, t0)
		}
	}
}
