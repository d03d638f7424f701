package pacing

import (
	"fmt"
	"testing"
	"time"

	testclock "k8s.io/utils/clock/testing"
)

// TestLearnFromOneRefusal: configured 6/min, the model server really allows realN/min. One refusal
// teaches the engine the real limit (the window held realN others), and it paces at it: refusals at most
// 1 + 1 per 10 windows of the run (the probes), makespan within 1.10x of the ideal at the real limit. When
// the real limit is the configured one nothing changes: no refusal at all.
func TestLearnFromOneRefusal(t *testing.T) {
	for _, realN := range []int{6, 5, 4, 3, 2} {
		t.Run(fmt.Sprintf("real%d", realN), func(t *testing.T) {
			const m = 300
			calls, refused, makespan := runAdaptive(t, realN, JitterFull, m)
			ideal := time.Duration(m/realN) * time.Minute
			windows := int(makespan / time.Minute)
			ratio := float64(makespan) / float64(ideal)
			t.Logf("%d calls, %d refused, makespan %s = %.3fx the ideal %s", calls, refused, makespan, ratio, ideal)
			if realN == 6 && refused != 0 {
				t.Fatalf("real = configured: %d refusals, want 0", refused)
			}
			if maxRefused := 1 + windows/10; refused > maxRefused {
				t.Fatalf("%d refusals over %d windows, want <= %d", refused, windows, maxRefused)
			}
			if ratio > 1.10 {
				t.Fatalf("makespan %.3fx the ideal at the real limit, want <= 1.10x", ratio)
			}
		})
	}
}

// The rule step by step: one refusal with 3 others sets the limit to 3 and waits for the window to free a
// slot, then the Penalty guess; after 10 clean windows the limit rises by one, on probation; the call that needs the
// raised slot is the probe and nothing else of its window goes while it is out; a refused probe restores
// the learned level and doubles the clean stretch. A checkpoint taken on probation holds the learned level.
func TestLearnAndProbe(t *testing.T) {
	f := newLearnFixture(t)
	eng, clk, at, call, eff := f.eng, f.clk, f.at, f.call, f.eff
	for i := range 3 {
		call(time.Duration(i)*time.Second, Accepted)
	}
	call(3*time.Second, Throttled)
	// the window holds 3 accepted + the refused call: a slot under 3 frees when the second one ends
	// (+61.1s), and the Penalty guess runs from there
	if until, n := eng.Cooldown("a"); n != 1 || !until.Equal(at(91100*time.Millisecond)) || eff(3100*time.Millisecond) != 3 {
		t.Fatalf("after the refusal: until +%s, consecutive %d, effective %d; want +1m31.1s, 1, 3", until.Sub(f.t0), n, eff(3100*time.Millisecond))
	}
	if d := eng.ReserveCall("a", CallDirectVideoInit, at(40*time.Second)); d.Granted || !d.NotBefore.Equal(at(91100*time.Millisecond)) {
		t.Fatalf("at +40s: %+v; want not before +1m31.1s", d)
	}
	stretch := 10 * time.Minute
	if eff(3100*time.Millisecond+stretch-time.Millisecond) != 3 || eff(3100*time.Millisecond+stretch) != 4 {
		t.Fatalf("raise after 10 clean windows: %d, %d", eff(3100*time.Millisecond+stretch-time.Millisecond), eff(3100*time.Millisecond+stretch))
	}
	base := 11 * time.Minute
	for i := range 3 {
		call(base+time.Duration(i)*time.Second, Accepted)
	}
	probe := call(base+3*time.Second, Pending)
	if d := eng.ReserveCall("a", CallDirectVideoInit, at(base+5*time.Second)); d.Granted {
		t.Fatal("a second call went while the probe was out")
	}
	clk.SetTime(at(base + 5*time.Second))
	if s := eng.Snapshot("a"); len(s.Adaptive) != 1 || s.Adaptive[0].Effective != 3 {
		t.Fatalf("checkpoint on probation: %+v; want the learned level 3", s.Adaptive)
	}
	refused := base + 6*time.Second
	eng.Complete(probe, at(base+3*time.Second), at(refused), Throttled)
	if eff(refused) != 3 {
		t.Fatalf("refused probe: effective %d, want 3", eff(refused))
	}
	if eff(refused+2*stretch-time.Millisecond) != 3 || eff(refused+2*stretch) != 4 {
		t.Fatal("the next probe must wait twice the clean stretch")
	}
}

