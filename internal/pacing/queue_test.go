package pacing

import (
	"fmt"
	"testing"
	"time"

	testclock "k8s.io/utils/clock/testing"
)

func TestProjectionOfABacklog(t *testing.T) {
	t0 := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	clk := testclock.NewFakePassiveClock(t0)
	e := NewEngine(clk, nil)
	l := DefaultLimits()
	l.DailyPosts.Requests = 1000
	e.Configure("a", l, DefaultBackoff())
	for i := range 20 {
		e.Enqueue("a", Waiter{Key: fmt.Sprint(i), Created: t0.Add(time.Duration(i) * time.Second), Name: fmt.Sprint(i), Call: CallDirectVideoInit})
	}
	// 6 per minute, 1s apart: 0..5s, 60..65s, 120..125s, 180, 181
	for i := range 20 {
		pos, at, ok := e.Projection("a", fmt.Sprint(i))
		want := t0.Add(time.Duration(i/6)*time.Minute + time.Duration(i%6)*time.Second)
		if !ok || pos != i || !at.Equal(want) {
			t.Fatalf("waiter %d: position %d at +%s (ok %v); want %d at +%s", i, pos, at.Sub(t0), ok, i, want.Sub(t0))
		}
	}
	runs := e.get("a").q.runs
	for range 100 {
		e.Projection("a", "7")
	}
	if got := e.get("a").q.runs; got != runs {
		t.Fatalf("projection recomputed %d times without any change", got-runs)
	}
	// idempotent enqueue changes nothing
	e.Enqueue("a", Waiter{Key: "3", Created: t0.Add(3 * time.Second), Name: "3", Call: CallDirectVideoInit})
	if got := e.get("a").q.runs; got != runs {
		t.Fatal("an idempotent Enqueue invalidated the projection")
	}
	// a higher priority post goes to the front and pushes everyone back by one slot
	e.Enqueue("a", Waiter{Key: "vip", Priority: 5, Created: t0.Add(time.Hour), Name: "vip", Call: CallDirectVideoInit})
	if pos, at, _ := e.Projection("a", "vip"); pos != 0 || !at.Equal(t0) {
		t.Fatalf("vip at %d +%s", pos, at.Sub(t0))
	}
	if pos, at, _ := e.Projection("a", "5"); pos != 6 || !at.Equal(t0.Add(time.Minute)) {
		t.Fatalf("waiter 5 after vip: %d +%s; want 6 at +1m", pos, at.Sub(t0))
	}
	// only the head is granted
	if d := e.Reserve("a", "0", t0); d.Granted || d.Position != 1 {
		t.Fatalf("non-head granted or wrong position: %+v", d)
	}
	if d := e.Reserve("a", "vip", t0); !d.Granted {
		t.Fatalf("head not granted: %+v", d)
	}
	if d := e.Reserve("a", "nobody", t0); d.Position != -1 || d.Granted {
		t.Fatalf("unknown key: %+v", d)
	}
	e.Remove("a", "0")
	if _, _, ok := e.Projection("a", "0"); ok {
		t.Fatal("removed waiter still projected")
	}
	if e.QueueLen("a") != 19 {
		t.Fatalf("queue length %d", e.QueueLen("a"))
	}
}

// A post whose publishAt has not come does not hold the queue; a direct post parked on a full daily cap
// does not hold an inbox draft; but a ready higher priority of the same window does.
func TestQueueReadiness(t *testing.T) {
	t0 := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	e := NewEngine(testclock.NewFakePassiveClock(t0), nil)
	l := DefaultLimits()
	l.DailyPosts.Requests = 1
	e.Configure("a", l, DefaultBackoff())
	d := e.ReserveCall("a", CallDirectVideoInit, t0.Add(-time.Hour)) // uses the only daily post
	e.Complete(d.Reservation, d.Reservation.At, d.Reservation.At, Accepted)
	e.Enqueue("a", Waiter{Key: "later", Priority: 9, PublishAt: t0.Add(time.Hour), Name: "later", Call: CallInboxVideoInit})
	e.Enqueue("a", Waiter{Key: "direct", Priority: 5, Name: "direct", Call: CallDirectVideoInit})
	e.Enqueue("a", Waiter{Key: "inbox", Priority: 1, Name: "inbox", Call: CallInboxVideoInit})
	if d := e.Reserve("a", "direct", t0); d.Granted || !d.NotBefore.Equal(t0.Add(-time.Hour).Add(24*time.Hour)) {
		t.Fatalf("direct post with a full daily cap: %+v; want NotBefore when the cap frees", d)
	}
	d = e.Reserve("a", "inbox", t0)
	if !d.Granted {
		t.Fatalf("inbox draft held behind a parked direct post or a future post: %+v", d)
	}
	e.Complete(d.Reservation, d.Reservation.At, d.Reservation.At, Accepted)
	if pos, at, _ := e.Projection("a", "later"); pos != 0 || !at.Equal(t0.Add(time.Hour)) {
		t.Fatalf("future post projected at %d +%s", pos, at.Sub(t0))
	}
	e.Enqueue("a", Waiter{Key: "inbox2", Priority: 0, Name: "inbox2", Call: CallInboxVideoInit})
	e.Enqueue("a", Waiter{Key: "inbox3", Priority: 2, Name: "inbox3", Call: CallInboxVideoInit})
	if d := e.Reserve("a", "inbox2", t0.Add(2*time.Second)); d.Granted {
		t.Fatal("lower priority granted before a ready higher priority of the same window")
	}
	if d := e.Reserve("a", "inbox3", t0.Add(2*time.Second)); !d.Granted {
		t.Fatalf("head not granted: %+v", d)
	}
}
