package pacing

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	testclock "k8s.io/utils/clock/testing"
)

func usedOf(e *Engine, acct string, now time.Time) map[string]int {
	m := map[string]int{}
	for _, u := range e.Usage(acct, now) {
		m[u.Name] = u.Used
	}
	return m
}

// busyEngine returns an engine with a day of mixed traffic on account "a".
func busyEngine(t *testing.T, clk *testclock.FakePassiveClock, seed uint64) (*Engine, time.Time) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 4))
	e := NewEngine(clk, rng.Float64)
	e.Configure("a", DefaultLimits(), DefaultBackoff())
	now := clk.Now()
	for range 400 {
		now = now.Add(time.Duration(rng.Int64N(int64(20 * time.Second))))
		clk.SetTime(now)
		call := kindCalls[1+rng.IntN(int(numKinds)-1)]
		d := e.ReserveCall("a", call, now)
		if !d.Granted {
			continue
		}
		switch rng.IntN(6) {
		case 0: // in flight, never answered
		case 1:
			e.Complete(d.Reservation, now, now.Add(time.Second), Rejected)
		default:
			e.Complete(d.Reservation, now, now.Add(time.Duration(rng.Int64N(int64(3*time.Second)))), Accepted)
		}
	}
	return e, now
}

func TestSnapshotRestoreRoundTrip(t *testing.T) {
	t0 := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	for seed := range uint64(20) {
		clk := testclock.NewFakePassiveClock(t0)
		e, now := busyEngine(t, clk, seed)
		e.Throttled("a", CallDirectVideoInit, now, 3*time.Second)
		s := e.Snapshot("a")
		raw, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var back State
		if err := json.Unmarshal(raw, &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(s, back) {
			t.Fatalf("seed %d: JSON round trip changed the state", seed)
		}
		f := NewEngine(clk, nil)
		f.Configure("a", DefaultLimits(), DefaultBackoff())
		f.Restore("a", back)
		later := now.Add(5 * time.Minute) // after the restart guard
		if got, want := usedOf(f, "a", later), usedOf(e, "a", later); !reflect.DeepEqual(got, want) {
			t.Fatalf("seed %d: restored usage %v, original %v", seed, got, want)
		}
		u1, c1 := e.Cooldown("a")
		u2, c2 := f.Cooldown("a")
		if !u1.Equal(u2) || c1 != c2 {
			t.Fatalf("seed %d: cooldown %s/%d restored as %s/%d", seed, u1, c1, u2, c2)
		}
		// restoring twice, or into the engine it came from, does not double-count
		f.Restore("a", back)
		e.Restore("a", back)
		if got, want := usedOf(f, "a", later), usedOf(e, "a", later); !reflect.DeepEqual(got, want) {
			t.Fatalf("seed %d: after restoring twice %v, want %v", seed, got, want)
		}
		if len(raw) > 8192 {
			t.Fatalf("seed %d: checkpoint is %d bytes", seed, len(raw))
		}
	}
}

// Restoring never loses a call: a checkpoint merged into an engine that knows other calls keeps both.
func TestRestoreMergesWithoutLoss(t *testing.T) {
	t0 := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	clk := testclock.NewFakePassiveClock(t0)
	a := NewEngine(clk, nil)
	a.Configure("x", DefaultLimits(), DefaultBackoff())
	d := a.ReserveCall("x", CallDirectVideoInit, t0)
	a.Complete(d.Reservation, t0, t0.Add(time.Second), Accepted)
	s := a.Snapshot("x")
	b := NewEngine(clk, nil)
	b.Configure("x", DefaultLimits(), DefaultBackoff())
	d2 := b.ReserveCall("x", CallDirectVideoInit, t0.Add(2*time.Second))
	if !d2.Granted {
		t.Fatal("not granted")
	}
	b.Restore("x", s)
	if u := usedOf(b, "x", t0.Add(3*time.Second)); u["postInit/video"] != 2 || u["dailyPosts"] != 2 {
		t.Fatalf("merged usage %v, want 2 video inits and 2 daily posts", u)
	}
}

// RecordCall rebuilds the windows from posts' statuses (second precision), recognises a call already
// restored from the checkpoint, is idempotent, and holds unanswered calls until sent+MaxInFlight+window.
func TestRecordCall(t *testing.T) {
	t0 := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	clk := testclock.NewFakePassiveClock(t0.Add(10 * time.Second))
	e := NewEngine(clk, nil)
	e.Configure("a", DefaultLimits(), DefaultBackoff())
	sent := t0.Add(1234 * time.Millisecond)
	e.Restore("a", State{Calls: []CallRecord{{ID: 77, Call: CallDirectVideoInit, Sent: sent.UnixNano()}}})
	// the post's status: start and end at second precision
	for range 2 {
		e.RecordCall("a", CallDirectVideoInit, sent.Truncate(time.Second), t0.Add(2*time.Second), Accepted)
	}
	// and an unanswered inbox init
	e.RecordCall("a", CallInboxVideoInit, t0.Add(5*time.Second), time.Time{}, Pending)
	u := usedOf(e, "a", t0.Add(10*time.Second))
	if u["postInit/video"] != 1 || u["dailyPosts"] != 1 || u["postInit/inbox"] != 1 || u["pendingShares"] != 1 {
		t.Fatalf("usage %v: want one of each", u)
	}
	// the answered one (padded to 00:00:03) leaves its minute window at 00:01:03
	if u := usedOf(e, "a", t0.Add(62*time.Second)); u["postInit/video"] != 1 {
		t.Fatalf("video init left too early: %v", u)
	}
	if u := usedOf(e, "a", t0.Add(63*time.Second)); u["postInit/video"] != 0 {
		t.Fatalf("video init still counted after answer+pad+window: %v", u)
	}
	// the unanswered one holds until sent + MaxInFlight + window
	hold := t0.Add(5*time.Second + DefaultMaxInFlight + time.Minute)
	if u := usedOf(e, "a", hold.Add(-time.Nanosecond)); u["postInit/inbox"] != 1 {
		t.Fatalf("unanswered init freed before the in-flight bound: %v", u)
	}
	if u := usedOf(e, "a", hold); u["postInit/inbox"] != 0 || u["pendingShares"] != 1 {
		t.Fatalf("at the in-flight bound: %v; want the minute window free, the 24h cap still held", u)
	}
}

// Invariant "restart-safe pacing": right after a restart, status fetches wait for the guard; init calls
// are rebuilt exactly.
func TestRestartGuard(t *testing.T) {
	t0 := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	clk := testclock.NewFakePassiveClock(t0)
	e := NewEngine(clk, nil)
	e.Configure("a", DefaultLimits(), DefaultBackoff())
	e.Restore("a", State{})
	d := e.ReserveCall("a", CallStatusFetch, t0)
	want := t0.Add(DefaultMaxInFlight + time.Minute)
	if d.Granted || !d.NotBefore.Equal(want) {
		t.Fatalf("status fetch right after restore: %+v; want NotBefore %s", d, want)
	}
	if d := e.ReserveCall("a", CallDirectVideoInit, t0); d.Granted {
		t.Fatal("first call granted without minInterval after the restart")
	}
	if d := e.ReserveCall("a", CallDirectVideoInit, t0.Add(time.Second)); !d.Granted {
		t.Fatalf("init call not granted a minInterval after restart: %+v", d)
	}
}

func TestForgetAndConfigureKeepHistory(t *testing.T) {
	t0 := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	clk := testclock.NewFakePassiveClock(t0)
	e := NewEngine(clk, nil)
	e.Configure("a", DefaultLimits(), DefaultBackoff())
	d := e.ReserveCall("a", CallDirectVideoInit, t0)
	l := DefaultLimits()
	l.PostInit.Requests = 1
	e.Configure("a", l, DefaultBackoff())
	if d2 := e.ReserveCall("a", CallDirectVideoInit, t0.Add(2*time.Second)); d2.Granted {
		t.Fatal("history lost on Configure: second init granted with a limit of 1")
	}
	e.Complete(d.Reservation, t0, t0.Add(time.Second), Accepted)
	e.Forget("a")
	if u := e.Usage("a", t0); u != nil {
		t.Fatalf("forgotten account still has usage %v", u)
	}
	e.Complete(d.Reservation, t0, t0.Add(time.Second), Accepted) // ignored, no panic
	if s := e.Snapshot("a"); len(s.Calls) != 0 {
		t.Fatalf("forgotten account snapshot %+v", s)
	}
}

// Abandoned frees the slot entirely, minInterval included.
func TestAbandonFreesSlot(t *testing.T) {
	t0 := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	e := NewEngine(testclock.NewFakePassiveClock(t0), nil)
	l := DefaultLimits()
	l.PostInit.Requests = 1
	e.Configure("a", l, DefaultBackoff())
	d := e.ReserveCall("a", CallDirectVideoInit, t0)
	if d2 := e.ReserveCall("a", CallDirectVideoInit, t0); d2.Granted {
		t.Fatal("second grant in a window of 1")
	}
	e.Complete(d.Reservation, time.Time{}, time.Time{}, Abandoned)
	if d3 := e.ReserveCall("a", CallDirectVideoInit, t0); !d3.Granted {
		t.Fatalf("slot not freed by Abandoned: %+v", d3)
	}
}

// The checkpoint's worst case: every default window full (6+6+6 inits, 30 status fetches, 20 creator
// infos; the caps 15 and 5 are within the inits). It must stay small enough for an annotation.
func TestSnapshotWorstCaseSize(t *testing.T) {
	t0 := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	clk := testclock.NewFakePassiveClock(t0)
	e := NewEngine(clk, nil)
	l := DefaultLimits()
	l.MinInterval = time.Millisecond
	e.Configure("a", l, DefaultBackoff())
	now := t0
	n := 0
	for _, c := range []Call{CallDirectVideoInit, CallInboxVideoInit, CallDirectPhotoInit, CallStatusFetch, CallCreatorInfo} {
		for range 30 {
			now = now.Add(time.Millisecond)
			if d := e.ReserveCall("a", c, now); d.Granted {
				e.Complete(d.Reservation, now, now.Add(123456789), Accepted)
				n++
			}
		}
	}
	clk.SetTime(now)
	raw, _ := json.Marshal(e.Snapshot("a"))
	if n != 6+5+6+30+20 || len(raw) > 8192 {
		t.Fatalf("%d calls, %d bytes", n, len(raw))
	}
	t.Logf("%d calls in the windows: %d bytes of JSON", n, len(raw))
}

// A send rebuilt from a second-precision time may have left as late as the end of that second:
// minInterval counts from there, not from the truncated time.
func TestRecordedSendSpacedFromTheEndOfItsPrecision(t *testing.T) {
	t0 := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	clk := testclock.NewFakePassiveClock(t0.Add(1500 * time.Millisecond))
	e := NewEngine(clk, nil)
	e.Configure("a", DefaultLimits(), DefaultBackoff())                       // minInterval 1 s
	e.RecordCall("a", CallDirectVideoInit, t0, t0.Add(time.Second), Accepted) // sent somewhere in 00:00:00.x
	e.Enqueue("a", Waiter{Key: "next", Created: t0, Name: "next", Call: CallDirectVideoInit})
	d := e.Reserve("a", "next", t0.Add(1500*time.Millisecond))
	if want := t0.Add(2*time.Second - time.Nanosecond); d.Granted || !d.NotBefore.Equal(want) {
		t.Fatalf("granted %v, not before %s; want refused until %s", d.Granted, d.NotBefore.Sub(t0), want.Sub(t0))
	}
}
