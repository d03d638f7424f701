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
	// DailyHeldUntil and PendingHeldUntil end the holds of the daily and pending-share caps after a
	// refusal the own count did not explain (Unix ns, 0 none; see CapReached).
	DailyHeldUntil   int64 `json:"dailyHeldUntil,omitempty"`
	PendingHeldUntil int64 `json:"pendingHeldUntil,omitempty"`
}

// CallRecord is one call in State.
type CallRecord struct {
	// ID identifies the call (unique across processes): restoring the same record twice merges it.
	ID   uint64 `json:"i,omitempty"`
	Call Call   `json:"c"`
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
	// ProbeMul stretches the clean period needed to climb back to BadAt (0 or 1: no stretch).
	ProbeMul int `json:"p,omitempty"`
}

// Snapshot returns the account's state at the engine clock's now (the zero State if unknown).
func (e *Engine) Snapshot(account string) State {
	a := e.get(account)
	if a == nil {
		return State{}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.advance(e.clk.Now())
	s := State{ThrottledUntil: a.throttledUntil, EpisodeStart: a.episodeStart,
		ConsecutiveThrottles: a.consecutive, LastDelay: a.lastDelay}
	if a.capHold[winDaily] > now {
		s.DailyHeldUntil = a.capHold[winDaily]
	}
	if a.capHold[winPending] > now {
		s.PendingHeldUntil = a.capHold[winPending]
	}
	if len(a.log) > 0 {
		s.Calls = make([]CallRecord, 0, len(a.log))
	}
	for _, en := range a.log {
		s.Calls = append(s.Calls, CallRecord{ID: en.id, Call: kindCalls[en.kind], Sent: en.sent, Answered: en.ans, Outcome: Outcome(en.out)})
	}
	for w := range numWindows {
		// a level on probation is written as the level it was raised from: a restored engine raises it
		// again (Since is a whole stretch ago) and probes it with one call
		eff := a.eff[w]
		if a.probing[w] {
			eff--
		}
		if eff < a.req[w] {
			s.Adaptive = append(s.Adaptive, AdaptiveState{Name: windowNames[w], Effective: eff, Since: a.adjAt[w],
				BadAt: a.badAt[w], ProbeMul: a.probeMul[w]})
		}
	}
	return s
}

// Restore merges a checkpoint into the account (created with the default limits if unknown: Configure it
// first). It is merge-safe: every recorded call is kept; a call already known (same ID) is merged, not
// added, so restoring twice does not double-count; cooldowns and lowered limits take the stricter of both.
// At start-up call Restore first, then RecordCall for the posts' statuses: RecordCall recognises the
// restored calls by their send time, while Restore after RecordCall would count those calls twice (safe,
// but wasteful).
//
// Restart guard (invariant "restart-safe pacing"): a checkpoint cannot know the status fetches and
// creator-info calls made after it was written, and posts' statuses do not record them either; some may
// even have been in flight at the crash and be stamped later. So Restore treats those two windows as full until
// now+MaxInFlight+window (as if n calls had just been sent and never answered), and spaces the first call
// minInterval after now. Init calls need no
// guard: their intent is written to the post's status before the call, and RecordCall rebuilds them.
// Call Restore once, at start-up, not on a live account (the guard would pause it for a window).
func (e *Engine) Restore(account string, s State) {
	a := e.getOrCreate(account)
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.advance(e.clk.Now())
	for _, r := range s.Calls {
		a.restoreRecord(r)
	}
	a.throttledUntil = max(a.throttledUntil, s.ThrottledUntil)
	a.episodeStart = max(a.episodeStart, s.EpisodeStart)
	a.consecutive = max(a.consecutive, s.ConsecutiveThrottles)
	a.lastDelay = max(a.lastDelay, s.LastDelay)
	a.capHold[winDaily] = max(a.capHold[winDaily], s.DailyHeldUntil)
	a.capHold[winPending] = max(a.capHold[winPending], s.PendingHeldUntil)
	for _, ad := range s.Adaptive {
		for w := range numWindows {
			if windowNames[w] == ad.Name && ad.Effective < a.eff[w] {
				a.eff[w], a.adjAt[w], a.badAt[w] = max(ad.Effective, 1), ad.Since, ad.BadAt
				a.probing[w], a.probeID[w] = false, 0
				a.probeMul[w] = max(a.probeMul[w], ad.ProbeMul)
			}
		}
	}
	for _, w := range [...]int{winStatus, winCreator} {
		a.guard[w] = max(a.guard[w], now+a.maxInFlight+a.win[w])
	}
	a.lastSend = max(a.lastSend, now)
	a.pruneAt = 0
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
// time at that precision is the same call and is merged, not added; each logged call absorbs one status
// record only. When every matching call has already absorbed one, the record is a repeat (ignored) if
// minInterval >= the precision, since two calls of one kind cannot then share a unit, and a new call
// otherwise (safety first: with minInterval < 1s and second-precision statuses, recording the same
// post twice counts it twice). Writing Reservation.At as the start time makes the match exact.
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
	// The send may have left as late as the end of the unit its time was truncated to: minInterval
	// counts from there.
	a.lastSend = max(a.lastSend, s+precision(s)-1)
	a.pruneAt = 0
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

// restoreRecord merges a checkpointed call into the entry with the same ID, or adds it.
func (a *account) restoreRecord(r CallRecord) {
	k := r.Call.kind()
	if k == kindInvalid || r.Outcome == Abandoned || r.Sent == 0 {
		return
	}
	ans := r.Answered
	if ans != 0 && ans < r.Sent {
		ans = r.Sent
	}
	if r.ID != 0 {
		if i := a.find(r.ID); i >= 0 && a.log[i].kind == k {
			mergeInto(&a.log[i], ans, r.Outcome)
			return
		}
	}
	id := r.ID
	if id == 0 {
		id = a.eng.nextID.Add(1)
	}
	a.log = append(a.log, entry{id: id, sent: r.Sent, ans: ans, kind: k, out: uint8(r.Outcome)})
	a.lastSend = max(a.lastSend, r.Sent)
}

// merge adds a call known from a post's status, or merges it into the entry it describes (same kind,
// same send time to precision p); see RecordCall for the rule.
func (a *account) merge(k callKind, sent, ans int64, out Outcome, p int64) {
	if k == kindInvalid || out == Abandoned || sent == 0 {
		return
	}
	if ans != 0 && ans < sent {
		ans = sent
	}
	dup := -1
	for i := range a.log {
		en := &a.log[i]
		if en.kind != k || en.sent-en.sent%p != sent {
			continue
		}
		if !en.rec {
			en.rec = true
			mergeInto(en, ans, out)
			return
		}
		if dup < 0 {
			dup = i
		}
	}
	if dup >= 0 && a.minInterval >= p {
		mergeInto(&a.log[dup], ans, out)
		return
	}
	a.log = append(a.log, entry{id: a.eng.nextID.Add(1), sent: sent, ans: ans, kind: k, out: uint8(out), rec: true})
	a.lastSend = max(a.lastSend, sent)
}

// mergeInto merges what a record says about a call into its entry, keeping everything that makes the
// call count longer: a known answer replaces "no answer" (it is the truth about the same call), two known
// answers keep the later, a final outcome replaces Pending and, between two final ones, the one that
// counts in the caps wins.
func mergeInto(en *entry, ans int64, out Outcome) {
	if ans != 0 && (en.ans == 0 || ans > en.ans) {
		en.ans = ans
	}
	cur := Outcome(en.out)
	if cur == Pending || (out != Pending && out.countsInCap() && !cur.countsInCap()) {
		en.out = uint8(out)
	}
}
