package pacing

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	testclock "k8s.io/utils/clock/testing"
)

// A naive model of the documented rules, written without the engine's code: it is what the fairness and
// full-use tests compare the engine with.

type naiveCall struct {
	call Call
	sent time.Time
	ans  time.Time // zero: not answered yet
}

// naiveEarliest is the first instant >= t at which call may be sent given the history known at t.
func naiveEarliest(l Limits, hist []naiveCall, call Call, t time.Time, maxInFlight time.Duration) time.Time {
	end := func(h naiveCall, w time.Duration) time.Time {
		if h.ans.IsZero() {
			return h.sent.Add(maxInFlight + w)
		}
		return h.ans.Add(w)
	}
	mine := limitsOf(l, sendRec{call: call, inCaps: true})
	cands := []time.Time{t}
	var last time.Time
	for _, h := range hist {
		if h.sent.After(last) {
			last = h.sent
		}
		for name, lim := range limitsOf(l, sendRec{call: h.call, inCaps: true}) {
			if _, ok := mine[name]; ok {
				cands = append(cands, end(h, lim.Window))
			}
		}
	}
	if !last.IsZero() {
		cands = append(cands, last.Add(l.MinInterval))
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].Before(cands[j]) })
	for _, tau := range cands {
		if tau.Before(t) || (!last.IsZero() && tau.Before(last.Add(l.MinInterval))) {
			continue
		}
		ok := true
		for name, lim := range mine {
			n := 0
			for _, h := range hist {
				if _, in := limitsOf(l, sendRec{call: h.call, inCaps: true})[name]; in && end(h, lim.Window).After(tau) {
					n++
				}
			}
			if n >= lim.Requests {
				ok = false
			}
		}
		if ok {
			return tau
		}
	}
	panic("no candidate")
}

// naiveBefore is the documented queue order.
func naiveBefore(x, y Waiter) bool {
	if x.Priority != y.Priority {
		return x.Priority > y.Priority
	}
	if !x.PublishAt.Equal(y.PublishAt) {
		return x.PublishAt.Before(y.PublishAt)
	}
	if !x.Created.Equal(y.Created) {
		return x.Created.Before(y.Created)
	}
	return x.Name < y.Name
}

func shareWindow(l Limits, a, b Call) bool {
	ma := limitsOf(l, sendRec{call: a, inCaps: true})
	for name := range limitsOf(l, sendRec{call: b, inCaps: true}) {
		if _, ok := ma[name]; ok {
			return true
		}
	}
	return false
}

