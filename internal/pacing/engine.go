package pacing

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/utils/clock"
)

// DefaultMaxInFlight is the in-flight bound: a call without an answer is assumed stamped by TikTok no
// later than sent+DefaultMaxInFlight, so it holds its slots until sent+DefaultMaxInFlight+window. It must
// exceed the TikTok client's request timeout (a request the client gave up on is not processed later).
const DefaultMaxInFlight = 2 * time.Minute

// Engine paces every account of the operator. It is safe for concurrent use: the account map has a
// read-write lock and each account its own mutex, so reconciles of different accounts never contend.
type Engine struct {
	clk         clock.PassiveClock
	rndMu       sync.Mutex
	rnd         func() float64
	maxInFlight atomic.Int64
	nextID      atomic.Uint64
	adaptive    atomic.Pointer[Adaptive]
	margin      atomic.Int64 // refusal margin (ns), see SetRefusalMargin

	mu       sync.RWMutex
	accounts map[string]*account
}

// account is the scheduler of one account. All fields are guarded by mu.
type account struct {
	mu      sync.Mutex
	eng     *Engine
	name    string
	limits  Limits
	backoff Backoff
	gone    bool // Forget was called: late Completes are ignored
	// adaptive is the account's own learning configuration (SetAccountAdaptive); nil: the engine's.
	adaptive *Adaptive

	req         [numWindows]int    // configured requests per window
	win         [numWindows]int64  // window lengths (ns)
	eff         [numWindows]int    // effective limits (learned from refusals, see adaptive.go)
	adjAt       [numWindows]int64  // start of the current clean period
	badAt       [numWindows]int    // highest effective limit that drew a refusal (0: none)
	probeMul    [numWindows]int    // stretches the clean period after refused probes
	probing     [numWindows]bool   // eff was raised one step and no probe has confirmed it yet
	probeID     [numWindows]uint64 // the probe call out (0: none)
	guard       [numWindows]int64  // restart guard: window considered full until then
	capHold     [numWindows]int64  // cap window held full until then: TikTok refused, others posted (CapReached)
	minInterval int64
	maxInFlight int64

	log     []entry // every call still inside one of its windows
	pruneAt int64   // no entry expires before this: prune has nothing to do until then
	hw      int64   // the latest "now" seen: time never goes back inside an account

	lastSend, prevSend int64
	lastSendID         uint64
	// initsOut are the init calls granted and not yet completed (ID -> send time): at most one goes at a
	// time (see initBusy).
	initsOut map[uint64]int64

	throttledUntil int64
	episodeStart   int64
	consecutive    int
	lastDelay      time.Duration

	q queue
}

// NewEngine returns an engine reading time from clk (used where the API takes no "now": Snapshot,
// Projection, Restore) and drawing jitter from rnd, a uniform source on [0,1); nil means math/rand/v2.
// rnd is only called under the engine's lock, so it need not be safe for concurrent use.
func NewEngine(clk clock.PassiveClock, rnd func() float64) *Engine {
	if clk == nil {
		clk = clock.RealClock{}
	}
	if rnd == nil {
		rnd = rand.Float64
	}
	e := &Engine{clk: clk, rnd: rnd, accounts: make(map[string]*account)}
	e.maxInFlight.Store(int64(DefaultMaxInFlight))
	e.margin.Store(int64(DefaultRefusalMargin))
	// Call IDs start at a random point so that IDs of different processes (a checkpoint written by the
	// previous leader) do not collide: Restore merges by ID.
	e.nextID.Store(rand.Uint64() >> 1)
	return e
}

// SetMaxInFlight changes the in-flight bound (see DefaultMaxInFlight) for accounts configured afterwards.
func (e *Engine) SetMaxInFlight(d time.Duration) { e.maxInFlight.Store(int64(d)) }

func (e *Engine) random() float64 {
	e.rndMu.Lock()
	defer e.rndMu.Unlock()
	return e.rnd()
}

func (e *Engine) get(name string) *account {
	e.mu.RLock()
	a := e.accounts[name]
	e.mu.RUnlock()
	return a
}

