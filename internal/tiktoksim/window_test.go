package tiktoksim

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestTimeLogBoundary is the referee's contract: with n per W, the (n+1)th call inside the window is
// refused, and a call exactly W after the oldest is accepted.
func TestTimeLogBoundary(t *testing.T) {
	for _, tc := range []struct {
		n int
		w time.Duration
	}{{1, time.Second}, {6, time.Minute}, {30, time.Minute}, {15, 24 * time.Hour}} {
		var l timeLog
		for i := 0; i < tc.n; i++ {
			if !l.fits(t0, tc.n, tc.w) {
				t.Fatalf("n=%d: call %d refused", tc.n, i+1)
			}
			l.add(t0)
		}
		if l.fits(t0, tc.n, tc.w) {
			t.Errorf("n=%d: call n+1 at the same instant accepted", tc.n)
		}
		if l.fits(t0.Add(tc.w-time.Nanosecond), tc.n, tc.w) {
			t.Errorf("n=%d: call n+1 one ns before the boundary accepted", tc.n)
		}
		if !l.fits(t0.Add(tc.w), tc.n, tc.w) {
			t.Errorf("n=%d: call n+1 exactly at the boundary refused", tc.n)
		}
	}
}

// TestTimeLogMatchesBruteForce replays random call times and checks every decision against the
// definition, counted from scratch over all accepted calls, and that no window ever holds more than n.
func TestTimeLogMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	const n, w = 6, time.Minute
	var l timeLog
	var accepted []time.Time
	now := t0
	for i := 0; i < 5000; i++ {
		now = now.Add(time.Duration(rng.IntN(int(15 * time.Second))))
		inWindow := 0
		for _, s := range accepted {
			if s.After(now.Add(-w)) && !s.After(now) {
				inWindow++
			}
		}
		want := inWindow < n
		if got := l.fits(now, n, w); got != want {
			t.Fatalf("call %d at %v: fits=%v, brute force says %v", i, now.Sub(t0), got, want)
		}
		if want {
			l.add(now)
			accepted = append(accepted, now)
		}
	}
	for i := range accepted {
		j := i
		for j < len(accepted) && accepted[j].Sub(accepted[i]) < w {
			j++
		}
		if j-i > n {
			t.Fatalf("window starting at %v holds %d accepted calls", accepted[i].Sub(t0), j-i)
		}
	}
	if len(accepted) < 100 {
		t.Fatalf("only %d calls accepted: the replay did not exercise the limit", len(accepted))
	}
}
