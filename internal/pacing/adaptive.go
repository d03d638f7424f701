package pacing

import (
	"time"
)

// Adaptive configures how the engine learns a limit tighter than the configured one from a refusal and
// probes back (see docs/pacing.md, "Learning the real limit"). Zero fields take the defaults.
type Adaptive struct {
	// CleanWindows is the number of full windows without a refusal before the effective limit of a
	// window may rise by one (with a single probe call). Default DefaultCleanWindows.
	CleanWindows int `json:"cleanWindows,omitempty"`
	// MaxStretch bounds the clean stretch, which doubles after every refused probe. Default
	// DefaultMaxStretch.
	MaxStretch time.Duration `json:"maxStretch,omitempty"`
	// Penalty is the guess of the lockout a refusal may have started: after a refusal the window explains,
	// the account sends nothing for that long once the window frees a slot under the learned limit.
	// 0 (the default) guesses one slot of the learned limit (the window divided by it); NoPenalty: none,
	// the window alone decides.
	Penalty time.Duration `json:"penalty,omitempty"`
}

// Defaults of Adaptive.
const (
	DefaultCleanWindows = 10
	DefaultMaxStretch   = 24 * time.Hour
)

// NoPenalty, as Adaptive.Penalty, makes the window alone decide when the call after a refusal goes.
const NoPenalty time.Duration = -1

// DefaultRefusalMargin: a refusal of a call sent less than this after a slot of its window freed (by the
// safe counting rule) is not explained by the window: the server's window may be a little longer or its
// clock a little behind, so the freed call counts as one of the "others" too.
const DefaultRefusalMargin = time.Second

// SetRefusalMargin changes the refusal margin (see DefaultRefusalMargin; <= 0: the default). Only a
// run whose every duration is compressed (the benchmark: one minute in 2 s) has a reason to: its
// clocks' skew is compressed too, and an uncompressed second would be half its window.
func (e *Engine) SetRefusalMargin(d time.Duration) {
	if d <= 0 {
		d = DefaultRefusalMargin
	}
	e.margin.Store(int64(d))
}

// maxProbeMul bounds the multiplier itself (the stretch is bounded by MaxStretch anyway).
const maxProbeMul = 1 << 20

// SetAdaptive changes the learning configuration of every account that has none of its own (see
// SetAccountAdaptive; zero fields: defaults).
func (e *Engine) SetAdaptive(c Adaptive) { e.adaptive.Store(&c) }

// SetAccountAdaptive sets the learning configuration of one account, creating it with the default limits
// if unknown (zero fields: defaults, not the engine's SetAdaptive). It takes effect at once: the next
// probe is due after the new stretch, counted from the start of the current clean period. Forget drops it.
func (e *Engine) SetAccountAdaptive(account string, c Adaptive) {
	a := e.getOrCreate(account)
	a.mu.Lock()
	a.adaptive = &c
	a.q.dirty = true
	a.mu.Unlock()
}

// adaptiveConfig is the account's learning configuration, defaults applied: its own (SetAccountAdaptive)
// or else the engine's (SetAdaptive).
func (a *account) adaptiveConfig() Adaptive {
	var c Adaptive
	if a.adaptive != nil {
		c = *a.adaptive
	} else if p := a.eng.adaptive.Load(); p != nil {
		c = *p
	}
	if c.CleanWindows <= 0 {
		c.CleanWindows = DefaultCleanWindows
	}
	if c.MaxStretch <= 0 {
		c.MaxStretch = DefaultMaxStretch
	}
	if c.Penalty < 0 {
		c.Penalty = NoPenalty
	}
	return c
}

// stretch is the clean period window w needs before its next probe.
func (a *account) stretch(w int) int64 {
	c := a.adaptiveConfig()
	win := a.win[w]
	if win <= 0 {
		win = int64(time.Second)
	}
	s := win * int64(c.CleanWindows)
	if m := max(a.probeMul[w], 1); m > 1 {
		if s > int64(c.MaxStretch)/int64(m) {
			return int64(c.MaxStretch)
		}
		s *= int64(m)
	}
	return min(s, int64(c.MaxStretch))
}

