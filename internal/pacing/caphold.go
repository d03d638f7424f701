package pacing

import "time"

// The daily and pending caps (15 direct posts, 5 pending shares a day) count every app the creator uses,
// not only the operator. A cap refusal (spam_risk_too_many_posts, spam_risk_too_many_pending_share) that
// the account's own log does not explain (its cap window holds fewer calls than the configured limit)
// means other apps posted. The engine then holds the cap window until the oldest call of its own log
// leaves it, or for retry, whichever is sooner: every waiter of the cap projects to that time, and the
// first one granted then is the one probe (init calls go one at a time), instead of each waiting post
// retrying after its own backoff into the same refusal.

// CapReached reports a cap refusal of call (an init call) at now and returns the end of the hold of its
// cap window: zero if the call has no cap window or the account's own count explains the refusal (the
// window is full by the engine's count already, so it needs no hold). retry bounds the hold (a creator
// with no call of the operator in the window would otherwise wait a whole window); 0 means the window.
func (e *Engine) CapReached(account string, call Call, now time.Time, retry time.Duration) (until time.Time) {
	k := call.kind()
	if k == kindInvalid || kindCap[k] < 0 {
		return time.Time{}
	}
	w := int(kindCap[k])
	a := e.getOrCreate(account)
	a.mu.Lock()
	defer a.mu.Unlock()
	n := a.advance(now)
	if a.count(w, n) >= a.req[w] {
		return time.Time{}
	}
	end := n + a.win[w]
	if retry > 0 {
		end = min(end, n+int64(retry))
	}
	for i := range a.log {
		if en := &a.log[i]; en.occupies(w) {
			if x := en.end(a.win[w], a.maxInFlight); x > n {
				end = min(end, x)
			}
		}
	}
	a.capHold[w] = max(a.capHold[w], end)
	a.q.dirty = true
	return unix(a.capHold[w])
}

// CapHold returns the end of the hold of call's cap window (see CapReached): zero if none is running at
// now.
func (e *Engine) CapHold(account string, call Call, now time.Time) time.Time {
	k := call.kind()
	a := e.get(account)
	if a == nil || k == kindInvalid || kindCap[k] < 0 {
		return time.Time{}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if h := a.capHold[kindCap[k]]; h > nanos(now) {
		return unix(h)
	}
	return time.Time{}
}
