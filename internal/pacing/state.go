package pacing

import "time"

// State is an account's pacing state as plain data, for the AccountQuota checkpoint. It is compact:
// only calls still inside one of their windows, times as Unix nanoseconds, short JSON keys. The queue is
// not part of it: after a restart the controllers re-enqueue every waiting post.
type State struct {
	// Calls still occupying a window.
	Calls []CallRecord `json:"calls,omitempty"`
	// ThrottledUntil is the end of the cooldown (Unix ns, 0 none).
	ThrottledUntil int64 `json:"throttledUntil,omitempty"`
	// EpisodeStart is when the current 429 episode began (Unix ns).
	EpisodeStart int64 `json:"episodeStart,omitempty"`
	// ConsecutiveThrottles counts unexpected 429 episodes since the last clean answer.
	ConsecutiveThrottles int `json:"consecutiveThrottles,omitempty"`
	// LastDelay is the last cooldown delay (Decorrelated jitter grows from it).
	LastDelay time.Duration `json:"lastDelay,omitempty"`
	// Adaptive lists the windows whose effective limit is below the configured one.
	Adaptive []AdaptiveState `json:"adaptive,omitempty"`
}

// CallRecord is one call in State.
type CallRecord struct {
	Call Call `json:"c"`
	// Sent and Answered are Unix nanoseconds; Answered 0 = no answer (the call holds its slots until
	// Sent+MaxInFlight+window).
	Sent     int64   `json:"s"`
	Answered int64   `json:"a,omitempty"`
	Outcome  Outcome `json:"o,omitempty"`
}

// AdaptiveState is a lowered effective limit.
type AdaptiveState struct {
	Name      string `json:"n"`
	Effective int    `json:"e"`
	// Since is the start of the current clean period (Unix ns); BadAt the level that drew the 429.
	Since int64 `json:"t"`
	BadAt int   `json:"b,omitempty"`
}

// Snapshot returns the account's state at the engine clock's now (the zero State if unknown).
func (e *Engine) Snapshot(account string) State {
	a := e.get(account)
	if a == nil {
		return State{}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.advance(e.clk.Now())
	s := State{ThrottledUntil: a.throttledUntil, EpisodeStart: a.episodeStart,
		ConsecutiveThrottles: a.consecutive, LastDelay: a.lastDelay}
	if len(a.log) > 0 {
		s.Calls = make([]CallRecord, 0, len(a.log))
	}
	for _, en := range a.log {
		s.Calls = append(s.Calls, CallRecord{Call: kindCalls[en.kind], Sent: en.sent, Answered: en.ans, Outcome: Outcome(en.out)})
	}
	for w := range numWindows {
		if a.eff[w] < a.req[w] {
			s.Adaptive = append(s.Adaptive, AdaptiveState{Name: windowNames[w], Effective: a.eff[w], Since: a.adjAt[w], BadAt: a.badAt[w]})
		}
	}
	return s
}

// Restore merges a checkpoint into the account (created with the default limits if unknown: Configure it
// first). It is merge-safe: every recorded call is kept (a call already known, same call kind and same
// send time, is merged, not added, so restoring twice does not double-count); cooldowns and lowered
// limits take the stricter of both.
//
// Restart guard (invariant 4): a checkpoint cannot know the status fetches and creator-info calls made
// after it was written, and posts' statuses do not record them either. So Restore treats those two
// windows as full until now+window, and spaces the first call minInterval after now. Init calls need no
// guard: their intent is written to the post's status before the call, and RecordCall rebuilds them.
// Call Restore once, at start-up, not on a live account (the guard would pause it for a window).
func (e *Engine) Restore(account string, s State) {
	a := e.getOrCreate(account)
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.advance(e.clk.Now())
	for _, r := range s.Calls {
		a.merge(r.Call.kind(), r.Sent, r.Answered, r.Outcome, 1)
	}
	a.throttledUntil = max(a.throttledUntil, s.ThrottledUntil)
	a.episodeStart = max(a.episodeStart, s.EpisodeStart)
	a.consecutive = max(a.consecutive, s.ConsecutiveThrottles)
	a.lastDelay = max(a.lastDelay, s.LastDelay)
	for _, ad := range s.Adaptive {
		for w := range numWindows {
			if windowNames[w] == ad.Name && ad.Effective < a.eff[w] {
				a.eff[w], a.adjAt[w], a.badAt[w] = max(ad.Effective, 1), ad.Since, ad.BadAt
			}
		}
	}
	for _, w := range [...]int{winStatus, winCreator} {
		a.guard[w] = max(a.guard[w], now+a.win[w])
	}
	a.lastSend = max(a.lastSend, now)
	a.prune(now)
	a.q.dirty = true
}

// RecordCall adds one call known from a post's status (attemptHistory: start time, end time, outcome)
// after a restart. answered zero = unanswered: the call holds its slots until sent+MaxInFlight+window.
//
// Status times are often serialised to the second (metav1.Time) or microsecond (MicroTime). The precision
// is inferred from the value (a time on a whole second is taken as second-precision, and so on), and:
// the answered time is padded by one unit of its precision (it may have been truncated, and an early
// answer would free the slot too soon); a call already in the log with the same kind and the same send
// time at that precision is the same call and is merged, not added. Writing Reservation.At as the start
// time makes the match exact. (Two different calls of one kind within one unit cannot exist as long as
// minInterval >= that unit: 1s by default.) Recording the same call twice does not double-count.
func (e *Engine) RecordCall(account string, call Call, sent, answered time.Time, outcome Outcome) {
	a := e.getOrCreate(account)
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.advance(e.clk.Now())
	s, an := nanos(sent), nanos(answered)
	if an != 0 {
		an += precision(an)
	}
	a.merge(call.kind(), s, an, outcome, precision(s))
	a.lastSend = max(a.lastSend, s)
	a.prune(now)
	a.q.dirty = true
}

// precision guesses the unit a timestamp was truncated to.
func precision(ns int64) int64 {
	for _, p := range [...]int64{int64(time.Second), int64(time.Millisecond), int64(time.Microsecond)} {
		if ns%p == 0 {
			return p
		}
	}
	return 1
}

// merge adds a call or merges it into the entry of the same kind sent at the same time (to precision p).
// Merging keeps everything that makes the call count longer: a known answer replaces "no answer" (it is
// the truth about the same call), two known answers keep the later, and a final outcome replaces Pending
// while, between two final ones, the one that counts in the caps wins.
func (a *account) merge(k callKind, sent, ans int64, out Outcome, p int64) {
	if k == kindInvalid || out == Abandoned || sent == 0 {
		return
	}
	if ans != 0 && ans < sent {
		ans = sent
	}
	for i := range a.log {
		en := &a.log[i]
		if en.kind != k || en.sent-en.sent%p != sent {
			continue
		}
		if ans != 0 && (en.ans == 0 || ans > en.ans) {
			en.ans = ans
		}
		cur := Outcome(en.out)
		if cur == Pending || (out != Pending && out.countsInCap() && !cur.countsInCap()) {
			en.out = uint8(out)
		}
		return
	}
	a.log = append(a.log, entry{id: a.eng.nextID.Add(1), sent: sent, ans: ans, kind: k, out: uint8(out)})
	if sent > a.lastSend {
		a.lastSend = sent
	}
}
