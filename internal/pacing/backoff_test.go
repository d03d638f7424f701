package pacing

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestBackoffDelayPinned(t *testing.T) {
	s := time.Second
	b := func(j Jitter) Backoff { return Backoff{Initial: s, Max: 10 * s, Jitter: j} }
	cases := []struct {
		name       string
		b          Backoff
		attempt    int
		prev       time.Duration
		u          float64
		retryAfter time.Duration
		want       time.Duration
	}{
		{"none 1", b(JitterNone), 1, 0, 0.7, 0, s},
		{"none 3", b(JitterNone), 3, 0, 0.7, 0, 4 * s},
		{"none capped", b(JitterNone), 5, 0, 0.7, 0, 10 * s},
		{"none huge attempt does not overflow", b(JitterNone), 10000, 0, 0, 0, 10 * s},
		{"attempt 0 is attempt 1", b(JitterNone), 0, 0, 0, 0, s},
		{"full 3 half", b(JitterFull), 3, 0, 0.5, 0, 2 * s},
		{"full 3 zero", b(JitterFull), 3, 0, 0, 0, 0},
		{"full capped", b(JitterFull), 8, 0, 0.5, 0, 5 * s},
		{"empty jitter is Full", b(""), 3, 0, 0.25, 0, s},
		{"equal 3 zero", b(JitterEqual), 3, 0, 0, 0, 2 * s},
		{"equal 3 half", b(JitterEqual), 3, 0, 0.5, 0, 3 * s},
		{"decorrelated first", b(JitterDecorrelated), 1, 0, 0, 0, s},
		{"decorrelated grows from prev", b(JitterDecorrelated), 2, 2 * s, 0.5, 0, 3500 * time.Millisecond},
		{"decorrelated capped", b(JitterDecorrelated), 3, 8 * s, 0.9, 0, 10 * s},
		{"retry-after is a floor", b(JitterFull), 3, 0, 0, 7 * s, 7 * s},
		{"retry-after above max wins", b(JitterEqual), 3, 0, 0.5, 30 * s, 30 * s},
		{"retry-after below delay ignored", b(JitterNone), 3, 0, 0, s, 4 * s},
		{"zero config uses defaults", Backoff{Jitter: JitterNone}, 2, 0, 0, 0, 2 * s},
		{"u out of range clamped", b(JitterFull), 1, 0, 1.5, 0, s - 1},
	}
	for _, c := range cases {
		if got := c.b.Delay(c.attempt, c.prev, c.u, c.retryAfter); got != c.want && (c.name != "u out of range clamped" || got <= s-time.Microsecond || got >= s) {
			t.Errorf("%s: Delay = %s, want %s", c.name, got, c.want)
		}
	}
}

// Bounds that hold for every strategy, attempt and random draw.
func TestBackoffDelayBounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		b := Backoff{Initial: time.Duration(1+rng.IntN(5000)) * time.Millisecond, Max: time.Duration(1+rng.IntN(600)) * time.Second,
			Jitter: []Jitter{JitterNone, JitterFull, JitterEqual, JitterDecorrelated}[i%4]}
		if b.Max < b.Initial {
			b.Max = b.Initial
		}
		attempt := 1 + rng.IntN(40)
		prev := time.Duration(rng.Int64N(int64(b.Max) + 1))
		d := b.Delay(attempt, prev, rng.Float64(), 0)
		exp := b.Initial
		for k := 1; k < attempt && exp < b.Max; k++ {
			exp *= 2
		}
		exp = min(exp, b.Max)
		lo, hi := time.Duration(0), b.Max
		switch b.Jitter {
		case JitterNone:
			lo = exp
		case JitterEqual:
			lo = exp / 2
		case JitterDecorrelated:
			lo, hi = b.Initial, min(b.Max, 3*max(prev, b.Initial))
		}
		if d < lo || d > hi {
			t.Fatalf("%+v attempt %d prev %s: %s outside [%s, %s]", b, attempt, prev, d, lo, hi)
		}
		ra := time.Duration(rng.Int64N(int64(time.Hour)))
		if d2 := b.Delay(attempt, prev, 0.3, ra); d2 < ra {
			t.Fatalf("retry-after %s not a floor: %s", ra, d2)
		}
	}
}
