package pacing

import (
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

func TestHeadIsTheFirstEligibleWaiterInOrder(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	e := NewEngine(clocktesting.NewFakeClock(t0), func() float64 { return 0.5 })
	e.Configure("a", DefaultLimits(), DefaultBackoff())
	if _, ok := e.Head("a", t0); ok {
		t.Fatal("an empty queue has a head")
	}
	e.Enqueue("a", Waiter{Key: "low", Priority: 0, Created: t0, Name: "low", Call: CallDirectVideoInit})
	e.Enqueue("a", Waiter{Key: "later", Priority: 9, PublishAt: t0.Add(time.Hour), Created: t0, Name: "later", Call: CallDirectVideoInit})
	e.Enqueue("a", Waiter{Key: "high", Priority: 5, Created: t0.Add(time.Second), Name: "high", Call: CallDirectVideoInit})
	tests := []struct {
		now  time.Time
		want string
	}{
		{t0, "high"},                     // "later" outranks it but is not due yet
		{t0.Add(2 * time.Hour), "later"}, // now it is
	}
	for _, tt := range tests {
		if got, ok := e.Head("a", tt.now); !ok || got != tt.want {
			t.Errorf("Head at %s = %q, %v; want %q", tt.now.Sub(t0), got, ok, tt.want)
		}
	}
	e.Remove("a", "high")
	if got, _ := e.Head("a", t0); got != "low" {
		t.Errorf("after removing the head, Head = %q, want low", got)
	}
}
