package pacing

import (
	"testing"
	"time"

	testclock "k8s.io/utils/clock/testing"
)

// TestOneInitAtATime: a queued init is not granted while another init of the account is out, even when
// the windows and minInterval allow it; it is once that call completes (whatever the outcome, abandoned
// included); a reservation never completed stops holding the queue back after the in-flight bound. A
// status fetch is not held back.
func TestOneInitAtATime(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	for _, out := range []Outcome{Accepted, Throttled, Rejected, Uncertain, Abandoned} {
		t.Run(out.String(), func(t *testing.T) {
			l := DefaultLimits()
			l.MinInterval = 0
			e := queuedEngine(t0, l, "p1", "p2")
			d1 := e.Reserve("a", "p1", t0)
			if !d1.Granted {
				t.Fatalf("first init not granted: %+v", d1)
			}
			d2 := e.Reserve("a", "p2", t0.Add(time.Second))
			if d2.Granted {
				t.Fatal("second init granted while the first is out")
			}
			if want := t0.Add(time.Second + time.Duration(initBusyRecheck)); !d2.NotBefore.Equal(want) {
				t.Errorf("held back until %s, want the recheck %s", d2.NotBefore, want)
			}
			if d := e.ReserveCall("a", CallStatusFetch, t0.Add(time.Second)); !d.Granted {
				t.Errorf("a status fetch is held back by an init out: %+v", d)
			}
			e.Complete(d1.Reservation, d1.Reservation.At, t0.Add(2*time.Second), out)
			if out == Throttled {
				return // the cooldown decides now (adaptive_test.go)
			}
			if d := e.Reserve("a", "p2", t0.Add(2*time.Second)); !d.Granted {
				t.Fatalf("second init not granted once the first completed (%s): %+v", out, d)
			}
		})
	}

	t.Run("never completed", func(t *testing.T) {
		e := NewEngine(testclock.NewFakePassiveClock(t0), nil)
		e.SetMaxInFlight(10 * time.Second) // before the account is configured: it takes the bound then
		queueOn(e, t0, DefaultLimits(), "p1", "p2")
		if d := e.Reserve("a", "p1", t0); !d.Granted {
			t.Fatalf("first init not granted: %+v", d)
		}
		if d := e.Reserve("a", "p2", t0.Add(9*time.Second)); d.Granted {
			t.Fatal("granted inside the in-flight bound")
		}
		if d := e.Reserve("a", "p2", t0.Add(11*time.Second)); !d.Granted {
			t.Fatalf("a reservation never completed holds the queue back past the in-flight bound: %+v", d)
		}
	})
}

// queuedEngine is an engine (fake clock at t0, jitter 0.5) with account "a" configured with l and the keys
// queued in order, all direct video inits created at t0.
func queuedEngine(t0 time.Time, l Limits, keys ...string) *Engine {
	e := NewEngine(testclock.NewFakePassiveClock(t0), func() float64 { return 0.5 })
	queueOn(e, t0, l, keys...)
	return e
}

// queueOn configures account "a" of e with l and queues keys on it (direct video inits created at t0).
func queueOn(e *Engine, t0 time.Time, l Limits, keys ...string) {
	e.Configure("a", l, DefaultBackoff())
	for _, k := range keys {
		e.Enqueue("a", Waiter{Key: k, Name: k, Created: t0, Call: CallDirectVideoInit})
	}
}

// TestSpacingCountsFromTheSend: minInterval counts from when a call really left (Complete's sent), not
// from its grant: the controller writes an init's intent between the two, and a slow write would
// otherwise bring the next send closer than minInterval to this one.
func TestSpacingCountsFromTheSend(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	l := DefaultLimits()
	l.MinInterval = 100 * time.Millisecond
	e := queuedEngine(t0, l, "p1", "p2")
	d1 := e.Reserve("a", "p1", t0)
	if !d1.Granted {
		t.Fatalf("first init not granted: %+v", d1)
	}
	e.Complete(d1.Reservation, ms(30), ms(40), Accepted) // the intent write took 30 ms
	d2 := e.Reserve("a", "p2", ms(100))
	if d2.Granted {
		t.Fatal("granted 70 ms after the first call left")
	}
	if !d2.NotBefore.Equal(ms(130)) {
		t.Errorf("next slot %s after t0, want 130ms (the send plus minInterval)", d2.NotBefore.Sub(t0))
	}
	if d := e.ReserveCall("a", CallStatusFetch, ms(120)); d.Granted {
		t.Error("a status fetch granted 90 ms after the init left")
	}
	if d := e.Reserve("a", "p2", ms(130)); !d.Granted {
		t.Fatalf("not granted at the send plus minInterval: %+v", d)
	}
}
