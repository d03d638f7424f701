package pacing

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	testclock "k8s.io/utils/clock/testing"
)

// modelServer is TikTok as the adaptive test sees it: a sliding window of realN accepted stamps per W,
// lower than what the engine is configured with (another client shares the token, or TikTok tightened).
type modelServer struct {
	realN  int
	window time.Duration
	stamps []time.Time
}

// call stamps a request at 'at' and answers 429 (false) if realN stamps already sit in (at-W, at].
func (s *modelServer) call(at time.Time) bool {
	n := 0
	for _, x := range s.stamps {
		if at.Sub(x) < s.window {
			n++
		}
	}
	if n >= s.realN {
		return false
	}
	s.stamps = append(s.stamps, at)
	return true
}

// TestAdaptiveModelServer: configured 6/min, the server really allows realN/min. The engine must learn:
// fewer than 5% of calls draw a 429, and every post gets through (nothing dropped, retries re-enqueue).
func TestAdaptiveModelServer(t *testing.T) {
	for _, realN := range []int{5, 4, 3, 2} {
		for _, j := range []Jitter{JitterFull, JitterEqual, JitterDecorrelated} {
			t.Run(fmt.Sprintf("real%d-%s", realN, j), func(t *testing.T) {
				calls, throttled, makespan := runAdaptive(t, realN, j, 300)
				rate := float64(throttled) / float64(calls)
				t.Logf("%d calls, %d 429s (%.1f%%), makespan %s (ideal at the real limit %s)", calls, throttled, 100*rate, makespan,
					time.Duration(300/realN)*time.Minute)
				if rate >= 0.05 {
					t.Fatalf("429 rate %.1f%% >= 5%%", 100*rate)
				}
			})
		}
	}
}

func runAdaptive(t *testing.T, realN int, j Jitter, m int) (calls, throttled int, makespan time.Duration) {
	t0 := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	clk := testclock.NewFakePassiveClock(t0)
	rng := rand.New(rand.NewPCG(uint64(realN), 5))
	eng := NewEngine(clk, rng.Float64)
	l := DefaultLimits()
	l.DailyPosts = Limit{100000, 24 * time.Hour}
	eng.Configure("a", l, Backoff{Initial: time.Second, Max: 5 * time.Minute, Jitter: j})
	srv := &modelServer{realN: realN, window: time.Minute}
	next := make([]time.Time, m)
	done := make([]bool, m)
	for i := range m {
		eng.Enqueue("a", Waiter{Key: fmt.Sprint(i), Created: t0.Add(time.Duration(i)), Name: fmt.Sprint(i), Call: CallDirectVideoInit})
		next[i] = t0
	}
	const lat = 300 * time.Millisecond
	type flight struct {
		r  Reservation
		i  int
		ok bool
	}
	var flights []flight
	left, now := m, t0
	for step := 0; left > 0; step++ {
		if step > 1_000_000 {
			t.Fatal("no progress")
		}
		clk.SetTime(now)
		rest := flights[:0]
		for _, f := range flights {
			if f.r.At.Add(lat).After(now) {
				rest = append(rest, f)
				continue
			}
			if f.ok {
				eng.Complete(f.r, f.r.At, f.r.At.Add(lat), Accepted)
				done[f.i] = true
				left--
			} else {
				eng.Complete(f.r, f.r.At, f.r.At.Add(lat), Throttled)
				throttled++
				w := Waiter{Key: fmt.Sprint(f.i), Created: t0.Add(time.Duration(f.i)), Name: fmt.Sprint(f.i), Call: CallDirectVideoInit}
				eng.Enqueue("a", w) // retried, never dropped
				next[f.i] = now
			}
		}
		flights = rest
		inFlight := map[int]bool{}
		for _, f := range flights {
			inFlight[f.i] = true
		}
		for i := range m {
			if done[i] || inFlight[i] || next[i].After(now) {
				continue
			}
			d := eng.Reserve("a", fmt.Sprint(i), now)
			if !d.Granted {
				next[i] = d.NotBefore
				continue
			}
			calls++
			flights = append(flights, flight{r: d.Reservation, i: i, ok: srv.call(d.Reservation.At.Add(lat / 2))})
			makespan = d.Reservation.At.Sub(t0)
		}
		var nx time.Time
		for i := range m {
			if !done[i] && next[i].After(now) && (nx.IsZero() || next[i].Before(nx)) {
				nx = next[i]
			}
		}
		for _, f := range flights {
			if a := f.r.At.Add(lat); nx.IsZero() || a.Before(nx) {
				nx = a
			}
		}
		if nx.IsZero() || !nx.After(now) {
			nx = now.Add(time.Millisecond)
		}
		now = nx
	}
	return calls, throttled, makespan
}

