package pacing

import (
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

// TestStatusCallsYieldToADueInit: a status fetch never takes the minInterval gap an init is due in,
// and a due init that does not ask stops holding it back after the grace.
func TestStatusCallsYieldToADueInit(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	lim := DefaultLimits() // minInterval 1s
	tests := []struct {
		name      string
		at        time.Duration // when the status fetch asks, after the first init
		granted   bool
		notBefore time.Duration
	}{
		{"inside minInterval: waits for it anyway", 500 * time.Millisecond, false, time.Second},
		{"the init is due now: yields until after it", time.Second, false, 2 * time.Second},
		{"within the grace: still yields", time.Second + 200*time.Millisecond, false, 2*time.Second + 200*time.Millisecond},
		{"the init is late past the grace: goes", time.Second + 600*time.Millisecond, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := queuedEngine(t0, lim, "p1", "p2")
			d := e.Reserve("a", "p1", t0)
			if !d.Granted {
				t.Fatalf("the first init was not granted: %+v", d)
			}
			e.Complete(d.Reservation, t0, t0.Add(10*time.Millisecond), Accepted)
			got := e.ReserveCall("a", CallStatusFetch, t0.Add(tt.at))
			if got.Granted != tt.granted {
				t.Fatalf("granted = %v, want %v (%+v)", got.Granted, tt.granted, got)
			}
			if !tt.granted && !got.NotBefore.Equal(t0.Add(tt.notBefore)) {
				t.Errorf("NotBefore = +%s, want +%s", got.NotBefore.Sub(t0), tt.notBefore)
			}
			if !tt.granted {
				// The init it yielded to still gets its slot on time.
				if d := e.Reserve("a", "p2", t0.Add(max(tt.at, time.Second))); !d.Granted {
					t.Errorf("the init did not get the slot the status call yielded: %+v", d)
				}
			}
		})
	}
}

// TestStatusCallsDoNotYieldToAnEmptyOrDistantQueue: with no init due within minInterval, nothing waits.
func TestStatusCallsDoNotYieldToAnEmptyOrDistantQueue(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	e := NewEngine(clocktesting.NewFakeClock(t0), func() float64 { return 0.5 })
	e.Configure("a", DefaultLimits(), DefaultBackoff())
	if d := e.ReserveCall("a", CallStatusFetch, t0); !d.Granted {
		t.Fatalf("empty queue: %+v", d)
	}
	e.Enqueue("a", Waiter{Key: "later", PublishAt: t0.Add(time.Hour), Created: t0, Name: "later", Call: CallDirectVideoInit})
	if d := e.ReserveCall("a", CallStatusFetch, t0.Add(2*time.Second)); !d.Granted {
		t.Fatalf("a waiter an hour away held a status call back: %+v", d)
	}
}
