package pacing

import "time"

// AIMD parameters of the effective limit. A 429 the model did not expect cuts the effective limit of the
// call's rate window multiplicatively (x0.7), and further to what the window held when the 429 came (the
// server refused the call when our window held that many others: its real limit is at most that). Every
// clean window (a full window length without a new 429) adds one back. Climbing back to the level that
// failed is slower: probeWindows clean windows per step, doubled each time a probe fails at the same level
// (up to maxProbeMul). Without that, a server whose real limit is below the configured one would be probed
// every few windows and about 7% of calls would be 429s (TestAdaptiveModelServer keeps it under 5%).
const (
	decreaseFactor = 0.7
	probeWindows   = 10
	maxProbeMul    = 16
)

// recover raises the effective limits additively after clean windows. It is lazy: called on every
// operation with the current time, it replays the steps that elapsed since the last adjustment.
func (a *account) recover(now int64) {
	for w := range numWindows {
		for a.eff[w] < a.req[w] {
			step := a.win[w]
			if step <= 0 {
				step = int64(time.Second)
			}
			if a.badAt[w] > 0 && a.eff[w]+1 >= a.badAt[w] {
				step *= probeWindows * int64(max(a.probeMul[w], 1))
			}
			if now-a.adjAt[w] < step {
				break
			}
			a.adjAt[w] += step
			a.eff[w]++
		}
		if a.eff[w] >= a.req[w] {
			a.badAt[w], a.probeMul[w] = 0, 0
		}
	}
}

// throttle handles a 429 for a call of kind k sent at sent (0 if unknown) and answered at now.
//
// A 429 is "expected", i.e. part of an episode already handled, when the call was sent before the
// current episode started (it was in flight when the engine learned its model was wrong) or when the
// cooldown is still running (which includes Throttled called with the Retry-After of the 429 just passed
// to Complete). An expected 429 only raises the cooldown to the Retry-After floor. An
// unexpected one starts a new episode: consecutive throttles +1, the effective limit of the rate window
// is cut multiplicatively, and the account cools down for the jittered backoff delay (never less than
// retryAfter). Nothing here can make a call go sooner: the 429'd call keeps its slot in the rate window
// and the cooldown only adds a constraint.
func (a *account) throttle(k callKind, sent, now int64, retryAfter time.Duration) int64 {
	// An expected 429 raises throttledUntil to at least now, so the Throttled call that follows a
	// Complete at the same instant (to pass the Retry-After) always falls in the running episode.
	if (sent != 0 && sent < a.episodeStart) || (a.episodeStart != 0 && now <= a.throttledUntil) {
		if u := now + int64(retryAfter); u > a.throttledUntil {
			a.throttledUntil = u
		}
		return a.throttledUntil
	}
	a.consecutive++
	if w := kindRate[k]; w >= 0 {
		if a.badAt[w] > 0 && a.eff[w] >= a.badAt[w] {
			a.probeMul[w] = min(max(a.probeMul[w], 1)*2, maxProbeMul) // the same level failed again
		}
		a.badAt[w] = a.eff[w]
		others := a.count(int(w), now) - 1 // the throttled call is in the log
		ne := min(int(float64(a.eff[w])*decreaseFactor), others)
		a.eff[w] = max(ne, 1)
		a.adjAt[w] = now
	}
	d := a.backoff.Delay(a.consecutive, a.lastDelay, a.eng.random(), retryAfter)
	a.lastDelay = d
	a.episodeStart = now
	if u := now + int64(d); u > a.throttledUntil {
		a.throttledUntil = u
	}
	return a.throttledUntil
}