// A 429 never makes the scheduler send sooner: for random histories, the earliest time of every call
// kind after a throttle (and after a Complete with Throttled) is never before the one without it.
func TestThrottleNeverSooner(t *testing.T) {
	t0 := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	for seed := range uint64(500) {
		rng := rand.New(rand.NewPCG(seed, 8))
		clk := testclock.NewFakePassiveClock(t0)
		l := randomLimits(rng)
		mk := func() *Engine {
			e := NewEngine(clk, rand.New(rand.NewPCG(seed, 9)).Float64)
			e.Configure("a", l, DefaultBackoff())
			return e
		}
		a, b := mk(), mk()
		now := t0
		for range 1 + rng.IntN(20) {
			now = now.Add(time.Duration(rng.Int64N(int64(5 * time.Second))))
			call := kindCalls[1+rng.IntN(int(numKinds)-1)]
			da, db := a.ReserveCall("a", call, now), b.ReserveCall("a", call, now)
			if da.Granted != db.Granted {
				t.Fatalf("seed %d: engines diverged before the throttle", seed)
			}
			if da.Granted {
				lat := time.Duration(rng.Int64N(int64(2 * time.Second)))
				// b: same history, but its last call is a 429 where a's is a certain no that counts the same
				// way (Rejected); or the 429 comes without a reservation (Throttled below)
				out, outA := Accepted, Accepted
				if rng.IntN(2) == 0 {
					out, outA = Throttled, Rejected
				}
				a.Complete(da.Reservation, now, now.Add(lat), outA)
				b.Complete(db.Reservation, now, now.Add(lat), out)
				if out == Throttled {
					break
				}
			}
		}
		aa, ab := a.get("a"), b.get("a")
		for k := callKind(1); k < numKinds; k++ {
			for _, dt := range []time.Duration{0, time.Second, time.Minute} {
				n := nanos(now.Add(dt))
				if ea, eb := aa.earliest(k, max(n, aa.hw), false), ab.earliest(k, max(n, ab.hw), false); eb < ea {
					t.Fatalf("seed %d: after a 429, %s may go at %s instead of %s", seed, kindCalls[k], unix(eb), unix(ea))
				}
			}
		}
	}
}

func TestThrottleEpisodes(t *testing.T) {
	t0 := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	clk := testclock.NewFakePassiveClock(t0)
	eng := NewEngine(clk, func() float64 { return 0.5 })
	eng.SetAdaptive(Adaptive{Penalty: NoPenalty}) // the episodes alone: no lockout guess after a learned limit
	eng.Configure("a", DefaultLimits(), Backoff{Initial: 2 * time.Second, Max: time.Minute, Jitter: JitterEqual})
	d1 := eng.ReserveCall("a", CallDirectVideoInit, t0)
	d2 := eng.ReserveCall("a", CallDirectVideoInit, t0.Add(time.Second))
	if !d1.Granted || !d2.Granted {
		t.Fatal("expected two grants")
	}
	// first 429: a new episode; the window held d2, so the server's limit is at most 1: learned at once,
	// no jittered backoff (the window alone holds the next call back)
	eng.Complete(d1.Reservation, t0, t0.Add(1500*time.Millisecond), Throttled)
	until, n := eng.Cooldown("a")
	if n != 1 || !until.Equal(t0.Add(1500*time.Millisecond)) {
		t.Fatalf("cooldown %s (+%s), consecutive %d; want +1.5s, 1", until, until.Sub(t0), n)
	}
	// the Retry-After of the same answer: same episode, floor applied
	until = eng.Throttled("a", CallDirectVideoInit, t0.Add(1500*time.Millisecond), 10*time.Second)
	if _, n = eng.Cooldown("a"); n != 1 || !until.Equal(t0.Add(11500*time.Millisecond)) {
		t.Fatalf("after Retry-After: until +%s consecutive %d; want +11.5s, 1", until.Sub(t0), n)
	}
	// the other call was in flight when the episode began: expected, not a second episode
	eng.Complete(d2.Reservation, t0.Add(time.Second), t0.Add(2*time.Second), Throttled)
	if _, n = eng.Cooldown("a"); n != 1 {
		t.Fatalf("an in-flight 429 counted as a new episode: consecutive %d", n)
	}
	// the window held one other call when the 429 came: effective 1
	u := eng.Usage("a", t0.Add(2*time.Second))
	if u[winPostVideo].Effective != 1 || u[winPostVideo].Used != 2 {
		t.Fatalf("postInit/video after one episode: %+v; want effective 1, used 2", u[winPostVideo])
	}
	// nothing before the cooldown ends
	if d := eng.ReserveCall("a", CallStatusFetch, t0.Add(11*time.Second)); d.Granted || d.NotBefore.Before(t0.Add(11500*time.Millisecond)) {
		t.Fatalf("granted during the cooldown: %+v", d)
	}
	// a clean answer resets the consecutive count
	d3 := eng.ReserveCall("a", CallStatusFetch, t0.Add(12*time.Second))
	if !d3.Granted {
		t.Fatalf("not granted after the cooldown: %+v", d3)
	}
	eng.Complete(d3.Reservation, d3.Reservation.At, d3.Reservation.At, Accepted)
	if _, n = eng.Cooldown("a"); n != 0 {
		t.Fatalf("consecutive not reset: %d", n)
	}
	// one step after 10 clean windows from +1.5s, then nothing more until a probe confirms it
	want := []struct {
		after time.Duration
		eff   int
	}{{61 * time.Second, 1}, {10*time.Minute + 1400*time.Millisecond, 1}, {10*time.Minute + 1500*time.Millisecond, 2},
		{time.Hour, 2}}
	for _, w := range want {
		if got := eng.Usage("a", t0.Add(w.after))[winPostVideo].Effective; got != w.eff {
			t.Fatalf("effective at +%s = %d, want %d", w.after, got, w.eff)
		}
	}
}

