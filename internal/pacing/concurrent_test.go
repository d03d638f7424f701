package pacing

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	testclock "k8s.io/utils/clock/testing"
)

// Many reconcile goroutines on a few accounts, each reading a shared clock before taking the account's
// lock (so they pass slightly stale times in any order). The checker must still find no violation.
func TestConcurrentUse(t *testing.T) {
	t0 := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	e := NewEngine(testclock.NewFakePassiveClock(t0), nil)
	l := DefaultLimits()
	l.MinInterval = 100 * time.Millisecond
	accts := []string{"a", "b", "c"}
	limits := map[string]Limits{}
	for _, a := range accts {
		e.Configure(a, l, DefaultBackoff())
		limits[a] = l
	}
	var clock atomic.Int64 // virtual nanoseconds since t0
	var mu sync.Mutex
	var sends []sendRec
	var wg sync.WaitGroup
	ops := 3000
	if testing.Short() {
		ops = 500
	}
	for g := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for range ops {
				now := t0.Add(time.Duration(clock.Add(int64(rng.IntN(50)) * int64(time.Millisecond))))
				acct := accts[rng.IntN(len(accts))]
				call := kindCalls[1+rng.IntN(int(numKinds)-1)]
				d := e.ReserveCall(acct, call, now)
				if !d.Granted {
					continue
				}
				ans := d.Reservation.At.Add(time.Duration(rng.IntN(3)) * time.Second)
				mu.Lock()
				sends = append(sends, sendRec{account: acct, call: call, sent: d.Reservation.At, latest: ans, inCaps: true})
				mu.Unlock()
				e.Complete(d.Reservation, d.Reservation.At, ans, Accepted)
			}
		})
	}
	wg.Wait()
	if len(sends) < 50 {
		t.Fatalf("only %d sends", len(sends))
	}
	if msg := checkSends(limits, sends); msg != "" {
		t.Fatal(msg)
	}
}
