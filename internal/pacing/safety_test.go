package pacing

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	testclock "k8s.io/utils/clock/testing"
)

// simAnswer is a call in flight in the simulation.
type simAnswer struct {
	eng      *Engine // the engine (process) that made it; a restart orphans it
	r        Reservation
	waiter   string // "" for a status fetch
	sent     time.Time
	arrives  time.Time // the true answer time (the checker's latest stamp)
	outcome  Outcome   // what the server answered
	lost     bool      // the client never sees the answer
	timeout  bool      // lost, and the client completes it as Uncertain (else it never completes it)
	answered bool
}

type simWaiter struct {
	account  string
	w        Waiter
	arrive   time.Time
	next     time.Time
	queued   bool
	done     bool
	inFlight bool
}

// randomLimits draws small limits so that every window is stressed.
func randomLimits(rng *rand.Rand) Limits {
	lim := func(nMax int, wMin, wMax time.Duration) Limit {
		return Limit{Requests: 1 + rng.IntN(nMax), Window: wMin + time.Duration(rng.Int64N(int64(wMax-wMin)))}
	}
	return Limits{
		PostInit:      lim(6, 5*time.Second, 2*time.Minute),
		StatusFetch:   lim(5, 5*time.Second, time.Minute),
		CreatorInfo:   lim(3, 5*time.Second, time.Minute),
		DailyPosts:    lim(15, 10*time.Minute, 24*time.Hour),
		PendingShares: lim(5, 10*time.Minute, 24*time.Hour),
		MinInterval:   time.Duration(rng.IntN(3)) * 500 * time.Millisecond,
	}
}

var initCalls = []Call{CallDirectVideoInit, CallInboxVideoInit, CallDirectPhotoInit, CallUploadPhotoInit}

// runSafetyCase drives one randomized run and returns the checker's verdict ("" = fine), plus counts.
func runSafetyCase(seed uint64) (string, int, int) {
	rng := rand.New(rand.NewPCG(seed, seed*7919+1))
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	clk := testclock.NewFakePassiveClock(t0)
	newEngine := func() *Engine {
		e := NewEngine(clk, rand.New(rand.NewPCG(seed, 3)).Float64)
		e.SetMaxInFlight(time.Minute)
		return e
	}
	eng := newEngine()
	accounts := []string{"a", "b"}[:1+rng.IntN(2)]
	limits := map[string]Limits{}
	backoff := Backoff{Initial: time.Second, Max: time.Minute, Jitter: []Jitter{JitterFull, JitterEqual, JitterDecorrelated}[rng.IntN(3)]}
	for _, a := range accounts {
		limits[a] = randomLimits(rng)
		eng.Configure(a, limits[a], backoff)
	}
	// Waiters arrive over the first few minutes.
	var waiters []*simWaiter
	nw := 5 + rng.IntN(30)
	for i := range nw {
		arrive := t0.Add(time.Duration(rng.Int64N(int64(5 * time.Minute))))
		w := Waiter{Key: fmt.Sprintf("w%03d", i), Priority: int32(rng.IntN(3)), Created: arrive,
			Name: fmt.Sprintf("post-%03d", i), Call: initCalls[rng.IntN(len(initCalls))]}
		if rng.IntN(4) == 0 {
			w.PublishAt = arrive.Add(time.Duration(rng.Int64N(int64(3 * time.Minute))))
		}
		waiters = append(waiters, &simWaiter{account: accounts[rng.IntN(len(accounts))], w: w, arrive: arrive, next: arrive})
	}
	var flights []*simAnswer
	var sends []sendRec
	checkpoint := map[string]State{}
	nextStatus := map[string]time.Time{}
	for _, a := range accounts {
		nextStatus[a] = t0
	}
	restarts := rng.IntN(3)
	restarted := 0
	now := t0
	end := t0.Add(2 * time.Hour)
	for step := 0; step < 20000 && now.Before(end); step++ {
		// 1. answers that arrive now
		for _, f := range flights {
			if f.answered || f.arrives.After(now) {
				continue
			}
			f.answered = true
			if f.eng != eng {
				continue // the process that sent it is gone
			}
			if f.lost {
				if f.timeout {
					eng.Complete(f.r, f.sent, time.Time{}, Uncertain)
				}
				if f.waiter != "" {
					for _, w := range waiters {
						if w.w.Key == f.waiter {
							w.inFlight, w.done = false, true // uncertain outcome: onUncertainOutcome=Fail
						}
					}
				}
				continue
			}
			eng.Complete(f.r, f.sent, f.arrives, f.outcome)
			for _, w := range waiters {
				if w.w.Key == f.waiter {
					w.inFlight = false
					if f.outcome == Throttled {
						w.next = now // retry: back in the queue
					} else {
						w.done = true
					}
				}
			}
		}
		// 2. a restart: new process, stale checkpoint, rebuild from the posts' statuses
		if restarts > 0 && rng.IntN(300) == 0 {
			restarts--
			restarted++
			eng = newEngine()
			for _, a := range accounts {
				eng.Configure(a, limits[a], backoff)
				eng.Restore(a, checkpoint[a])
			}
			for _, f := range flights {
				if f.waiter == "" {
					continue
				}
				ans, out := time.Time{}, Pending
				if f.answered && !f.lost {
					ans, out = f.arrives.Truncate(time.Second), f.outcome
				}
				// the status holds second-precision times (metav1.Time)
				eng.RecordCall(f.r.Account, f.r.Call, f.r.At.Truncate(time.Second), ans, out)
				if !f.answered {
					for _, w := range waiters {
						if w.w.Key == f.waiter {
							w.inFlight, w.done = false, true
						}
					}
				}
			}
			for _, w := range waiters {
				w.queued = false
				w.next = now
			}
		}
		// 3. waiters poll
		order := rng.Perm(len(waiters))
		for _, i := range order {
			w := waiters[i]
			if w.done || w.inFlight || w.arrive.After(now) || w.next.After(now) {
				continue
			}
			if !w.queued {
				eng.Enqueue(w.account, w.w)
				w.queued = true
			}
			pass := now
			if rng.IntN(10) == 0 {
				pass = now.Add(-time.Duration(rng.Int64N(int64(50 * time.Millisecond)))) // stale clock read
			}
			d := eng.Reserve(w.account, w.w.Key, pass)
			if !d.Granted {
				if !d.NotBefore.After(pass) {
					return fmt.Sprintf("seed %d: refused with NotBefore %s <= now %s", seed, d.NotBefore, pass), 0, 0
				}
				w.next = d.NotBefore
				if rng.IntN(3) == 0 { // back a little early (a timer that fires before its time)
					w.next = d.NotBefore.Add(-time.Duration(rng.Int64N(int64(100 * time.Millisecond))))
				}
				continue
			}
			if d.Reservation.At.Before(pass) {
				return fmt.Sprintf("seed %d: granted for %s, before now %s", seed, d.Reservation.At, pass), 0, 0
			}
			w.queued = false
			if rng.IntN(30) == 0 { // the intent write failed: never sent
				eng.Complete(d.Reservation, d.Reservation.At, time.Time{}, Abandoned)
				w.next = now
				continue
			}
			w.inFlight = true
			flights = append(flights, newFlight(rng, eng, d.Reservation, w.w.Key, &sends))
		}
		// 4. status fetches (outside the queue)
		for _, a := range accounts {
			if nextStatus[a].After(now) {
				continue
			}
			d := eng.ReserveCall(a, []Call{CallStatusFetch, CallCreatorInfo}[rng.IntN(2)], now)
			if d.Granted {
				flights = append(flights, newFlight(rng, eng, d.Reservation, "", &sends))
				nextStatus[a] = now.Add(time.Duration(rng.Int64N(int64(5 * time.Second))))
			} else {
				nextStatus[a] = d.NotBefore
			}
		}
		// 5. checkpoints now and then
		if rng.IntN(5) == 0 {
			for _, a := range accounts {
				checkpoint[a] = eng.Snapshot(a)
			}
		}
		// 6. next event time (with the odd clock jump)
		next := end
		for _, f := range flights {
			if !f.answered && f.arrives.Before(next) {
				next = f.arrives
			}
		}
		for _, w := range waiters {
			if w.done || w.inFlight {
				continue
			}
			t := w.next
			if w.arrive.After(t) {
				t = w.arrive
			}
			if t.Before(next) {
				next = t
			}
		}
		for _, a := range accounts {
			if nextStatus[a].Before(next) {
				next = nextStatus[a]
			}
		}
		if !next.After(now) {
			next = now.Add(time.Millisecond)
		}
		if rng.IntN(200) == 0 {
			next = next.Add(time.Duration(rng.Int64N(int64(3 * time.Hour))))
		}
		now = next
		clk.SetTime(now)
	}
	return checkSends(limits, sends), len(sends), restarted
}

