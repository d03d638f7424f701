package pacing

import (
	"fmt"
	"sort"
	"time"
)

// This file is the independent checker: it knows nothing of the engine's log, windows or rules. It takes
// the ground truth of a run (every call that really left, when, and the latest moment TikTok could have
// stamped it) and the documented limits, and looks for a placement of stamps that crosses a limit.

// sendRec is one call that really left the client.
type sendRec struct {
	account string
	call    Call
	sent    time.Time // when it left
	latest  time.Time // when the server answered (true time, even if the answer was lost): stamp <= latest
	inCaps  bool      // TikTok took the post (or may have): it counts in the daily/pending caps
}

// limitsOf lists, naively, which limits a call counts against.
func limitsOf(l Limits, r sendRec) map[string]Limit {
	m := map[string]Limit{}
	switch r.call {
	case CallDirectVideoInit:
		m["postInit/video"] = l.PostInit
		if r.inCaps {
			m["dailyPosts"] = l.DailyPosts
		}
	case CallInboxVideoInit:
		m["postInit/inbox"] = l.PostInit
		if r.inCaps {
			m["pendingShares"] = l.PendingShares
		}
	case CallDirectPhotoInit:
		m["postInit/photo"] = l.PostInit
		if r.inCaps {
			m["dailyPosts"] = l.DailyPosts
		}
	case CallUploadPhotoInit:
		m["postInit/photo"] = l.PostInit
		if r.inCaps {
			m["pendingShares"] = l.PendingShares
		}
	case CallStatusFetch:
		m["statusFetch"] = l.StatusFetch
	case CallCreatorInfo:
		m["creatorInfo"] = l.CreatorInfo
	}
	return m
}

// checkSends returns the first violation found, or "". For a limit of n per window W it asks: is there a
// window [x, x+W) and a choice of stamps, each call's stamp anywhere in [sent, latest], putting more than
// n calls in it? A call can be put in [x, x+W) iff sent < x+W and latest >= x; every call chooses freely,
// and the count is largest when x is some call's latest, so trying every x = latest_j is exhaustive.
// It also checks minInterval between consecutive sends of an account.
func checkSends(limits map[string]Limits, sends []sendRec) string {
	byLimit := map[string][]sendRec{}
	for _, s := range sends {
		for name := range limitsOf(limits[s.account], s) {
			k := s.account + "|" + name
			byLimit[k] = append(byLimit[k], s)
		}
	}
	keys := make([]string, 0, len(byLimit))
	for k := range byLimit {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		calls := byLimit[k]
		acct := calls[0].account
		lim := limitsOf(limits[acct], calls[0])
		var l Limit
		for name, x := range lim {
			if acct+"|"+name == k {
				l = x
			}
		}
		for _, j := range calls {
			x := j.latest
			n := 0
			for _, i := range calls {
				if i.sent.Before(x.Add(l.Window)) && !i.latest.Before(x) {
					n++
				}
			}
			if n > l.Requests {
				return fmt.Sprintf("%s: %d calls can fall in the window starting %s (limit %d per %s)", k, n, x.Format(time.RFC3339Nano), l.Requests, l.Window)
			}
		}
	}
	byAcct := map[string][]time.Time{}
	for _, s := range sends {
		byAcct[s.account] = append(byAcct[s.account], s.sent)
	}
	for acct, ts := range byAcct {
		sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
		for i := 1; i < len(ts); i++ {
			if d := ts[i].Sub(ts[i-1]); d < limits[acct].MinInterval {
				return fmt.Sprintf("%s: two calls %s apart at %s (minInterval %s)", acct, d, ts[i].Format(time.RFC3339Nano), limits[acct].MinInterval)
			}
		}
	}
	return ""
}
