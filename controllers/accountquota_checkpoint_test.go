package controllers

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	testclock "k8s.io/utils/clock/testing"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/pacing"
)

// TestCheckpointKeepsWhatWasLearned: an account whose real limit is below its configured one learns it
// from an unexpected 429. What it learned (the lowered limit, the episode, the last cooldown delay) goes
// through the AccountQuota's status checkpoint, and an engine restored from it after a restart allows the
// same number of calls as the one that learned it, not the configured limit.
func TestCheckpointKeepsWhatWasLearned(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	clk := testclock.NewFakePassiveClock(t0)
	limits := pacing.DefaultLimits()
	limits.MinInterval = 0
	backoff := pacing.Backoff{Initial: time.Second, Max: time.Minute, Jitter: pacing.JitterFull}
	half := func() float64 { return 0.5 }

	before := pacing.NewEngine(clk, half)
	before.Configure("ns/a", limits, backoff)
	// Four inits go through; the fifth is refused: the real limit is at most four.
	for i := range 5 {
		d := before.ReserveCall("ns/a", pacing.CallDirectVideoInit, clk.Now())
		if !d.Granted {
			t.Fatalf("call %d not granted", i)
		}
		outcome := pacing.Accepted
		if i == 4 {
			outcome = pacing.Throttled
		}
		before.Complete(d.Reservation, clk.Now(), clk.Now().Add(10*time.Millisecond), outcome)
		if i == 4 {
			before.Throttled("ns/a", pacing.CallDirectVideoInit, clk.Now().Add(10*time.Millisecond), 0)
		}
		clk.SetTime(clk.Now().Add(100 * time.Millisecond))
	}
	learned := effectiveOf(t, before.Usage("ns/a", clk.Now()), "postInit/video")
	if learned >= 6 {
		t.Fatalf("the engine did not lower the limit after the 429 (effective %d)", learned)
	}

	// The status round trip, as a restart reads it.
	clk.SetTime(clk.Now().Add(2 * time.Second))
	until, consecutive := before.Cooldown("ns/a")
	st := v1alpha1.AccountQuotaStatus{Checkpoint: checkpointOf(before.Snapshot("ns/a"), clk.Now()),
		ConsecutiveThrottles: int32(consecutive)}
	if !until.IsZero() {
		st.ThrottledUntil = ptrTime(until)
	}
	snap := before.Snapshot("ns/a")
	back := stateOf(st)
	if back.EpisodeStart/1000 != snap.EpisodeStart/1000 || back.LastDelay != snap.LastDelay || len(back.Adaptive) != len(snap.Adaptive) {
		t.Errorf("the checkpoint lost what was learned: episode %d/%d, last delay %s/%s, lowered %v/%v",
			back.EpisodeStart, snap.EpisodeStart, back.LastDelay, snap.LastDelay, back.Adaptive, snap.Adaptive)
	}

	after := pacing.NewEngine(clk, half)
	after.Configure("ns/a", limits, backoff)
	after.Restore("ns/a", back)
	if got := effectiveOf(t, after.Usage("ns/a", clk.Now()), "postInit/video"); got != learned {
		t.Errorf("after the restart the effective postInit limit is %d, before it was %d", got, learned)
	}
}

func effectiveOf(t *testing.T, us []pacing.Usage, name string) int {
	t.Helper()
	for _, u := range us {
		if u.Name == name {
			return u.Effective
		}
	}
	t.Fatalf("no usage named %s in %+v", name, us)
	return 0
}

func ptrTime(t time.Time) *metav1.Time { return &metav1.Time{Time: t} }
