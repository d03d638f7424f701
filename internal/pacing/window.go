package pacing

import "math"

// never is the "not before" of a limit that can never be met (Requests <= 0).
const never = math.MaxInt64

// entry is one call still inside at least one of its windows. Times are Unix nanoseconds: the log is
// scanned on every reservation and int64s keep it compact (32 bytes) and comparisons cheap.
type entry struct {
	id   uint64
	sent int64 // the grant time (the controller sends at once; the real send is never earlier)
	ans  int64 // when the answer arrived; 0 = no answer (yet, or lost)
	kind callKind
	out  uint8 // an Outcome, one byte so the entry stays 32 bytes
	rec  bool  // absorbed a RecordCall (a post's status) already
}

// occupies reports whether e counts in window w. Rejected and throttled calls leave the caps, because
// TikTok did not take the post, but stay in the rate window, because TikTok counted the request.
func (e *entry) occupies(w int) bool {
	if int(kindRate[e.kind]) == w {
		return true
	}
	return int(kindCap[e.kind]) == w && Outcome(e.out).countsInCap()
}

// end is the instant e stops occupying a window of length win. This is the safe counting rule: TikTok
// stamps the call somewhere in [sent, answered], so the call may be inside any window that starts before
// answered; it therefore occupies its slot until answered+win. An unanswered call is assumed stamped no
// later than sent+maxInFlight (the in-flight bound, longer than any client timeout).
func (e *entry) end(win, maxInFlight int64) int64 {
	if e.ans == 0 {
		return e.sent + maxInFlight + win
	}
	return e.ans + win
}

// maxEnd is the instant e leaves its last window: after it, the entry can be dropped from the log.
func (a *account) maxEnd(e *entry) int64 {
	m := int64(math.MinInt64)
	for _, w := range [2]int8{kindRate[e.kind], kindCap[e.kind]} {
		if w >= 0 && e.occupies(int(w)) {
			if x := e.end(a.win[w], a.maxInFlight); x > m {
				m = x
			}
		}
	}
	return m
}

// prune drops every entry that left all its windows by now, in place (no allocation). It only scans
// the log when the earliest expiry has come (pruneAt), so most calls skip it.
func (a *account) prune(now int64) {
	if now < a.pruneAt {
		return
	}
	j := 0
	next := int64(never)
	for i := range a.log {
		if m := a.maxEnd(&a.log[i]); m > now {
			a.log[j] = a.log[i]
			j++
			next = min(next, m)
		}
	}
	a.log = a.log[:j]
	a.pruneAt = next
}

// touched must follow any change that can bring an entry's expiry earlier (a new entry, an answer).
func (a *account) touched(e *entry) { a.pruneAt = min(a.pruneAt, a.maxEnd(e)) }

// count is the number of calls occupying window w at now.
func (a *account) count(w int, now int64) int {
	n := 0
	win := a.win[w]
	for i := range a.log {
		e := &a.log[i]
		if e.occupies(w) && e.end(win, a.maxInFlight) > now {
			n++
		}
	}
	return n
}

// lowEnd is the earliest e can stop occupying a window of length win, seen from now: an unanswered call
// will be answered at now at the soonest, so it frees its slot at now+win at the soonest. It is the basis
// of projections and NotBefore, which are lower bounds (coming back early costs one cheap Reserve; coming
// back late wastes a slot). Grants always use the safe end.
func (e *entry) lowEnd(win, maxInFlight, now int64) int64 {
	if e.ans != 0 {
		return e.ans + win
	}
	return min(max(now, e.sent)+win, e.sent+maxInFlight+win)
}

// earliestWin is the first instant >= now at which window w has room for one more call, assuming no
// other call is added meanwhile. With c calls occupying and an effective limit e, the window has room
// once c-e+1 of them have ended, i.e. at the (c-e+1)-th smallest end. With low set, unanswered calls are
// assumed answered at now (a lower bound, for NotBefore); otherwise at the in-flight bound (for grants).
func (a *account) earliestWin(w int, now int64, low bool) int64 {
	eff := a.eff[w]
	t := now
	t = max(t, a.guard[w], a.capHold[w])
	if eff <= 0 {
		return never
	}
	if a.probeBusy(w, now) {
		// the window's probe is out: nothing else of the window goes before its answer
		if low {
			return max(t, now+initBusyRecheck)
		}
		return max(t, a.log[a.find(a.probeID[w])].sent+a.maxInFlight)
	}
	var buf [64]int64 // stays on the stack: no allocation on the hot path
	ends := buf[:0]
	win := a.win[w]
	for i := range a.log {
		e := &a.log[i]
		if !e.occupies(w) {
			continue
		}
		if x := e.end(win, a.maxInFlight); x > now {
			if low {
				x = e.lowEnd(win, a.maxInFlight, now)
			}
			ends = append(ends, x)
		}
	}
	c := len(ends)
	if c == eff-1 && a.probing[w] {
		// The call would be the probe (see probeAfter).
		return a.probeAfter(w, t, low)
	}
	if c < eff {
		return t
	}
	k := c - eff // index of the answer in ascending order: partial selection sort, k+1 steps
	for i := 0; i <= k; i++ {
		m := i
		for j := i + 1; j < c; j++ {
			if ends[j] < ends[m] {
				m = j
			}
		}
		ends[i], ends[m] = ends[m], ends[i]
	}
	if ends[k] > t {
		t = ends[k]
	}
	return t
}

// earliest is the first instant >= now at which a call of kind k may be sent: every window it counts in
// has room, minInterval has passed since the last send, and the cooldown is over. Each term only moves
// later as calls are added, so the maximum is exact. low: see earliestWin.
func (a *account) earliest(k callKind, now int64, low bool) int64 {
	t := now
	if a.throttledUntil > t {
		t = a.throttledUntil
	}
	if x := a.lastSend + a.minInterval; a.lastSend != 0 && x > t {
		t = x
	}
	if w := kindRate[k]; w >= 0 {
		if x := a.earliestWin(int(w), now, low); x > t {
			t = x
		}
	}
	if w := kindCap[k]; w >= 0 {
		if x := a.earliestWin(int(w), now, low); x > t {
			t = x
		}
	}
	return t
}

// find returns the index of the entry with this id, or -1.
func (a *account) find(id uint64) int {
	for i := range a.log {
		if a.log[i].id == id {
			return i
		}
	}
	return -1
}
