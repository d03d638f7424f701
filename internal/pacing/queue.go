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

// remove drops key; it reports whether it was there.
func (q *queue) remove(key string) bool {
	it, ok := q.byKey[key]
	if !ok {
		return false
	}
	delete(q.byKey, key)
	if i := slices.Index(q.items, it); i >= 0 {
		q.items = slices.Delete(q.items, i, i+1)
	}
	q.dirty = true
	return true
}

// headAt is the waiter that may be granted at now: the first in order whose publishAt has come and whose
// daily/pending cap has room. A waiter parked on a full 24h cap does not block waiters that use another
// cap (an inbox draft does not wait a day behind a direct post); among waiters in contention the order is
// strict, so nobody waits behind a lower priority.
func (a *account) headAt(now int64) *qitem {
	var capFull [numWindows]int8 // 0 unknown, 1 room, 2 full
	for _, it := range a.q.items {
		if it.pub > now || it.kind == kindInvalid {
			continue
		}
		if w := kindCap[it.kind]; w >= 0 {
			if capFull[w] == 0 {
				capFull[w] = 1
				if a.count(int(w), now) >= a.eff[w] {
					capFull[w] = 2
				}
			}
			if capFull[w] == 2 {
				continue
			}
		}
		return it
	}
	return nil
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
	if a.guard[w] > t {
		t = a.guard[w]
	}
	eff := a.eff[w]
	if eff <= 0 {
		return never
	}
	if c := len(ends); c >= eff && ends[c-eff] > t {
		return ends[c-eff]
	}
	return t
}

func (q *queue) vadd(w int, end int64) {
	i, _ := slices.BinarySearch(q.vends[w], end)
	q.vends[w] = slices.Insert(q.vends[w], i, end)
}

// project recomputes every waiter's projected position and slot time by replaying the scheduler in
// virtual time from now: at each step the head (as headAt defines it) takes the earliest slot its windows,
// minInterval and the cooldown allow, unless a waiter ahead of it in order becomes ready first. Projected
// calls are assumed answered at once (latency 0), so projections are a lower bound; the controller
// rewrites nextAttemptTime only when the projection moves by more than a window (invariant 5).
// Cost O(k^2) in the queue length k with small constants; it runs only when the queue or the windows
// changed (or the plan fell behind the clock), not on every call.
func (a *account) project(now int64) {
	q := &a.q
	for w := range numWindows {
		v := q.vends[w][:0]
		for i := range a.log {
			e := &a.log[i]
			if e.occupies(w) {
				if x := e.end(a.win[w], a.maxInFlight); x > now {
					v = append(v, x)
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
		var capFree [numWindows]int64
		ready := func(it *qitem) int64 {
			r := t
			if it.pub > r {
				r = it.pub
			}
			if w := kindCap[it.kind]; w >= 0 {
				if capFree[w] == 0 {
					capFree[w] = q.vearliest(a, int(w), t)
				}
				if capFree[w] > r {
					r = capFree[w]
				}
			}
			if it.kind == kindInvalid {
				r = never
			}
			return r
		}
		head, next := -1, int64(never)
		for i, it := range pending {
			r := ready(it)
			if r <= t {
				head = i
				break
			}
			if r < next {
				next = r
			}
		}
		if head < 0 {
			if next == never {
				break
			}
			t = next
			continue
		}
		it := pending[head]
		T := t
		if a.throttledUntil > T {
			T = a.throttledUntil
		}
		if last != 0 && last+a.minInterval > T {
			T = last + a.minInterval
		}
		if w := kindRate[it.kind]; w >= 0 {
			T = max(T, q.vearliest(a, int(w), t))
		}
		if w := kindCap[it.kind]; w >= 0 {
			T = max(T, q.vearliest(a, int(w), t))
		}
		if next < T {
			t = next
			continue
		}
		if T == never {
			break
		}
		it.pos, it.at = pos, T
		pos++
		q.first = min(q.first, T)
		if w := kindRate[it.kind]; w >= 0 {
			q.vadd(int(w), T+a.win[w])
		}
		if w := kindCap[it.kind]; w >= 0 {
			q.vadd(int(w), T+a.win[w])
		}
		last = T
		pending = slices.Delete(pending, head, head+1)
		t = T
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