// recover raises an effective limit below the configured one by one step after a clean stretch (see
// stretch), and only one step at a time: the raised level stays "on probation" (probing) until one call
// that needed the extra slot (the probe) was answered without a 429. Lazy: called on every operation.
func (a *account) recover(now int64) {
	for w := range numWindows {
		if a.probing[w] {
			continue
		}
		if a.eff[w] >= a.req[w] {
			a.badAt[w], a.probeMul[w] = 0, 0
			continue
		}
		if now-a.adjAt[w] >= a.stretch(w) {
			a.eff[w]++
			a.probing[w] = true
		}
	}
}

// probeBusy says whether window w's probe is out (granted, unanswered, within the in-flight bound): no
// other call of the window goes until its answer says whether the raised level holds.
func (a *account) probeBusy(w int, now int64) bool {
	id := a.probeID[w]
	if id == 0 {
		return false
	}
	if i := a.find(id); i >= 0 && a.log[i].ans == 0 && a.log[i].sent > now-a.maxInFlight {
		return true
	}
	a.probeID[w] = 0 // lost or pruned: inconclusive, the next call that needs the extra slot probes
	return false
}

// probeAfter is when a call that needs window w's raised slot (the window holds the learned level's
// calls) may go as the probe, the call being due at t: at t if every call in the window stays in the
// server's window for one slot of the learned level after t at least (sent + window - slot > t; the slot
// is window / learned level, never less than the refusal margin), else when the first one that does not
// leaves (and the call then goes at the learned level, no probe).
//
// A refused probe costs the Penalty guess, and the slot it keeps (a refused call may count on the
// server's side) from when the window frees. Sent behind a full window none of whose calls leaves within
// a slot, the probe takes a slot that no call of the learned level could use before then anyway, and a
// refusal costs the guess and one spacing: the calls after it go as one group, shifted. Sent while a
// call is about to leave, it takes the slot that call frees, and the lockout holds back the calls meant
// to follow the leaving one: the window's calls stay scattered for good, a slot and the guess lost
// (in make bench, a probe 30 ms before the window's oldest call left made its account's last post
// 1.2 s later, the probes behind a burst 0.55 s). Close to the leaving call the answer proves nothing
// either: the server may or may not have let that call go (probeAnswered).
func (a *account) probeAfter(w int, t int64, low bool) int64 {
	win := a.win[w]
	guard := a.eng.margin.Load()
	if l := int64(a.eff[w] - 1); l > 0 {
		guard = max(guard, win/l)
	}
	wait := int64(never)
	for i := range a.log {
		e := &a.log[i]
		if !e.occupies(w) || e.sent+win-guard > t {
			continue
		}
		end := e.end(win, a.maxInFlight)
		if low {
			end = e.lowEnd(win, a.maxInFlight, t)
		}
		if end > t {
			wait = min(wait, end)
		}
	}
	if wait == never {
		return t
	}
	return wait
}

// markProbe makes the call id about to be granted in window w the probe if it needs the raised slot.
func (a *account) markProbe(w int, id uint64, now int64) {
	if w < 0 || !a.probing[w] || a.probeID[w] != 0 {
		return
	}
	if a.count(w, now) >= a.eff[w]-1 {
		a.probeID[w] = id
	}
}

// probeAnswered settles the probe id with an answer that is not a 429. The raised level L+1 holds only
// if the server surely had L calls in its window when it stamped the probe: calls it accepted, answered
// before the probe was sent and sent less than a window before the probe's answer (whatever the stamps,
// they fell in the probe's window). Otherwise (the window was not full on the server's side, e.g. it
// holds refused calls the server may not count, or the answer is Uncertain) the probe is inconclusive:
// the next call that needs the raised slot probes again.
func (a *account) probeAnswered(w int, id uint64, now int64, out Outcome) {
	if w < 0 || a.probeID[w] != id || id == 0 {
		return
	}
	a.probeID[w] = 0
	i := a.find(id)
	if out != Accepted && out != Rejected || i < 0 {
		return
	}
	p := a.log[i]
	pans := p.ans
	if pans == 0 {
		pans = now
	}
	sure := 0
	for j := range a.log {
		e := &a.log[j]
		if e.id != id && e.occupies(w) && Outcome(e.out) == Accepted && e.ans != 0 && e.ans <= p.sent && e.sent > pans-a.win[w] {
			sure++
		}
	}
	if sure < a.eff[w]-1 {
		return
	}
	a.probing[w] = false
	a.adjAt[w] = now
}

