package pacing

import "time"

// Jitter names a backoff strategy (AWS Architecture Blog, "Exponential Backoff And Jitter", 2015).
type Jitter string

const (
	// JitterNone is plain capped exponential backoff; kept for comparisons only (synchronised retries).
	JitterNone Jitter = "None"
	// JitterFull sleeps uniform(0, min(max, initial*2^(n-1))). The default: fewest calls in our simulation.
	JitterFull Jitter = "Full"
	// JitterEqual sleeps e/2 + uniform(0, e/2) with e = min(max, initial*2^(n-1)): never retries at once.
	JitterEqual Jitter = "Equal"
	// JitterDecorrelated sleeps min(max, uniform(initial, 3*prev)), prev being the previous sleep.
	JitterDecorrelated Jitter = "Decorrelated"
)

// Default backoff caps, used when a Backoff field is zero (they mirror the CRD defaults).
const (
	DefaultBackoffInitial = time.Second
	DefaultBackoffMax     = 10 * time.Minute
)

// Backoff configures the cooldown after an unexpected 429 (and the controllers' retry delays).
type Backoff struct {
	// Initial is the base delay (attempt 1 without jitter); zero means DefaultBackoffInitial.
	Initial time.Duration `json:"initial"`
	// Max caps every delay except a Retry-After floor; zero means DefaultBackoffMax.
	Max time.Duration `json:"max"`
	// Jitter is the strategy; empty means Full.
	Jitter Jitter `json:"jitter"`
}

// DefaultBackoff is 1s initial, 10m max, Full jitter.
func DefaultBackoff() Backoff {
	return Backoff{Initial: DefaultBackoffInitial, Max: DefaultBackoffMax, Jitter: JitterFull}
}

// Delay returns the delay before attempt number attempt (1-based: the delay after the first failure is
// attempt 1). It is a pure function so tests and the controllers can pin it: prev is the previous delay
// (only Decorrelated uses it; zero means "none yet"), u a uniform number in [0,1), retryAfter the server's
// Retry-After (zero if absent), which is a floor: the result is never below it, even above Max, because
// sending before the server said so only extends TikTok's lockout.
//
// An empty Jitter means Full; unknown values also fall back to Full (the CRD validates the enum).
func (b Backoff) Delay(attempt int, prev time.Duration, u float64, retryAfter time.Duration) time.Duration {
	initial, maxD := b.Initial, b.Max
	if initial <= 0 {
		initial = DefaultBackoffInitial
	}
	if maxD <= 0 {
		maxD = DefaultBackoffMax
	}
	if maxD < initial {
		maxD = initial
	}
	if attempt < 1 {
		attempt = 1
	}
	if !(u >= 0) { // also catches NaN
		u = 0
	}
	if u >= 1 {
		u = 0.9999999999
	}
	// exp = min(max, initial * 2^(attempt-1)), doubling step by step so it cannot overflow.
	exp := initial
	for i := 1; i < attempt && exp < maxD; i++ {
		exp *= 2
	}
	if exp > maxD {
		exp = maxD
	}
	var d time.Duration
	switch b.Jitter {
	case JitterNone:
		d = exp
	case JitterEqual:
		half := exp / 2
		d = half + time.Duration(u*float64(exp-half))
	case JitterDecorrelated:
		p := prev
		if p < initial {
			p = initial
		}
		hi := float64(p) * 3 // AWS: min(cap, random_between(base, sleep*3)); drawn first, then capped
		f := float64(initial) + u*(hi-float64(initial))
		if f >= float64(maxD) {
			f = float64(maxD)
		}
		d = time.Duration(f)
		if d > maxD {
			d = maxD
		}
	default: // Full
		d = time.Duration(u * float64(exp))
	}
	if d < retryAfter {
		d = retryAfter
	}
	return d
}
