package pacing

import (
	"fmt"
	"testing"
	"time"

	testclock "k8s.io/utils/clock/testing"
)

// Others used 7 of the 15 direct posts: the operator's 8th grant fits its own count, TikTok refuses the
// 9th. The refusal is not explained by the own count (8 < 15), so the daily window is held until the
// oldest own post leaves it or the retry interval (1 h) passes, whichever is sooner: every queued direct
// post projects to the hold's end and none is granted before it; inbox posts (another cap) still go. A
// refusal the own count explains (15 own posts) holds nothing.
func TestCapReachedHoldsTheCapWindow(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	clk := testclock.NewFakePassiveClock(t0)
	eng := NewEngine(clk, func() float64 { return 0.5 })
	l := DefaultLimits()
	l.MinInterval, l.PostInit = 0, Limit{Requests: 100, Window: time.Minute}
	eng.Configure("a", l, DefaultBackoff())
	now := t0
	for i := range 8 {
		eng.Enqueue("a", Waiter{Key: fmt.Sprint("p", i), Call: CallDirectVideoInit, Created: t0})
		d := eng.Reserve("a", fmt.Sprint("p", i), now)
		if !d.Granted {
			t.Fatalf("p%d not granted: %+v", i, d)
		}
		eng.Complete(d.Reservation, now, now, Accepted)
		now = now.Add(time.Second)
	}
	eng.Enqueue("a", Waiter{Key: "p8", Call: CallDirectVideoInit, Created: t0})
	d := eng.Reserve("a", "p8", now)
	eng.Complete(d.Reservation, now, now, Rejected)
	until := eng.CapReached("a", CallDirectVideoInit, now, time.Hour)
	if want := now.Add(time.Hour); !until.Equal(want) {
		t.Fatalf("hold until %s, want %s (the retry interval: sooner than the oldest own post's exit)", until, want)
	}
	eng.Enqueue("a", Waiter{Key: "p8", Call: CallDirectVideoInit, Created: t0})
	eng.Enqueue("a", Waiter{Key: "p9", Call: CallDirectVideoInit, Created: t0})
	eng.Enqueue("a", Waiter{Key: "i0", Call: CallInboxVideoInit, Created: t0})
	clk.SetTime(now.Add(time.Minute))
	if d := eng.Reserve("a", "p8", now.Add(time.Minute)); d.Granted || !d.NotBefore.Equal(until) {
		t.Fatalf("held head: %+v, want not before %s", d, until)
	}
	if _, at, _ := eng.Projection("a", "p9"); at.Before(until) {
		t.Fatalf("p9 projected at %s, before the hold's end %s", at, until)
	}
	if d := eng.Reserve("a", "i0", now.Add(time.Minute)); !d.Granted {
		t.Fatalf("an inbox post waits behind the held daily cap: %+v", d)
	} else {
		eng.Complete(d.Reservation, now.Add(time.Minute), now.Add(time.Minute), Accepted)
	}
	if h := eng.CapHold("a", CallDirectPhotoInit, now); !h.Equal(until) {
		t.Fatalf("CapHold %s, want %s", h, until)
	}
	if h := eng.CapHold("a", CallInboxVideoInit, now); !h.IsZero() {
		t.Fatalf("pending cap held: %s", h)
	}
	// The probe: the head alone at the hold's end.
	if d := eng.Reserve("a", "p8", until); !d.Granted {
		t.Fatalf("at the hold's end: %+v", d)
	} else if d2 := eng.Reserve("a", "p9", until); d2.Granted {
		t.Fatalf("a second post went with the probe")
	} else {
		eng.Complete(d.Reservation, until, until, Accepted)
	}
	// Without a retry interval the hold ends when the oldest own post (t0) leaves the window.
	if u := eng.CapReached("a", CallDirectVideoInit, until, 0); !u.Equal(t0.Add(24 * time.Hour)) {
		t.Fatalf("hold until %s, want %s", u, t0.Add(24*time.Hour))
	}
	// Explained by the own count: no hold.
	b := NewEngine(clk, func() float64 { return 0.5 })
	l.DailyPosts.Requests = 2
	b.Configure("b", l, DefaultBackoff())
	for range 2 {
		r := b.ReserveCall("b", CallDirectVideoInit, now)
		b.Complete(r.Reservation, now, now, Accepted)
	}
	if u := b.CapReached("b", CallDirectVideoInit, now, time.Hour); !u.IsZero() {
		t.Fatalf("explained refusal held until %s", u)
	}
}