// runFairCase: waiters of all four init kinds with random priorities, arrivals and publishAt, polled in
// random order at every event. At every grant, no waiter ahead in order that was ready may share a window
// with the granted one or be able to send within minInterval (else it waited behind a lower priority). After
// every instant, no ready waiter may have been left idle while the naive model says it could go.
func runFairCase(seed uint64) string {
	rng := rand.New(rand.NewPCG(seed, 99))
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	clk := testclock.NewFakePassiveClock(t0)
	eng := NewEngine(clk, rand.New(rand.NewPCG(seed, 1)).Float64)
	const mif = time.Minute
	eng.SetMaxInFlight(mif)
	l := randomLimits(rng)
	l.DailyPosts, l.PendingShares = Limit{1000, 24 * time.Hour}, Limit{1000, 24 * time.Hour}
	eng.Configure("a", l, DefaultBackoff())
	type fw struct {
		w        Waiter
		arrive   time.Time
		queued   bool
		inFlight bool
		done     bool
	}
	var ws []*fw
	for i := range 4 + rng.IntN(25) {
		arrive := t0.Add(time.Duration(rng.Int64N(int64(3 * time.Minute))))
		w := Waiter{Key: fmt.Sprint(i), Priority: int32(rng.IntN(3)), Created: arrive, Name: fmt.Sprintf("p%02d", i),
			Call: initCalls[rng.IntN(len(initCalls))]}
		if rng.IntN(3) == 0 {
			w.PublishAt = arrive.Add(time.Duration(rng.Int64N(int64(2 * time.Minute))))
		}
		ws = append(ws, &fw{w: w, arrive: arrive})
	}
	var hist []naiveCall
	type answer struct {
		r  Reservation
		at time.Time
		i  int
	}
	var answers []answer
	ready := func(x *fw, t time.Time) bool {
		return x.queued && !x.arrive.After(t) && !x.w.PublishAt.After(t)
	}
	known := func(t time.Time) []naiveCall {
		out := make([]naiveCall, len(hist))
		copy(out, hist)
		for i := range out {
			if out[i].ans.After(t) {
				out[i].ans = time.Time{}
			}
		}
		return out
	}
	now := t0
	for step := 0; step < 100000; step++ {
		clk.SetTime(now)
		for _, a := range answers {
			if a.at.Equal(now) {
				eng.Complete(a.r, a.r.At, a.at, Accepted)
				ws[a.i].inFlight, ws[a.i].done = false, true
			}
		}
		next := time.Time{}
		upd := func(t time.Time) {
			if t.After(now) && (next.IsZero() || t.Before(next)) {
				next = t
			}
		}
		for granted := true; granted; {
			granted = false
			for _, i := range rng.Perm(len(ws)) {
				x := ws[i]
				if x.done || x.inFlight || x.arrive.After(now) {
					upd(x.arrive)
					continue
				}
				if !x.queued {
					eng.Enqueue("a", x.w)
					x.queued = true
				}
				d := eng.Reserve("a", x.w.Key, now)
				if !d.Granted {
					upd(d.NotBefore)
					continue
				}
				kh := known(now)
				for _, y := range ws {
					if y == x || !ready(y, now) || !naiveBefore(y.w, x.w) {
						continue
					}
					if shareWindow(l, y.w.Call, x.w.Call) {
						return fmt.Sprintf("%s (prio %d) granted at %s while %s (prio %d) ahead shares its window", x.w.Name, x.w.Priority, now, y.w.Name, y.w.Priority)
					}
					if e := naiveEarliest(l, kh, y.w.Call, now, mif); e.Before(now.Add(max(l.MinInterval, 1))) {
						return fmt.Sprintf("%s granted at %s delays %s ahead of it (could go at %s)", x.w.Name, now, y.w.Name, e)
					}
				}
				granted = true
				x.queued, x.inFlight = false, true
				lat := time.Duration(rng.Int64N(int64(3 * time.Second)))
				hist = append(hist, naiveCall{call: x.w.Call, sent: d.Reservation.At, ans: d.Reservation.At.Add(lat)})
				answers = append(answers, answer{r: d.Reservation, at: d.Reservation.At.Add(lat), i: i})
				upd(d.Reservation.At.Add(lat))
			}
		}
		// no idle slot: every ready waiter left waiting is blocked by the naive model or by one ahead
		// (or by an init still out: they go one at a time)
		kh := known(now)
		out := false
		for _, x := range ws {
			out = out || x.inFlight
		}
		for _, x := range ws {
			if out {
				break
			}
			if !ready(x, now) || x.inFlight || x.done {
				continue
			}
			if !naiveEarliest(l, kh, x.w.Call, now, mif).Equal(now) {
				continue
			}
			blocked := false
			for _, y := range ws {
				if y != x && ready(y, now) && naiveBefore(y.w, x.w) &&
					(shareWindow(l, y.w.Call, x.w.Call) || naiveEarliest(l, kh, y.w.Call, now, mif).Before(now.Add(max(l.MinInterval, 1)))) {
					blocked = true
				}
			}
			if !blocked {
				return fmt.Sprintf("%s could go at %s but was left waiting", x.w.Name, now)
			}
		}
		for _, a := range answers {
			upd(a.at)
		}
		if next.IsZero() {
			break
		}
		now = next
	}
	for _, x := range ws {
		if !x.done {
			return fmt.Sprintf("%s never published", x.w.Name)
		}
	}
	return ""
}

func TestFairAndWorkConserving(t *testing.T) {
	cases := 1000
	if testing.Short() {
		cases = 150
	}
	for seed := range uint64(cases) {
		if msg := runFairCase(seed); msg != "" {
			t.Fatalf("seed %d: %s", seed, msg)
		}
	}
}
