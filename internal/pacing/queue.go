package pacing

import (
	"slices"
	"strings"
	"time"
)

// Waiter is a post waiting for an init slot.
type Waiter struct {
	// Key identifies the waiter (e.g. "namespace/name" or the UID); Enqueue is idempotent by Key.
	Key string
	// Priority: higher goes first.
	Priority int32
	// PublishAt: not before (zero = now). A waiter whose PublishAt has not come does not block anyone.
	PublishAt time.Time
	// Created: the tie-breaker for equal priority and publishAt (first come, first served).
	Created time.Time
	// Name: the last tie-breaker, so the order is total and stable.
	Name string
	// Call is the init call the waiter will make.
	Call Call
}

// qitem is a waiter in the queue with its cached projection.
type qitem struct {
	w       Waiter
	kind    callKind
	pub     int64 // PublishAt in Unix ns, 0 if none
	created int64
	pos     int   // projected position (0 = next to be granted)
	at      int64 // projected slot time
}

// queue is an account's fair queue: items sorted by (priority desc, publishAt, created, name, key).
type queue struct {
	items []*qitem
	byKey map[string]*qitem
	dirty bool  // the projection must be recomputed
	first int64 // earliest projected slot; the projection is stale once now passes it
	runs  int   // number of recomputations (tests check the cache)

	// scratch buffers of the projection, kept to avoid reallocating on every recompute
	pending []*qitem
	vends   [numWindows][]int64
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func less(x, y *qitem) bool {
	if x.w.Priority != y.w.Priority {
		return x.w.Priority > y.w.Priority
	}
	if x.pub != y.pub {
		return x.pub < y.pub
	}
	if x.created != y.created {
		return x.created < y.created
	}
	if c := strings.Compare(x.w.Name, y.w.Name); c != 0 {
		return c < 0
	}
	return x.w.Key < y.w.Key
}

// upsert inserts or updates w; it reports whether the queue changed.
func (q *queue) upsert(w Waiter) bool {
	if q.byKey == nil {
		q.byKey = make(map[string]*qitem)
	}
	if it, ok := q.byKey[w.Key]; ok {
		if it.w.Priority == w.Priority && it.w.PublishAt.Equal(w.PublishAt) && it.w.Created.Equal(w.Created) &&
			it.w.Name == w.Name && it.w.Call == w.Call {
			return false
		}
		q.remove(w.Key)
	}
	it := &qitem{w: w, kind: w.Call.kind(), pub: nanos(w.PublishAt), created: nanos(w.Created)}
	i, _ := slices.BinarySearchFunc(q.items, it, func(a, b *qitem) int {
		if less(a, b) {
			return -1
		}
		return 1
	})
	q.items = slices.Insert(q.items, i, it)
	q.byKey[w.Key] = it
	q.dirty = true
	return true
}

// remove drops key, if it is there.
func (q *queue) remove(key string) {
	it, ok := q.byKey[key]
	if !ok {
		return
	}
	delete(q.byKey, key)
	if i := slices.Index(q.items, it); i >= 0 {
		q.items = slices.Delete(q.items, i, i+1)
	}
	q.dirty = true
}

// winMask is the set of windows a call kind counts in (as a bit mask over window indexes).
func winMask(k callKind) uint16 {
	var m uint16
	if w := kindRate[k]; w >= 0 {
		m |= 1 << w
	}
	if w := kindCap[k]; w >= 0 {
		m |= 1 << w
	}
	return m
}

// mayGo reports whether the queued waiter it may be granted at now. This is the queue's fairness rule,
// a work-conserving refinement of "only the head is granted":
//
//   - waiters whose publishAt has not come, or whose daily/pending cap is full (parked: the cap frees in
//     hours), are not in contention and block nobody;
//   - among waiters in contention the first in order (the head) goes as soon as its windows allow;
//   - a later waiter may go before a head only if granting it cannot delay any waiter ahead of it: it
//     shares no window (rate or cap) with any of them, and none of them could send within minInterval
//     anyway. So nobody ever waits behind a lower priority, equal priorities are first come first served
//     within a window, and an inbox draft does not sit idle behind a video init whose window is full.
func (a *account) mayGo(it *qitem, now int64) bool {
	if it.pub > now || it.kind == kindInvalid || a.earliest(it.kind, now, false) != now || a.initBusy(now) {
		return false
	}
	var capFull [numWindows]int8 // 0 unknown, 1 room, 2 full
	parked := func(x *qitem) bool {
		w := kindCap[x.kind]
		if w < 0 {
			return false
		}
		if capFull[w] == 0 {
			capFull[w] = 1
			if a.capHold[w] > now || a.count(int(w), now) >= a.eff[w] {
				capFull[w] = 2
			}
		}
		return capFull[w] == 2
	}
	if parked(it) {
		return false
	}
	mine := winMask(it.kind)
	soon := now + max(a.minInterval, 1)
	for _, x := range a.q.items {
		if x == it {
			return true
		}
		if x.pub > now || x.kind == kindInvalid || parked(x) {
			continue
		}
		if winMask(x.kind)&mine != 0 || a.earliest(x.kind, now, true) < soon {
			return false
		}
	}
	return false
}

// vearliest is earliestWin over the projection's virtual ends (sorted ascending, those <= t dropped).
func (q *queue) vearliest(a *account, w int, t int64) int64 {
	ends := q.vends[w]
	i := 0
	for i < len(ends) && ends[i] <= t {
		i++
	}
	if i > 0 {
		ends = ends[:copy(ends, ends[i:])]
		q.vends[w] = ends
	}
	t = max(t, a.guard[w], a.capHold[w])
	eff := a.eff[w]
	if eff <= 0 {
		return never
	}
	c := len(ends)
	if c >= eff && ends[c-eff] > t {
		return ends[c-eff]
	}
	if c == eff-1 && a.probing[w] {
		return a.probeAfter(w, t, true) // the next call would be the probe: only into a young window
	}
	return t
}

func (q *queue) vadd(w int, end int64) {
	i, _ := slices.BinarySearch(q.vends[w], end)
	q.vends[w] = slices.Insert(q.vends[w], i, end)
}

// project recomputes every waiter's projected position and slot time by replaying the scheduler in
// virtual time from now: at each event (a slot freeing, a publishAt coming) the first waiter that mayGo
// takes the slot. Projected
// calls are assumed answered at once (latency 0), so projections are a lower bound; the controller
// rewrites nextAttemptTime only when the projection moves by more than a window (invariant "bounded writes").
// Cost O(k^2) in the queue length k with small constants; it runs only when the queue or the windows
// changed (or the plan fell behind the clock), not on every call.
func (a *account) project(now int64) {
	q := &a.q
	q.runs++
	for w := range numWindows {
		v := q.vends[w][:0]
		for i := range a.log {
			e := &a.log[i]
			if e.occupies(w) {
				if x := e.end(a.win[w], a.maxInFlight); x > now {
					v = append(v, e.lowEnd(a.win[w], a.maxInFlight, now))
				}
			}
		}
		slices.Sort(v)
		q.vends[w] = v
	}
	pending := append(q.pending[:0], q.items...)
	t, last, pos := now, a.lastSend, 0
	q.first = never
	for len(pending) > 0 {
		// earliest per kind and cap state at t, computed lazily
		var kt [numKinds]int64
		var capAt [numWindows]int64
		capFree := func(w int8) int64 {
			if capAt[w] == 0 {
				capAt[w] = q.vearliest(a, int(w), t)
			}
			return capAt[w]
		}
		kindT := func(k callKind) int64 {
			if kt[k] == 0 {
				T := max(t, a.throttledUntil)
				if last != 0 {
					T = max(T, last+a.minInterval)
				}
				if w := kindRate[k]; w >= 0 {
					T = max(T, q.vearliest(a, int(w), t))
				}
				if w := kindCap[k]; w >= 0 {
					T = max(T, capFree(w))
				}
				kt[k] = T
			}
			return kt[k]
		}
		chosen, next := -1, int64(never)
		var mask uint16
		minT, soon := int64(never), t+max(a.minInterval, 1)
		for i, it := range pending {
			if it.kind == kindInvalid {
				continue
			}
			ready := max(t, it.pub)
			if w := kindCap[it.kind]; w >= 0 {
				ready = max(ready, capFree(w))
			}
			if ready > t { // not in contention yet
				next = min(next, ready)
				continue
			}
			T := kindT(it.kind)
			m := winMask(it.kind)
			if T == t && m&mask == 0 && minT >= soon {
				chosen = i
				break
			}
			if T > t { // a blocked waiter whose windows are free waits for the event that unblocks it
				next = min(next, T)
			}
			mask |= m
			minT = min(minT, T)
		}
		if chosen < 0 {
			if next == never || next <= t {
				break
			}
			t = next
			continue
		}
		it := pending[chosen]
		it.pos, it.at = pos, t
		pos++
		q.first = min(q.first, t)
		if w := kindRate[it.kind]; w >= 0 {
			q.vadd(int(w), t+a.win[w])
		}
		if w := kindCap[it.kind]; w >= 0 {
			q.vadd(int(w), t+a.win[w])
		}
		last = t
		pending = slices.Delete(pending, chosen, chosen+1)
	}
	for _, it := range pending { // unreachable slots (a limit of 0 requests, an unknown call)
		it.pos, it.at = pos, never
		pos++
	}
	q.pending = pending[:0]
	q.dirty = false
}

// projection returns the cached projection of it, recomputing it if stale.
func (a *account) projection(it *qitem, now int64) (int, int64) {
	if a.q.dirty || now > a.q.first {
		a.project(now)
	}
	return it.pos, it.at
}
