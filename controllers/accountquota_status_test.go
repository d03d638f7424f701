package controllers

import (
	"testing"
	"time"

	"golang.org/x/time/rate"
	testclock "k8s.io/utils/clock/testing"
)

// Coalesced AccountQuota writes share the process's budget: accounts that want to write at the same
// instant get successive slots, keep them (no race for each token), and each account still writes at
// most once per AccountStatusInterval.
func TestAccountStatusWriteBudget(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	clk := testclock.NewFakeClock(t0)
	r := &AccountQuotaReconciler{deps: deps{Clock: clk, Options: Options{AccountStatusInterval: 5 * time.Second}},
		writeBudget: rate.NewLimiter(2, 1)} // 2 writes a second
	rts := []*accountRuntime{{}, {}, {}}
	may := func(i int) (bool, time.Time) {
		s := &accountScope{}
		ok := r.mayWriteFigures(s, rts[i])
		return ok, s.requeue
	}
	// At t0 the first account writes; the next two are given the next two slots.
	if ok, _ := may(0); !ok {
		t.Fatal("the first write of the budget refused")
	}
	rts[0].lastWrite, rts[0].writeSlot = t0, time.Time{} // what writeStatus records after the write
	for i, want := range []time.Duration{500 * time.Millisecond, time.Second} {
		if ok, due := may(i + 1); ok || !due.Equal(t0.Add(want)) {
			t.Fatalf("account %d at t0: may %v, due %s; want refused, due +%s", i+1, ok, due.Sub(t0), want)
		}
	}
	// Asking again before its slot changes nothing (the slot is kept, not reserved twice).
	if ok, due := may(2); ok || !due.Equal(t0.Add(time.Second)) {
		t.Fatalf("account 2 asking again: may %v, due +%s; want its slot +1s", ok, due.Sub(t0))
	}
	clk.SetTime(t0.Add(500 * time.Millisecond))
	if ok, _ := may(1); !ok {
		t.Fatal("account 1 refused at its slot")
	}
	if ok, _ := may(2); ok {
		t.Fatal("account 2 allowed before its slot")
	}
	clk.SetTime(t0.Add(time.Second))
	if ok, _ := may(2); !ok {
		t.Fatal("account 2 refused at its slot")
	}
	// The first account wrote at t0: not again before AccountStatusInterval, whatever the budget.
	clk.SetTime(t0.Add(4 * time.Second))
	if ok, due := may(0); ok || !due.Equal(t0.Add(5*time.Second)) {
		t.Fatalf("account 0 at +4s: may %v, due +%s; want refused until +5s", ok, due.Sub(t0))
	}
}

// figuresDue (when a post's phase change wakes its account) names the same time mayWriteFigures gives
// an account it refuses: the wake-up comes when the write may go, not before.
func TestFiguresDueIsWhenTheWriteMayGo(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	clk := testclock.NewFakeClock(t0)
	const interval = 5 * time.Second
	reg := newAccountRegistry(nil, nil, clk.Now)
	r := &AccountQuotaReconciler{deps: deps{Clock: clk, Accounts: reg, Options: Options{AccountStatusInterval: interval}},
		writeBudget: rate.NewLimiter(1, 1)} // 1 write a second
	if due := reg.figuresDue(accountKeyOf("ns", "unknown"), interval); !due.IsZero() {
		t.Fatalf("an unknown account is due at %s, want zero", due)
	}
	accounts := []accountKey{accountKeyOf("ns", "a"), accountKeyOf("ns", "b"), accountKeyOf("ns", "c")}
	for _, acct := range accounts {
		if due := reg.figuresDue(acct, interval); !due.IsZero() {
			t.Fatalf("%s before anything: due %s, want zero", acct, due)
		}
	}
	// a writes at t0; b and c are refused and given the next turns of the budget.
	for i, acct := range accounts {
		rt := reg.runtime(acct)
		s := &accountScope{}
		ok := r.mayWriteFigures(s, rt)
		if i == 0 {
			if !ok {
				t.Fatal("the first write of the budget refused")
			}
			rt.lastWrite, rt.writeSlot = t0, time.Time{}
			continue
		}
		if ok {
			t.Fatalf("%s allowed beyond the budget", acct)
		}
		if due := reg.figuresDue(acct, interval); !due.Equal(s.requeue) || !due.Equal(t0.Add(time.Duration(i)*time.Second)) {
			t.Errorf("%s: figuresDue +%s, mayWriteFigures due +%s; want both +%ds", acct, due.Sub(t0), s.requeue.Sub(t0), i)
		}
	}
	// a wrote at t0: its next write waits for the interval.
	if due := reg.figuresDue(accounts[0], interval); !due.Equal(t0.Add(interval)) {
		t.Errorf("ns/a: due +%s, want +%s (its last write plus the interval)", due.Sub(t0), interval)
	}
}
