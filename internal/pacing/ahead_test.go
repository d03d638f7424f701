package pacing

import (
	"testing"
	"time"
)

// TestReserveAhead: a head asking with a look-ahead is granted for the instant its slot opens when that
// is within the lead (minInterval after the last send, the window's first free slot, publishAt), and
// not when it is further; a lead never grants what Reserve at that instant would refuse (an init out,
// a waiter ahead in the queue).
func TestReserveAhead(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	lead := 10 * time.Millisecond

	t.Run("minInterval", func(t *testing.T) {
		l := DefaultLimits()
		l.MinInterval = 100 * time.Millisecond
		e := queuedEngine(t0, l, "p1", "p2")
		d1 := e.Reserve("a", "p1", t0)
		e.Complete(d1.Reservation, ms(5), ms(20), Accepted)
		if d := e.ReserveAhead("a", "p2", ms(90), lead); d.Granted {
			t.Fatalf("granted 15 ms ahead with a 10 ms lead: %+v", d)
		} else if !d.NotBefore.Equal(ms(105)) {
			t.Errorf("next slot %s, want 105ms", d.NotBefore.Sub(t0))
		}
		d := e.ReserveAhead("a", "p2", ms(97), lead)
		if !d.Granted {
			t.Fatalf("not granted 8 ms ahead with a 10 ms lead: %+v", d)
		}
		if !d.Reservation.At.Equal(ms(105)) {
			t.Errorf("granted for %s, want the slot itself (105ms)", d.Reservation.At.Sub(t0))
		}
		// The early grant counts as sent at its slot: the next call is spaced from it.
		if c := e.ReserveCall("a", CallStatusFetch, ms(106)); c.Granted || !c.NotBefore.Equal(ms(205)) {
			t.Errorf("status fetch after the early grant: %+v, want not before 205ms", c)
		}
	})

	t.Run("window", func(t *testing.T) {
		l := DefaultLimits()
		l.MinInterval = 0
		l.PostInit = Limit{Requests: 2, Window: time.Second}
		e := queuedEngine(t0, l, "p1", "p2", "p3")
		for i, k := range []string{"p1", "p2"} {
			d := e.Reserve("a", k, ms(i*10))
			if !d.Granted {
				t.Fatalf("%s not granted: %+v", k, d)
			}
			e.Complete(d.Reservation, ms(i*10), ms(i*10+4), Accepted)
		}
		// p1's answer at 4ms leaves the window at 1004ms.
		if d := e.ReserveAhead("a", "p3", ms(990), lead); d.Granted {
			t.Fatalf("granted 14 ms before the window frees: %+v", d)
		}
		d := e.ReserveAhead("a", "p3", ms(996), lead)
		if !d.Granted || !d.Reservation.At.Equal(ms(1004)) {
			t.Fatalf("got %+v, want granted for 1004ms", d)
		}
	})

	t.Run("publishAt", func(t *testing.T) {
		e := queuedEngine(t0, DefaultLimits())
		e.Enqueue("a", Waiter{Key: "p", Name: "p", Created: t0, PublishAt: ms(500), Call: CallDirectVideoInit})
		if d := e.ReserveAhead("a", "p", ms(480), lead); d.Granted {
			t.Fatalf("granted 20 ms before publishAt: %+v", d)
		}
		if d := e.ReserveAhead("a", "p", ms(495), lead); !d.Granted || !d.Reservation.At.Equal(ms(500)) {
			t.Fatalf("got %+v, want granted for publishAt", d)
		}
	})

	t.Run("an init out", func(t *testing.T) {
		l := DefaultLimits()
		l.MinInterval = 100 * time.Millisecond
		e := queuedEngine(t0, l, "p1", "p2")
		e.Reserve("a", "p1", t0) // out, never answered within the test
		if d := e.ReserveAhead("a", "p2", ms(95), lead); d.Granted {
			t.Fatalf("granted while an init is out: %+v", d)
		}
	})

	t.Run("not the head", func(t *testing.T) {
		l := DefaultLimits()
		l.MinInterval = 100 * time.Millisecond
		e := queuedEngine(t0, l, "p1", "p2", "p3")
		d1 := e.Reserve("a", "p1", t0)
		e.Complete(d1.Reservation, t0, ms(1), Accepted)
		if d := e.ReserveAhead("a", "p3", ms(95), lead); d.Granted {
			t.Fatalf("p3 granted ahead of p2: %+v", d)
		}
	})
}
