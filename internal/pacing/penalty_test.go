/*
Copyright 2026 The tiktok-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package pacing

import (
	"testing"
	"time"

	testclock "k8s.io/utils/clock/testing"
)

// TestPenaltyAfterTheWindowFrees: a refusal the window explains may have started a lockout that runs
// from when the server's window frees a slot (a server that extends the lockout of a client that keeps
// sending, as TikTok says it does, and as the simulator models it). The next call therefore waits for
// the window to free a slot under the learned limit plus the Penalty guess, not for whichever of the two
// ends later: with the guess right, the call after the refusal is accepted, where with the two overlapping
// it went into the lockout, was refused again (a refusal right after a slot freed explains nothing) and
// extended the lockout, again and again (7 refusals an account in `make bench -quick`).
func TestPenaltyAfterTheWindowFrees(t *testing.T) {
	t0 := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name    string
		penalty time.Duration
		// the refused call keeps its slot: with the limit learned at 3, a slot frees when the second
		// of the four entries ends (the answer at +1.1 s, plus the minute)
		want time.Duration
	}{
		{"no guess (NoPenalty): the window alone", NoPenalty, 61100 * time.Millisecond},
		{"the default guess: one slot of the learned limit (a minute / 3)", 0, 81100 * time.Millisecond},
		{"a guess shorter than the window", 15 * time.Second, 76100 * time.Millisecond},
		{"a guess longer than the window", 2 * time.Minute, 181100 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			clk := testclock.NewFakePassiveClock(t0)
			eng := NewEngine(clk, func() float64 { return 0.5 })
			eng.SetAdaptive(Adaptive{Penalty: c.penalty})
			eng.Configure("a", DefaultLimits(), DefaultBackoff())
			at := func(d time.Duration) time.Time { return t0.Add(d) }
			for i := range 4 {
				d := time.Duration(i) * time.Second
				dec := eng.ReserveCall("a", CallDirectVideoInit, at(d))
				if !dec.Granted {
					t.Fatalf("+%s: not granted (%+v)", d, dec)
				}
				out := Accepted
				if i == 3 {
					out = Throttled
				}
				eng.Complete(dec.Reservation, at(d), at(d+100*time.Millisecond), out)
			}
			if eff := eng.Usage("a", at(4*time.Second))[winPostVideo].Effective; eff != 3 {
				t.Fatalf("effective limit %d after one refusal with 3 others in the window, want 3", eff)
			}
			if until, _ := eng.Cooldown("a"); !until.Equal(at(c.want)) && c.penalty != NoPenalty {
				t.Errorf("cooldown until +%s, want +%s (the slot at +61.1s plus the guess %s)", until.Sub(t0), c.want, c.penalty)
			}
			for _, d := range []time.Duration{10 * time.Second, c.want - time.Millisecond} {
				if dec := eng.ReserveCall("a", CallDirectVideoInit, at(d)); dec.Granted || !dec.NotBefore.Equal(at(c.want)) {
					t.Fatalf("at +%s: granted %v, not before +%s; want not before +%s", d, dec.Granted, dec.NotBefore.Sub(t0), c.want)
				}
			}
			if dec := eng.ReserveCall("a", CallDirectVideoInit, at(c.want)); !dec.Granted {
				t.Fatalf("at +%s: not granted (%+v)", c.want, dec)
			}
		})
	}
}

// TestRefusalMargin: a call whose slot freed less than the refusal margin before the refused call's send
// still counts in what the window held (the server's window may be a little longer, its clock a little
// behind). The margin is the engine's (SetRefusalMargin): 1 s by default, compressed only by a run that
// compresses every duration.
func TestRefusalMargin(t *testing.T) {
	t0 := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name   string
		margin time.Duration
		want   int
	}{
		{"default 1 s: the call freed 0.5 s before counts", 0, 4},
		{"100 ms: it does not", 100 * time.Millisecond, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			eng := NewEngine(testclock.NewFakePassiveClock(t0), func() float64 { return 0.5 })
			eng.SetRefusalMargin(c.margin)
			eng.Configure("a", DefaultLimits(), DefaultBackoff())
			at := func(d time.Duration) time.Time { return t0.Add(d) }
			send := func(d time.Duration, out Outcome) {
				t.Helper()
				dec := eng.ReserveCall("a", CallDirectVideoInit, at(d))
				if !dec.Granted {
					t.Fatalf("+%s: not granted (%+v)", d, dec)
				}
				eng.Complete(dec.Reservation, at(d), at(d+100*time.Millisecond), out)
			}
			for i := range 4 {
				send(time.Duration(i)*time.Second, Accepted)
			}
			// the first call's slot frees at +60.1 s (its answer plus the minute); refused at +60.6 s
			send(60600*time.Millisecond, Throttled)
			if eff := eng.Usage("a", at(61*time.Second))[winPostVideo].Effective; eff != c.want {
				t.Errorf("effective limit %d, want %d", eff, c.want)
			}
		})
	}
}