func newFlight(rng *rand.Rand, eng *Engine, r Reservation, waiter string, sends *[]sendRec) *simAnswer {
	lat := time.Duration(rng.Int64N(int64(4 * time.Second)))
	if rng.IntN(5) == 0 {
		lat = 0
	}
	f := &simAnswer{eng: eng, r: r, waiter: waiter, sent: r.At, arrives: r.At.Add(lat), outcome: Accepted}
	switch x := rng.IntN(100); {
	case x < 8:
		f.outcome = Rejected
	case x < 15:
		f.outcome = Throttled
	case x < 20:
		f.outcome = Uncertain
	case x < 26:
		f.lost = true
		f.timeout = rng.IntN(2) == 0
	}
	*sends = append(*sends, sendRec{account: r.Account, call: r.Call, sent: r.At, latest: f.arrives,
		inCaps: f.lost || f.outcome.countsInCap()})
	return f
}

// TestNeverOverQuota: thousands of randomized runs (fixed seeds) of arrivals, priorities, publishAt,
// latencies 0-4s, out-of-order and lost answers, 429s, abandoned reservations, restarts from a stale
// checkpoint plus the posts' statuses, stale clock reads and clock jumps. The independent checker must
// find no window of any limit that could hold more than n calls, and no two calls closer than minInterval.
func TestNeverOverQuota(t *testing.T) {
	cases := 5000
	if testing.Short() {
		cases = 500
	}
	total, restarts := 0, 0
	for seed := range uint64(cases) {
		msg, n, r := runSafetyCase(seed)
		if msg != "" {
			t.Fatalf("seed %d: %s", seed, msg)
		}
		total += n
		restarts += r
	}
	if restarts < cases/10 {
		t.Fatalf("only %d restarts in %d cases", restarts, cases)
	}
	if total < cases*5 {
		t.Fatalf("only %d calls in %d cases: the simulation is not exercising the engine", total, cases)
	}
	t.Logf("%d cases, %d calls checked, %d restarts", cases, total, restarts)
}