// getOrCreate returns the account, creating it with the default limits and backoff if unknown.
func (e *Engine) getOrCreate(name string) *account {
	if a := e.get(name); a != nil {
		return a
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if a := e.accounts[name]; a != nil {
		return a
	}
	a := &account{eng: e, name: name, maxInFlight: e.maxInFlight.Load()}
	a.configure(DefaultLimits(), DefaultBackoff(), true)
	e.accounts[name] = a
	return a
}

// Configure creates the account or updates its limits and backoff. The call history, the cooldown and
// the queue are kept. An effective limit lowered by a 429 stays lowered (capped by the new limit);
// otherwise it follows the new configured limit.
func (e *Engine) Configure(account string, limits Limits, backoff Backoff) {
	a := e.getOrCreate(account)
	a.mu.Lock()
	a.configure(limits, backoff, false)
	a.q.dirty = true
	a.mu.Unlock()
}

func (a *account) configure(l Limits, b Backoff, fresh bool) {
	a.limits, a.backoff = l, b
	a.pruneAt = 0 // window lengths may have changed: rescan
	a.minInterval = int64(l.MinInterval)
	for w := range numWindows {
		lim := l.limit(w)
		lowered := !fresh && (a.eff[w] < a.req[w] || a.probing[w])
		a.req[w], a.win[w] = lim.Requests, int64(lim.Window)
		if !lowered || a.eff[w] > a.req[w] {
			a.eff[w] = a.req[w]
		}
	}
}

// Forget drops the account and everything it knows (its AccountQuota was deleted). Reservations still
// out are ignored when completed.
func (e *Engine) Forget(account string) {
	e.mu.Lock()
	a := e.accounts[account]
	delete(e.accounts, account)
	e.mu.Unlock()
	if a != nil {
		a.mu.Lock()
		a.gone = true
		a.mu.Unlock()
	}
}

// advance moves the account's clock to now (never backwards: two reconciles may read the clock in one
// order and take the lock in the other; using the latest time seen keeps every decision safe), drops
// expired calls and lets the effective limits recover.
func (a *account) advance(t time.Time) int64 {
	now := nanos(t)
	if now < a.hw {
		now = a.hw
	}
	a.hw = now
	a.prune(now)
	a.recover(now)
	return now
}

// Enqueue adds a waiter to the account's fair queue, or updates its priority, publishAt, creation time,
// name or call if the key is already there. Idempotent: enqueuing the same waiter twice changes nothing.
// The account is created with the default limits if unknown.
func (e *Engine) Enqueue(account string, w Waiter) {
	a := e.getOrCreate(account)
	a.mu.Lock()
	a.q.upsert(w)
	a.mu.Unlock()
}

// Remove drops a waiter from the queue (post deleted, suspended, failed). Unknown keys are ignored.
func (e *Engine) Remove(account, key string) {
	if a := e.get(account); a != nil {
		a.mu.Lock()
		a.q.remove(key)
		a.mu.Unlock()
	}
}

// Reservation is a granted slot. The controller sends the call at once, then reports what happened with
// Complete. A reservation never completed keeps its slots until At+MaxInFlight+window (safe).
type Reservation struct {
	// Account is the account the slot belongs to.
	Account string
	// Key is the waiter's key ("" for ReserveCall).
	Key string
	// Call is the kind of call the slot is for.
	Call Call
	// ID identifies the call in the account's log.
	ID uint64
	// At is the send time the engine recorded. It may be later than the now passed to Reserve if another
	// goroutine had already moved the account's clock forward. Write it as the attempt's start time in the
	// post's status: RecordCall then recognises the call exactly after a restart.
	At time.Time

	acct *account
}

// Decision is the answer to Reserve and ReserveCall.
type Decision struct {
	// Granted: send now (and Complete the Reservation afterwards). A grant is only given when sending at
	// the decision's time is safe, so there is never "granted, but wait".
	Granted     bool
	Reservation Reservation
	// NotBefore: when not granted, the projected time of the slot, always after now: come back then
	// (requeue after NotBefore-now). It is a lower bound (calls in flight are assumed answered now), so
	// the slot is never missed; coming back may yield a later NotBefore. For a grant it equals
	// Reservation.At.
	NotBefore time.Time
	// Position is the projected position in the account's queue (0 = next to be granted); -1 if the key
	// is not enqueued. Always 0 for ReserveCall.
	Position int
}

func unix(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// Reserve asks a slot for the queued waiter key. Only the head of the queue can be granted (the first
// waiter in order whose publishAt has come and whose daily/pending cap has room; see mayGo for the one
// refinement: a waiter that shares no window with the blocked waiters ahead of it and cannot delay them),
// and only when its windows, minInterval and the cooldown all allow a send at now. A granted waiter leaves the queue (it
// is in flight); if the call is not made after all, Complete it as Abandoned and Enqueue it again.
// Everyone else gets the projected slot time and position.
func (e *Engine) Reserve(account, key string, now time.Time) Decision {
	a := e.get(account)
	if a == nil {
		return Decision{Position: -1}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	n := a.advance(now)
	it := a.q.byKey[key]
	if it == nil {
		return Decision{Position: -1}
	}
	if a.mayGo(it, n) {
		a.q.remove(key)
		r := a.grant(it.kind, it.w.Call, key, n)
		return Decision{Granted: true, Reservation: r, NotBefore: r.At}
	}
	pos, at := a.projection(it, n)
	if at < n+initBusyRecheck && a.initBusy(n) {
		// Due (or next after the head), but an init call is still out: the head comes back when that
		// call completes (the controller wakes it then), and the next in line when the head is granted;
		// this is only the fallback.
		at = n + initBusyRecheck
	}
	if at <= n {
		// Planned at this very instant, right after the head (minInterval 0): come back a tick later.
		at = n + 1
	}
	return Decision{NotBefore: unix(at), Position: pos}
}

// ReserveCall asks a slot for a call outside the fair queue: status fetches and creator info. It is
// granted as soon as its window, minInterval and the cooldown allow. (It works for init calls too, but
// bypasses the queue's fairness and the one-init-at-a-time rule: use Reserve for those. An init it grants
// does hold queued inits back until it completes.)
func (e *Engine) ReserveCall(account string, call Call, now time.Time) Decision {
	a := e.getOrCreate(account)
	a.mu.Lock()
	defer a.mu.Unlock()
	n := a.advance(now)
	k := call.kind()
	if k == kindInvalid {
		return Decision{NotBefore: unix(never)}
	}
	if a.earliest(k, n, false) != n {
		// The lower bound: calls in flight are assumed answered now.
		return Decision{NotBefore: unix(max(a.earliest(k, n, true), n+1))}
	}
	if t, yield := a.yieldToQueue(k, n); yield {
		return Decision{NotBefore: unix(t)}
	}
	r := a.grant(k, call, "", n)
	return Decision{Granted: true, Reservation: r, NotBefore: r.At}
}

// yieldToQueue keeps a status fetch or creator info call from taking the minInterval spacing just as a
// queued init is due: init slots are the scarce quota (6 a minute, 15 a day), these calls are not, and one
// sent then pushes the init (and the rest of its window) back by minInterval. The call waits until
// minInterval after the init. A head that is due but does not ask within a short grace (its reconcile is
// late, or it waits for something else) stops holding other calls back, so they cannot starve: the
// longest a call yields is the grace plus minInterval.
func (a *account) yieldToQueue(k callKind, now int64) (int64, bool) {
	if kindRate[k] != winStatus && kindRate[k] != winCreator || len(a.q.items) == 0 || a.minInterval <= 0 {
		return 0, false
	}
	if a.q.dirty || now > a.q.first {
		a.project(now)
	}
	first := a.q.first
	if first >= now+a.minInterval {
		return 0, false // no init due within minInterval
	}
	// A head due now (the projection is recomputed to now once its slot has passed) holds calls back
	// only while the spacing has just opened: past the grace it is late, and other calls go.
	grace := min(a.minInterval/2, int64(yieldGrace))
	if first <= now && now > a.lastSend+a.minInterval+grace {
		return 0, false
	}
	return max(first, now) + a.minInterval, true
}

// yieldGrace bounds how long a due init head that has not asked holds status and creator calls back.
const yieldGrace = 250 * time.Millisecond

// initBusyRecheck is when a head held back only by an init call still out asks again if the call's
// completion did not wake it (see Reserve).
const initBusyRecheck = int64(100 * time.Millisecond)

// isInit says whether k is a post init (the calls that spend the scarce quota).
func isInit(k callKind) bool { return kindCap[k] >= 0 }

// initBusy says whether an init call of the account is out: granted, and neither completed nor older than
// the in-flight bound (a reservation never completed stops holding the next one back then). Init calls go
// one at a time: when TikTok's real limit is below the configured one, the 429 that says so is known
// before the next init leaves, instead of two or three being sent into the same refusal (with many
// reconcile workers and a slow API server, the intent writes took longer than minInterval and the calls
// overlapped). In the windows' terms this costs nothing while a call's round trip, intent write included,
// is shorter than minInterval.
func (a *account) initBusy(now int64) bool {
	for id, sent := range a.initsOut {
		if sent > now-a.maxInFlight {
			return true
		}
		delete(a.initsOut, id)
	}
	return false
}

// grant records a call sent at now in the log: it occupies every window of its kind from now on.
func (a *account) grant(k callKind, call Call, key string, now int64) Reservation {
	id := a.eng.nextID.Add(1)
	if isInit(k) {
		if a.initsOut == nil {
			a.initsOut = map[uint64]int64{}
		}
		a.initsOut[id] = now
	}
	a.markProbe(int(kindRate[k]), id, now)
	a.log = append(a.log, entry{id: id, sent: now, kind: k, out: uint8(Pending)})
	a.touched(&a.log[len(a.log)-1])
	a.prevSend, a.lastSend, a.lastSendID = a.lastSend, now, id
	a.q.dirty = true
	return Reservation{Account: a.name, Key: key, Call: call, ID: id, At: unix(now), acct: a}
}

// Complete reports what became of a reserved call: sent is when the request left (>= r.At), answered
// when its answer arrived (zero if it never did: the call then holds its slots until
// r.At+MaxInFlight+window). The outcome decides what keeps counting (see Outcome); Throttled also runs the
// adaptive cooldown (Engine.Throttled explains when a 429 is expected). Completing twice updates the
// record; completing a reservation of a forgotten account does nothing.
func (e *Engine) Complete(r Reservation, sent, answered time.Time, outcome Outcome) {
	a := r.acct
	if a == nil {
		if a = e.get(r.Account); a == nil {
			return
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.gone {
		return
	}
	ref := answered
	if ref.IsZero() {
		ref = sent
	}
	now := a.advance(ref)
	k := r.Call.kind()
	i := a.find(r.ID)
	a.q.dirty = true
	delete(a.initsOut, r.ID)
	if outcome == Abandoned {
		if i >= 0 {
			a.log = append(a.log[:i], a.log[i+1:]...)
		}
		if r.ID == a.lastSendID {
			a.lastSend, a.lastSendID = a.prevSend, 0
		}
		return
	}
	if outcome == Pending {
		outcome = Uncertain
	}
	// minInterval counts from when the request actually left. A grant is followed by work of the caller's
	// (an init's intent is written to the post's status first), so the send comes later than r.At by a
	// varying amount: spacing counted from the grants alone let two sends arrive closer than minInterval
	// when the first one's write was the slower.
	if s := nanos(sent); s > a.lastSend {
		if r.ID != a.lastSendID {
			a.prevSend = max(a.prevSend, s) // what an abandoned later grant falls back to
		}
		a.lastSend = s
	}
	at := nanos(r.At)
	ans := nanos(answered)
	if ans != 0 && ans < at {
		ans = at
	}
	if i < 0 {
		// Pruned: the answer came after the in-flight bound. Put it back while it still occupies a window.
		if k == kindInvalid {
			return
		}
		en := entry{id: r.ID, sent: at, ans: ans, kind: k, out: uint8(outcome)}
		if a.maxEnd(&en) > now {
			a.log = append(a.log, en)
			a.touched(&en)
		}
	} else {
		a.log[i].ans, a.log[i].out = ans, uint8(outcome)
		a.touched(&a.log[i])
	}
	if k != kindInvalid && outcome != Throttled {
		a.probeAnswered(int(kindRate[k]), r.ID, now, outcome)
	}
	if outcome == Throttled {
		s := max(nanos(sent), at)
		a.throttle(k, r.ID, s, now, 0)
		return
	}
	a.consecutive, a.lastDelay = 0, 0
}

// Throttled reports a 429 for call at now, with the server's Retry-After (zero if absent), and returns
// the end of the account's cooldown. Use it for a 429 that carried a Retry-After (after Complete with
// Throttled; it is then recognised as the same episode and only applies the floor) or for a 429 the
// engine did not reserve. A 429 arriving while a cooldown runs is part of the same episode: it extends the
// cooldown to now+retryAfter but does not count as another consecutive throttle.
func (e *Engine) Throttled(account string, call Call, now time.Time, retryAfter time.Duration) (until time.Time) {
	a := e.getOrCreate(account)
	a.mu.Lock()
	defer a.mu.Unlock()
	n := a.advance(now)
	a.q.dirty = true
	return unix(a.throttle(call.kind(), 0, 0, n, retryAfter))
}

// Cooldown returns the end of the account's cooldown (zero if none ever) and the number of consecutive
// unexpected 429 episodes (reset by the next answer that is not a 429).
func (e *Engine) Cooldown(account string) (until time.Time, consecutive int) {
	a := e.get(account)
	if a == nil {
		return time.Time{}, 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return unix(a.throttledUntil), a.consecutive
}

// Projection returns the projected position (0 = next) and slot time of a queued waiter, at the engine
// clock's now; ok is false if the key is not queued. It is cached per account and recomputed only when
// the queue or the windows changed.
func (e *Engine) Projection(account, key string) (position int, at time.Time, ok bool) {
	a := e.get(account)
	if a == nil {
		return 0, time.Time{}, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	it := a.q.byKey[key]
	if it == nil {
		return 0, time.Time{}, false
	}
	n := a.advance(e.clk.Now())
	pos, t := a.projection(it, n)
	return pos, unix(t), true
}

// QueueLen returns the number of waiters queued for the account (for AccountQuota status.queue.waiting).
func (e *Engine) QueueLen(account string) int {
	a := e.get(account)
	if a == nil {
		return 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.q.items)
}

// Usage is one limit as a dashboard shows it (AccountQuota status.usage).
type Usage struct {
	// Name: "postInit/video", "postInit/inbox", "postInit/photo", "statusFetch", "creatorInfo",
	// "dailyPosts", "pendingShares".
	Name string `json:"name"`
	// Limit is the configured limit, Effective the current one (lower after unexpected 429s).
	Limit     int `json:"limit"`
	Effective int `json:"effective"`
	// Used is the number of calls occupying the window now (by the safe counting rule).
	Used   int           `json:"used"`
	Window time.Duration `json:"window"`
	// NextSlotAt is when the window has room at the soonest (now if it has; calls in flight assumed
	// answered now), ignoring minInterval and the cooldown.
	NextSlotAt time.Time `json:"nextSlotAt"`
	// LoweredAt and NextProbeAt are set while the window's limit is below the configured one (or a raised
	// step is on probation), zero otherwise. LoweredAt is when the effective limit was last lowered by a
	// refusal or a raised step confirmed by a probe: the start of the clean stretch the next probe counts
	// from. NextProbeAt is when that stretch ends and the limit may rise one step (with a single probe
	// call); at or before now while a raised step waits for its probe.
	LoweredAt   time.Time `json:"loweredAt,omitzero"`
	NextProbeAt time.Time `json:"nextProbeAt,omitzero"`
}

// Usage returns the state of every window of the account at now, in a fixed order.
func (e *Engine) Usage(account string, now time.Time) []Usage {
	a := e.get(account)
	if a == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	n := a.advance(now)
	out := make([]Usage, numWindows)
	for w := range numWindows {
		out[w] = Usage{Name: windowNames[w], Limit: a.req[w], Effective: a.eff[w], Used: a.count(w, n),
			Window: time.Duration(a.win[w]), NextSlotAt: unix(a.earliestWin(w, n, true))}
		if a.eff[w] < a.req[w] || a.probing[w] {
			out[w].LoweredAt = unix(a.adjAt[w])
			out[w].NextProbeAt = unix(a.adjAt[w] + a.stretch(w))
		}
	}
	return out
}
