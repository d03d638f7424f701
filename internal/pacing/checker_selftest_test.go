package pacing

import (
	"testing"
	"time"
)

// The checker must be able to fail: feed it schedules that are over quota and some that are not.
func TestCheckerCatchesViolations(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := Limits{PostInit: Limit{2, time.Minute}, StatusFetch: Limit{1, time.Minute}, CreatorInfo: Limit{1, time.Minute},
		DailyPosts: Limit{100, time.Hour}, PendingShares: Limit{100, time.Hour}, MinInterval: time.Second}
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	rec := func(call Call, sent, latest float64) sendRec {
		return sendRec{account: "a", call: call, sent: at(sent), latest: at(latest), inCaps: true}
	}
	cases := []struct {
		name  string
		sends []sendRec
		bad   bool
	}{
		{"two in a minute is fine", []sendRec{rec(CallDirectVideoInit, 0, 0), rec(CallDirectVideoInit, 1, 1)}, false},
		{"three in a minute", []sendRec{rec(CallDirectVideoInit, 0, 0), rec(CallDirectVideoInit, 1, 1), rec(CallDirectVideoInit, 59, 59)}, true},
		{"third exactly a window later is fine", []sendRec{rec(CallDirectVideoInit, 0, 0), rec(CallDirectVideoInit, 1, 1), rec(CallDirectVideoInit, 60, 60)}, false},
		{"a slow answer may be stamped late", []sendRec{rec(CallDirectVideoInit, 0, 10), rec(CallDirectVideoInit, 9, 12), rec(CallDirectVideoInit, 65, 65)}, true},
		{"other endpoint has its own window", []sendRec{rec(CallDirectVideoInit, 0, 0), rec(CallDirectVideoInit, 1, 1), rec(CallInboxVideoInit, 2, 2)}, false},
		{"minInterval", []sendRec{rec(CallStatusFetch, 0, 0), rec(CallCreatorInfo, 0.5, 0.5)}, true},
		{"status fetch limit", []sendRec{rec(CallStatusFetch, 0, 0), rec(CallStatusFetch, 30, 30)}, true},
	}
	for _, c := range cases {
		got := checkSends(map[string]Limits{"a": l}, c.sends)
		if (got != "") != c.bad {
			t.Errorf("%s: checker said %q, want violation=%v", c.name, got, c.bad)
		}
	}
}