// SetAccountAdaptive configures one account, not the others; Usage reports when the limit was lowered
// and when the next probe is due, and clears both once the limit is back at the configured one.
func TestAccountAdaptiveAndUsage(t *testing.T) {
	t0 := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	eng := NewEngine(testclock.NewFakePassiveClock(t0), func() float64 { return 0.5 })
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	for _, name := range []string{"a", "b"} {
		eng.Configure(name, DefaultLimits(), DefaultBackoff())
	}
	eng.SetAccountAdaptive("a", Adaptive{CleanWindows: 2})
	refuse := func(name string) {
		t.Helper()
		for i := range 4 {
			dec := eng.ReserveCall(name, CallDirectVideoInit, at(time.Duration(i)*time.Second))
			if !dec.Granted {
				t.Fatalf("%s call %d not granted", name, i)
			}
			out := Accepted
			if i == 3 {
				out = Throttled
			}
			eng.Complete(dec.Reservation, at(time.Duration(i)*time.Second), at(time.Duration(i)*time.Second+100*time.Millisecond), out)
		}
	}
	refuse("a")
	refuse("b")
	lowered := at(3100 * time.Millisecond)
	for name, stretch := range map[string]time.Duration{"a": 2 * time.Minute, "b": 10 * time.Minute} {
		u := eng.Usage(name, lowered)[winPostVideo]
		if u.Effective != 3 || !u.LoweredAt.Equal(lowered) || !u.NextProbeAt.Equal(lowered.Add(stretch)) {
			t.Fatalf("%s: %+v; want effective 3, lowered at +3.1s, next probe +%s later", name, u, stretch)
		}
		if u := eng.Usage(name, lowered.Add(stretch-time.Millisecond))[winPostVideo]; u.Effective != 3 {
			t.Fatalf("%s: raised before the stretch: %+v", name, u)
		}
		if u := eng.Usage(name, lowered.Add(stretch))[winPostVideo]; u.Effective != 4 || u.NextProbeAt.After(lowered.Add(stretch)) {
			t.Fatalf("%s: after the stretch: %+v; want 4 on probation, probe due", name, u)
		}
	}
	if u := eng.Usage("b", lowered)[winPostInbox]; !u.LoweredAt.IsZero() || !u.NextProbeAt.IsZero() {
		t.Fatalf("a window at its configured limit reports %+v", u)
	}
}

// TestProbeOnlyIntoAYoungFullWindow: the probe goes only where its answer says something and a refusal
// costs least, right behind calls that stay in the window: a call that would need the raised slot while
// the window's oldest call leaves within one slot of the learned level (20 s at 3 a minute) waits for it
// to leave and goes at the learned level, no probe; behind three young calls it is the probe at once.
func TestProbeOnlyIntoAYoungFullWindow(t *testing.T) {
	f := newLearnFixture(t)
	eng, at, reserve, call, eff := f.eng, f.at, f.reserve, f.call, f.eff
	for i := range 3 {
		call(time.Duration(i)*time.Second, Accepted)
	}
	call(3*time.Second, Throttled) // learned: 3 a minute; on probation at 4 from +10m3.1s
	base := 11 * time.Minute
	if eff(base) != 4 {
		t.Fatalf("effective %d at +11m, want 4 (on probation)", eff(base))
	}
	for i := range 3 {
		call(base+time.Duration(i)*time.Second, Accepted)
	}
	// The oldest of the three (sent at base, answered +0.1 s) leaves the window 15 s after +45 s, within
	// a slot (20 s): a refused probe now would take the slot it frees and scatter the window's calls.
	if d := reserve(base + 45*time.Second); d.Granted || !d.NotBefore.Equal(at(base+60100*time.Millisecond)) {
		t.Fatalf("at +45 s behind an old call: %+v; want not granted before the oldest call leaves (+60.1 s)", d)
	}
	call(base+60100*time.Millisecond, Accepted) // at the learned level: not the probe
	if d := reserve(base + 60200*time.Millisecond); d.Granted || !d.NotBefore.Equal(at(base+61100*time.Millisecond)) {
		t.Fatalf("at +60.2 s: %+v; want not before the next oldest call leaves (+61.1 s): no probe out, none sent", d)
	}

	young := base + 3*time.Minute
	for i := range 3 {
		call(young+time.Duration(i)*time.Second, Accepted)
	}
	probe := call(young+3*time.Second, Pending) // behind three young calls: the probe
	if d := reserve(young + 4*time.Second); d.Granted {
		t.Fatal("a second call went while the probe was out")
	}
	eng.Complete(probe, at(young+3*time.Second), at(young+3100*time.Millisecond), Accepted)
	if eff(young+4*time.Second) != 4 {
		t.Fatalf("effective %d after the accepted probe, want 4", eff(young+4*time.Second))
	}
	if d := reserve(young + 4*time.Second); d.Granted {
		t.Fatalf("a fifth call in the window at the raised level 4: %+v", d)
	}
}

// learnFixture is an engine with one account "a" at the default limits and a Penalty guess of 30 s, on a
// fake clock; its helpers take offsets from the clock's start.
type learnFixture struct {
	t   *testing.T
	t0  time.Time
	clk *testclock.FakePassiveClock
	eng *Engine
}

func newLearnFixture(t *testing.T) *learnFixture {
	t0 := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	clk := testclock.NewFakePassiveClock(t0)
	eng := NewEngine(clk, func() float64 { return 0.5 })
	eng.SetAdaptive(Adaptive{Penalty: 30 * time.Second})
	eng.Configure("a", DefaultLimits(), DefaultBackoff())
	return &learnFixture{t: t, t0: t0, clk: clk, eng: eng}
}

func (f *learnFixture) at(d time.Duration) time.Time { return f.t0.Add(d) }

// reserve asks for an init slot at +d, the clock set there.
func (f *learnFixture) reserve(d time.Duration) Decision {
	f.clk.SetTime(f.at(d))
	return f.eng.ReserveCall("a", CallDirectVideoInit, f.at(d))
}

// call is an init granted at +d (the test fails otherwise), answered 100 ms later with out unless Pending.
func (f *learnFixture) call(d time.Duration, out Outcome) Reservation {
	f.t.Helper()
	dec := f.reserve(d)
	if !dec.Granted {
		f.t.Fatalf("+%s: not granted (%+v)", d, dec)
	}
	if out != Pending {
		f.eng.Complete(dec.Reservation, f.at(d), f.at(d+100*time.Millisecond), out)
	}
	return dec.Reservation
}

// eff is the post-init window's effective limit at +d.
func (f *learnFixture) eff(d time.Duration) int {
	return f.eng.Usage("a", f.at(d))[winPostVideo].Effective
}