// refusedWith counts the calls of window w other than id that may have been in the server's window
// when it stamped the call sent at sent (answered at now): sent no later than now and, by the safe
// counting rule, still occupying the window at sent less the refusal margin.
func (a *account) refusedWith(w int, id uint64, sent, now int64) int {
	n := 0
	win := a.win[w]
	margin := a.eng.margin.Load()
	for i := range a.log {
		e := &a.log[i]
		if e.id != id && e.occupies(w) && e.sent <= now && e.end(win, a.maxInFlight) > sent-margin {
			n++
		}
	}
	return n
}

// throttle handles a 429 for a call of kind k (log id, 0 if not reserved) sent at sent (0 if unknown) and
// answered at now.
//
// A 429 is "expected", i.e. part of an episode already handled, when the call was sent before the
// current episode started (it was in flight when the engine learned its model was wrong) or when the
// cooldown is still running (which includes Throttled called with the Retry-After of the 429 just passed
// to Complete). An expected 429 only raises the cooldown to the Retry-After floor.
//
// An unexpected one starts a new episode (consecutive +1). If the call's rate window explains it (the
// window held k >= 1 other calls, k below the effective limit, none of them freed just before the send),
// the server's limit is at most k: the effective limit becomes k at once and the account only waits for
// the window to free a slot under k (the refused call keeps its slot) and then the Penalty guess, no
// jittered backoff. A refused probe
// is such a refusal (k is the level it probed from) and doubles the next clean stretch. Otherwise the
// account cools down for the jittered backoff delay (never less than retryAfter), the limit unchanged.
// Nothing here can make a call go sooner: the 429'd call keeps its slot in the rate window, limits only
// fall, and the cooldown only adds a constraint.
func (a *account) throttle(k callKind, id uint64, sent, now int64, retryAfter time.Duration) int64 {
	// An expected 429 raises throttledUntil to at least now, so the Throttled call that follows a
	// Complete at the same instant (to pass the Retry-After) always falls in the running episode.
	if (sent != 0 && sent < a.episodeStart) || (a.episodeStart != 0 && now <= a.throttledUntil) {
		if u := now + int64(retryAfter); u > a.throttledUntil {
			a.throttledUntil = u
		}
		return a.throttledUntil
	}
	a.consecutive++
	a.episodeStart = now
	if sent == 0 {
		sent = now
	}
	explained := false
	if w := int(kindRate[k]); w >= 0 {
		if a.probing[w] {
			// the raised level drew a refusal (the probe's or, if lost, another call's): back to the
			// learned level, and wait twice as long before the next probe
			a.eff[w]--
			a.probing[w], a.probeID[w] = false, 0
			a.probeMul[w] = min(max(a.probeMul[w], 1)*2, maxProbeMul)
			a.adjAt[w] = now
			explained = true
		}
		if n := a.refusedWith(w, id, sent, now); n >= 1 && n < a.eff[w] {
			if a.badAt[w] != 0 && !explained {
				// a level reached again by probing drew a refusal after all: probe more rarely
				a.probeMul[w] = min(max(a.probeMul[w], 1)*2, maxProbeMul)
			}
			if a.badAt[w] == 0 || a.eff[w] < a.badAt[w] {
				a.badAt[w] = a.eff[w]
			}
			a.eff[w] = n
			a.adjAt[w] = now
			explained = true
		}
	}
	if explained {
		// The lockout the refusal may have started runs from when the server's window frees a slot (a
		// call sent into it extends it), so the Penalty guess counts from the slot under the learned
		// limit, not from now: a cooldown running alongside the window wait would end with it, and the
		// next call would go into the lockout. TikTok publishes no lockout length; the default guess is one
		// slot of the learned limit, so guessing wrong when there is none costs one slot, while a call
		// sent into a lockout costs a refusal and extends it.
		u := now + int64(retryAfter)
		w := int(kindRate[k])
		p := int64(a.adaptiveConfig().Penalty)
		if p == 0 && w >= 0 && a.eff[w] > 0 {
			p = a.win[w] / int64(a.eff[w])
		}
		if p > 0 {
			slot := now
			if w >= 0 {
				if x := a.earliestWin(w, now, false); x != never {
					slot = max(slot, x)
				}
			}
			u = max(u, slot+p)
		}
		a.throttledUntil = max(a.throttledUntil, u)
		return a.throttledUntil
	}
	d := a.backoff.Delay(a.consecutive, a.lastDelay, a.eng.random(), retryAfter)
	a.lastDelay = d
	if u := now + int64(d); u > a.throttledUntil {
		a.throttledUntil = u
	}
	return a.throttledUntil
}