// A 429 for a call sent before the episode began, arriving after the cooldown ended, and the Throttled
// call carrying its Retry-After: both are the same, expected 429, not a new episode.
func TestLate429AfterCooldown(t *testing.T) {
	t0 := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	eng := NewEngine(testclock.NewFakePassiveClock(t0), func() float64 { return 0.5 })
	eng.Configure("a", DefaultLimits(), Backoff{Initial: 2 * time.Second, Max: time.Minute, Jitter: JitterEqual})
	d1 := eng.ReserveCall("a", CallDirectVideoInit, t0)
	d2 := eng.ReserveCall("a", CallInboxVideoInit, t0.Add(time.Second))
	eng.Complete(d1.Reservation, t0, t0.Add(1500*time.Millisecond), Throttled) // episode 1, until +3s
	late := t0.Add(20 * time.Second)
	eng.Complete(d2.Reservation, t0.Add(time.Second), late, Throttled)
	until := eng.Throttled("a", CallInboxVideoInit, late, 100*time.Millisecond)
	if u, n := eng.Cooldown("a"); n != 1 || !u.Equal(late.Add(100*time.Millisecond)) || !until.Equal(u) {
		t.Fatalf("late expected 429: until %s, consecutive %d; want %s, 1", u, n, late.Add(100*time.Millisecond))
	}
	// a 429 for a call sent after the cooldown is a new episode
	d3 := eng.ReserveCall("a", CallStatusFetch, late.Add(time.Second))
	if !d3.Granted {
		t.Fatalf("not granted: %+v", d3)
	}
	eng.Complete(d3.Reservation, d3.Reservation.At, late.Add(2*time.Second), Throttled)
	if _, n := eng.Cooldown("a"); n != 2 {
		t.Fatalf("new episode not counted: consecutive %d", n)
	}
}

// A 429 the window does not explain (no other call in it) keeps today's jittered cooldown and the limit.
func TestThrottleUnexplainedBacksOff(t *testing.T) {
	t0 := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	eng := NewEngine(testclock.NewFakePassiveClock(t0), func() float64 { return 0.5 })
	eng.Configure("a", DefaultLimits(), Backoff{Initial: 2 * time.Second, Max: time.Minute, Jitter: JitterEqual})
	d1 := eng.ReserveCall("a", CallDirectVideoInit, t0)
	// Equal jitter attempt 1 with u=0.5 -> 1.5s after the answer
	eng.Complete(d1.Reservation, t0, t0.Add(1500*time.Millisecond), Throttled)
	if until, n := eng.Cooldown("a"); n != 1 || !until.Equal(t0.Add(3*time.Second)) {
		t.Fatalf("cooldown +%s, consecutive %d; want +3s, 1", until.Sub(t0), n)
	}
	if u := eng.Usage("a", t0.Add(2*time.Second))[winPostVideo]; u.Effective != 6 {
		t.Fatalf("unexplained 429 changed the limit: %+v", u)
	}
}
