package e2e

import (
	"testing"
	"time"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
)

// TestTransientFaultsLoseNothing injects the faults that strike before TikTok processes a call (a 500,
// or a 200 whose body is an error) on 20% of all answers, every endpoint: every post still publishes
// exactly once, some only after a retry that attemptHistory records as RetryableError, and no window
// ever holds more inits than the limit.
//
// The simulator's random source is seeded, but which call draws which fault depends on the order calls
// arrive in; with 30 posts the chance that no init draws a fault is 0.8^30, about 0.1%.
func TestTransientFaultsLoseNothing(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		faults tiktoksim.Faults
		code   string // the error code the simulator counts for the fault
	}{
		{name: "5xx on 20% of calls", faults: tiktoksim.Faults{ServerError: 0.2}, code: "internal_error"},
		{name: "200 with an error body on 20% of calls", faults: tiktoksim.Faults{ErrorBody200: 0.2}, code: "internal_error"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const accounts, perAccount = 3, 10
			e := newEnv(t, nil)
			names := e.fleet(accounts, perAccount)
			e.sim.SetFaults(tc.faults)
			e.startManager(fastOptions())
			posts := e.waitPosts(2*time.Minute, nil)

			assertAllPublishedOnce(t, e, posts)
			assertNeverOverQuota(t, e, names, 6)
			retried := 0
			for _, p := range posts {
				if p.Status.Attempts > 1 {
					retried++
				}
			}
			outcomes := historyOutcomes(posts)
			t.Logf("%d of %d posts needed more than one attempt; outcomes %v", retried, len(posts), outcomes)
			if retried == 0 {
				t.Errorf("no post needed a second attempt under 20%% faults: the fault never reached an init")
			}
			if outcomes[v1alpha1.AttemptOutcomeRetryableError] == 0 {
				t.Errorf("attemptHistory records no RetryableError: %v", outcomes)
			}
			if outcomes[v1alpha1.AttemptOutcomeUncertain] != 0 {
				t.Errorf("a fault that strikes before processing was classed Uncertain: %v", outcomes)
			}
			faults := 0
			for _, n := range names {
				faults += e.sim.Stats().Get(e.ns+"-"+n, tiktoksim.EndpointVideoInit).Errors[tc.code]
			}
			if faults == 0 {
				t.Errorf("the simulator injected no %s on an init", tc.code)
			}
		})
	}
}

// TestUncertainFaultsAtMostOnce injects the faults that strike after TikTok processed the init (the
// answer comes slower than the client's timeout, the connection drops, the JSON is cut short). Under
// onUncertainOutcome Fail the post ends Failed(UncertainOutcome) after one attempt and the simulator
// holds it once; under Retry the operator sends it again once the fault clears (the simulator may hold
// it twice: that is what Retry means), and it ends Published.
func TestUncertainFaultsAtMostOnce(t *testing.T) {
	t.Parallel()
	init := []string{tiktoksim.EndpointVideoInit}
	faults := []struct {
		name   string
		faults tiktoksim.Faults
	}{
		{name: "slower than the timeout", faults: tiktoksim.Faults{Slow: 1, SlowDelay: tiktoksim.Duration(3 * time.Second), Endpoints: init}},
		{name: "connection dropped", faults: tiktoksim.Faults{Drop: 1, Endpoints: init}},
		{name: "malformed JSON", faults: tiktoksim.Faults{MalformedJSON: 1, Endpoints: init}},
	}
	for _, f := range faults {
		for _, policy := range []v1alpha1.UncertainOutcomePolicy{v1alpha1.UncertainOutcomeFail, v1alpha1.UncertainOutcomeRetry} {
			t.Run(f.name+"/"+string(policy), func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, nil)
				e.account("brand")
				e.sim.SetFaults(f.faults)
				e.post("uncertain", "brand", func(s *v1alpha1.TikTokPostSpec) { s.OnUncertainOutcome = policy })
				opts := fastOptions()
				opts.CallTimeout = time.Second // below the slow answer's 3 s
				e.startManager(opts)

				if policy == v1alpha1.UncertainOutcomeFail {
					ps := e.waitPosts(time.Minute, nil)
					p := ps[0]
					if p.Status.Phase != v1alpha1.PhaseFailed || readyReason(&p) != v1alpha1.ReasonUncertainOutcome || p.Status.Attempts != 1 {
						t.Fatalf("phase %s, reason %q, attempts %d; want Failed/UncertainOutcome after 1 attempt",
							p.Status.Phase, readyReason(&p), p.Status.Attempts)
					}
					time.Sleep(time.Second) // nothing more may happen to the failed post
					if n := e.sim.Stats().Get(e.ns+"-brand", tiktoksim.EndpointVideoInit).Calls; n != 1 {
						t.Errorf("%d init calls, want 1", n)
					}
					if n := acceptedByTitle(e)["uncertain"]; n != 1 {
						t.Errorf("the simulator holds the post %d times, want the 1 it processed", n)
					}
					return
				}
				// Retry: wait for the uncertain attempt to be recorded, clear the fault, expect a publish.
				e.waitPosts(time.Minute, func(ps []v1alpha1.TikTokPost) bool {
					return historyOutcomes(ps)[v1alpha1.AttemptOutcomeUncertain] > 0
				})
				e.sim.SetFaults(tiktoksim.Faults{})
				ps := e.waitPosts(time.Minute, func(ps []v1alpha1.TikTokPost) bool { return ps[0].Status.Phase == v1alpha1.PhasePublished })
				if ps[0].Status.Attempts < 2 {
					t.Errorf("published after %d attempts, want a second one after the uncertain first", ps[0].Status.Attempts)
				}
				if n := acceptedByTitle(e)["uncertain"]; n < 2 {
					t.Errorf("the simulator holds the post %d times; under Retry the first (processed) call and the retry both count", n)
				}
			})
		}
	}
}
