package controllers

import (
	"slices"
	"sync"
	"time"
)

// intentLead estimates how long an init's intent write takes, so that the head of a queue asks for its
// slot that much ahead (pacing.Engine.ReserveAhead) and its call leaves when the slot opens, not one
// write after it. The write sits between every grant and its call (invariant 2), so without the lead
// each step of the pace (the next call minInterval after this one, the first call of the next window)
// came one write late: at the real pace 10 ms in a second, at the benchmark's compressed pace a fifth of
// the spacing.
//
// The estimate is the median of the last writes. A lead longer than the write holds the call (and its
// worker) until the slot; a shorter one costs the pace the difference. The hold has a price beyond the
// worker: a process killed during it leaves an intent whose call never left, which the restart must
// treat as uncertain like any other cut attempt. The median keeps holds to about half of the inits and a
// few milliseconds each (the third quartile paced no better in the benchmark; the first quartile lost
// half the gain). The lead is 0 until enough writes were seen and never more than MaxIntentLead.
type intentLead struct {
	mu   sync.Mutex
	last [32]time.Duration
	n    int // writes observed
}

const (
	// minLeadSamples is how many intent writes are seen before any lead is used.
	minLeadSamples = 8
	// MaxIntentLead bounds the lead, and so how long before its call's slot an intent can be written.
	MaxIntentLead = 25 * time.Millisecond
)

// observe records how long an intent write took.
func (l *intentLead) observe(d time.Duration) {
	l.mu.Lock()
	l.last[l.n%len(l.last)] = d
	l.n++
	l.mu.Unlock()
}

// get is the lead to ask with now.
func (l *intentLead) get() time.Duration {
	l.mu.Lock()
	n := min(l.n, len(l.last))
	if n < minLeadSamples {
		l.mu.Unlock()
		return 0
	}
	s := slices.Clone(l.last[:n])
	l.mu.Unlock()
	slices.Sort(s)
	return min(max(s[n/2], 0), MaxIntentLead)
}
