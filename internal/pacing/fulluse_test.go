package pacing

import (
	"fmt"
	"testing"
	"time"

	testclock "k8s.io/utils/clock/testing"
)

// TestMakespanIsMinimal: a standing backlog of M init calls, polled only when their NotBefore comes (as
// the controller requeues), must be sent at exactly the times of the theoretical optimum for a scheduler
// that cannot see TikTok's stamps: s_i = max(s_{i-1}+minInterval, s_{i-n}+latency+W). Any idle slot, or a
// projection later than the real slot, would make it later.
func TestMakespanIsMinimal(t *testing.T) {
	cases := []struct {
		name    string
		call    Call
		lim     Limit
		mi, lat time.Duration
		m       int
	}{
		{"defaults, instant answers", CallDirectVideoInit, Limit{6, time.Minute}, time.Second, 0, 300},
		{"defaults, 1.5s answers", CallDirectVideoInit, Limit{6, time.Minute}, time.Second, 1500 * time.Millisecond, 300},
		{"no minInterval", CallInboxVideoInit, Limit{6, time.Minute}, 0, 200 * time.Millisecond, 300},
		{"minInterval dominates", CallDirectPhotoInit, Limit{30, time.Minute}, 3 * time.Second, time.Second, 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t0 := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
			clk := testclock.NewFakePassiveClock(t0)
			eng := NewEngine(clk, nil)
			l := DefaultLimits()
			l.PostInit, l.MinInterval = c.lim, c.mi
			l.DailyPosts, l.PendingShares = Limit{100000, 24 * time.Hour}, Limit{100000, 24 * time.Hour}
			eng.Configure("a", l, DefaultBackoff())
			next := make([]time.Time, c.m)
			for i := range c.m {
				eng.Enqueue("a", Waiter{Key: fmt.Sprint(i), Created: t0.Add(time.Duration(i)), Name: fmt.Sprintf("p%04d", i), Call: c.call})
				next[i] = t0
			}
			type ans struct {
				r  Reservation
				at time.Time
			}
			var pending []ans
			var sends []time.Time
			done := make([]bool, c.m)
			now := t0
			for len(sends) < c.m {
				clk.SetTime(now)
				rest := pending[:0]
				for _, a := range pending {
					if !a.at.After(now) {
						eng.Complete(a.r, a.r.At, a.at, Accepted)
						for i := range next { // the controller wakes the head when a call completes
							next[i] = minTime(next[i], now)
						}
					} else {
						rest = append(rest, a)
					}
				}
				pending = rest
				for i := range c.m {
					if done[i] || next[i].After(now) {
						continue
					}
					d := eng.Reserve("a", fmt.Sprint(i), now)
					if d.Granted {
						done[i] = true
						sends = append(sends, d.Reservation.At)
						pending = append(pending, ans{d.Reservation, d.Reservation.At.Add(c.lat)})
					} else {
						next[i] = d.NotBefore
					}
				}
				var nx time.Time
				for i := range c.m {
					if !done[i] && (nx.IsZero() || next[i].Before(nx)) {
						nx = next[i]
					}
				}
				for _, a := range pending {
					if a.at.After(now) && (nx.IsZero() || a.at.Before(nx)) {
						nx = a.at
					}
				}
				if nx.IsZero() || !nx.After(now) {
					if len(sends) < c.m {
						t.Fatalf("stuck at %s with %d/%d sent", now, len(sends), c.m)
					}
					break
				}
				now = nx
			}
			// theoretical optimum
			opt := make([]time.Time, c.m)
			for i := range c.m {
				opt[i] = t0
				if i > 0 && opt[i-1].Add(max(c.mi, c.lat)).After(opt[i]) {
					// minInterval after the previous call, and not before its answer (one init at a time)
					opt[i] = opt[i-1].Add(max(c.mi, c.lat))
				}
				if i >= c.lim.Requests {
					if x := opt[i-c.lim.Requests].Add(c.lat + c.lim.Window); x.After(opt[i]) {
						opt[i] = x
					}
				}
			}
			for i := range c.m {
				if !sends[i].Equal(opt[i]) {
					t.Fatalf("call %d sent at +%s, optimum +%s", i, sends[i].Sub(t0), opt[i].Sub(t0))
				}
			}
			got, want := sends[c.m-1].Sub(t0), opt[c.m-1].Sub(t0)
			if diff := float64(got-want) / float64(want); diff > 0.01 || diff < -0.01 {
				t.Fatalf("makespan %s, optimum %s", got, want)
			}
			t.Logf("makespan %s = optimum %s", got, want)
		})
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
