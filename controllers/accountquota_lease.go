package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
)

// One manager at a time paces an account (issue "never twice, never stuck", item 3). Each AccountQuota has
// a coordination.k8s.io Lease in its namespace, named after it (accountLeaseName) and owned by it (garbage-
// collected with it). Its holderIdentity is the manager that paces the account; every TikTok call of the
// account (init, status poll, creator_info, token refresh) and every status write of its posts is made by
// that manager only:
//
//   - A manager acts on an account only while its Lease is valid: renewed (or acquired) less than two thirds
//     of the lease duration ago. The runnable renews every held Lease each third of its duration while the
//     account has work (posts waiting, scheduled or in flight, or a reconcile acted on it within the last
//     duration): with Options.AccountLeaseDuration while a post is in flight or the queue's head is due
//     within ten durations, with ten durations while the posts merely wait (a backlog held back by the
//     daily cap costs a tenth of the writes). An idle account's Lease is left to lapse, so an idle fleet
//     costs no writes.
//   - Another manager takes a Lease over only once it lapsed: not changed for a whole lease duration since
//     it saw it (its own clock, as client-go's leader election does), and only when the account has work.
//     A Lease the holder released (graceful shutdown, after its last call) is free at once.
//   - Taking a Lease over (or acquiring it for the first time in this process) forgets the account's pacing
//     state and rebuilds it from the AccountQuota's checkpoint and the posts' statuses, where the previous
//     holder's calls are recorded (an init's intent is written before the call). A holder whose renewal
//     finds the Lease written by someone else has lost it: it forgets the account's pacing state at once.
//   - A manager that finds the account held by another leaves it alone and says so: once per holder change
//     it logs and records a Warning Event AccountHeldElsewhere on the AccountQuota naming both managers, and
//     it sets the AccountQuota condition Contended=True (reason AccountHeldElsewhere) naming the holder.
//
// Why a condition of its own (Contended) and no status field: the holder writes the AccountQuota's status
// with a PUT from its cache, and keeps every condition it does not own, so the non-holder's condition
// survives the holder's writes and costs one conflict (409) at most when it is written. The message names
// only the holder, so all non-holders agree on it and it is written once per holder change, not once per
// non-holder. The holder removes it when it names another holder (after a takeover) or is older than
// contendedTTL; a non-holder that still finds the account held sets it again, so the condition goes away
// within contendedTTL of the last overlapping manager stopping. The Lease itself (kubectl get lease) shows
// the current holder: no status field is needed for it.

// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;update

const (
	// leaseSuffix ends the name of an account's Lease.
	leaseSuffix = ".tiktok-operator"
	// AccountLeaseLabel marks the account Leases: the manager's cache watches only Leases that carry it.
	AccountLeaseLabel = "publish.tiktok-operator.dev/account-lease"
	// contendedFactor times the lease duration is how long a Contended condition stands without a
	// non-holder setting it again.
	contendedFactor = 10
	// idleLeaseFactor times the lease duration is the duration of an idle account's Lease (idleDuration).
	idleLeaseFactor = 10
)

// accountLeaseName is the name of an account's Lease: the AccountQuota's name and leaseSuffix, or, when
// that would be longer than a Lease name may be (253), the name cut short with a hash of the full name.
func accountLeaseName(aqName string) string {
	n := aqName + leaseSuffix
	if len(n) <= validation.DNS1123SubdomainMaxLength {
		return n
	}
	sum := sha256.Sum256([]byte(aqName))
	h := hex.EncodeToString(sum[:8])
	keep := validation.DNS1123SubdomainMaxLength - len(leaseSuffix) - 1 - len(h)
	return strings.TrimRight(aqName[:keep], "-.") + "-" + h + leaseSuffix
}

// accountHolder holds this manager's account Leases.
type accountHolder struct {
	client   client.Client // reads Leases from the cache, writes them to the API server
	live     client.Reader // reads a Lease past the cache after a write conflict
	clock    clock.PassiveClock
	identity string
	duration time.Duration
	// drain bounds how long a shutdown waits for reconciles in flight before it releases the Leases.
	drain    time.Duration
	recorder events.EventRecorder
	log      logr.Logger

	// reset forgets an account's pacing state (taken over, or lost): the next prepare rebuilds it.
	reset func(acct accountKey)
	// busy says whether an account has work that keeps its Lease renewed (work), and whether a call of
	// it is in flight or due within the idle lease duration (active: short renewals).
	busy func(ctx context.Context, acct accountKey) (work, active bool)

	mu       sync.Mutex
	accounts map[accountKey]*holdState

	// closed is set when the manager stops: no account is acted on any more.
	closed atomic.Bool
	// active counts the reconciles running (a shutdown releases the Leases after the last one).
	active atomic.Int64
}

// holdState is what this manager knows of one account's Lease.
type holdState struct {
	// validUntil (Unix ns, 0 when not held) is when this manager stops acting on the account unless it
	// renews the Lease: read without the mutex, so a reconcile never waits for a renewal in flight.
	validUntil atomic.Int64
	// wanted (Unix ns) is when a reconcile last acted on the account.
	wanted atomic.Int64

	mu sync.Mutex
	// mine is the Lease as this manager last wrote it, while it holds it (nil otherwise).
	mine *coordinationv1.Lease
	// renewed is when the write that made mine was sent, and dur the lease duration it wrote: the holder
	// acts until two thirds of dur after renewed.
	renewed time.Time
	dur     time.Duration
	// seen is the resourceVersion of the other holder's Lease last seen, and seenAt when it was first seen:
	// the Lease lapses a lease duration after seenAt if it does not change meanwhile.
	seen   string
	seenAt time.Time
	// reported is the other holder last reported in an Event ("" while we hold the account).
	reported string
}

// valid records how long the holder may act after its last write (under mu).
func (st *holdState) valid() { st.validUntil.Store(st.renewed.Add(validity(st.dur)).UnixNano()) }

// holdResult is the answer to hold.
type holdResult struct {
	// held: this manager may act on the account now.
	held bool
	// takeover: the Lease was just acquired from another holder (or for the first time by this process):
	// the account's pacing state was forgotten and is rebuilt by the next prepare.
	takeover bool
	// holder is the other manager that holds the account ("" when none does).
	holder string
	// lapse is when the other holder's Lease lapses if it is not renewed.
	lapse time.Time
}

func newAccountHolder(c client.Client, live client.Reader, opts Options, rec events.EventRecorder) *accountHolder {
	return &accountHolder{
		client: c, live: live, clock: opts.Clock, identity: opts.Identity, duration: opts.AccountLeaseDuration,
		drain: 2*opts.CallTimeout + 5*time.Second, recorder: rec, log: ctrl.Log.WithName("account-lease"),
		reset: func(accountKey) {}, busy: func(context.Context, accountKey) (bool, bool) { return true, true },
		accounts: map[accountKey]*holdState{},
	}
}

func (h *accountHolder) state(acct accountKey) *holdState {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.accounts[acct]
	if st == nil {
		st = &holdState{}
		h.accounts[acct] = st
	}
	return st
}

func (h *accountHolder) keys() []accountKey {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]accountKey, 0, len(h.accounts))
	for k := range h.accounts {
		out = append(out, k)
	}
	return out
}

// forget drops a deleted account (its Lease goes with it: it is owned by the AccountQuota).
func (h *accountHolder) forget(acct accountKey) {
	h.mu.Lock()
	delete(h.accounts, acct)
	h.mu.Unlock()
}

// validity is how long after a successful renewal with lease duration d the holder acts: the last third is
// the margin for a call's intent write and for the other managers' caches, before anyone may take over.
func validity(d time.Duration) time.Duration { return d * 2 / 3 }

// idleDuration is the lease duration of an account whose posts wait, none in flight and none due within
// it (a backlog waiting for its daily cap): renewed ten times less often, taken over ten times later.
func (h *accountHolder) idleDuration() time.Duration { return idleLeaseFactor * h.duration }

// hold says whether this manager may act on the account now, acquiring or re-acquiring its Lease if it
// may: when the Lease does not exist, was released, is this manager's own, or lapsed and takeOver says the
// account has work. Decisions are serialised per account.
func (h *accountHolder) hold(ctx context.Context, aq *v1alpha1.AccountQuota, takeOver func() bool) (holdResult, error) {
	acct := accountKeyOf(aq.Namespace, aq.Name)
	st := h.state(acct)
	if h.closed.Load() {
		return holdResult{}, nil
	}
	if now := h.clock.Now().UnixNano(); now < st.validUntil.Load() {
		st.wanted.Store(now)
		return holdResult{held: true}, nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	now := h.clock.Now()
	if st.mine != nil && now.Before(st.renewed.Add(validity(st.dur))) {
		st.wanted.Store(now.UnixNano())
		return holdResult{held: true}, nil
	}
	cur := st.mine // our own Lease, lapsed for us: renewed with its resourceVersion, unless someone wrote it
	if cur == nil {
		l := &coordinationv1.Lease{}
		err := h.client.Get(ctx, types.NamespacedName{Namespace: aq.Namespace, Name: accountLeaseName(aq.Name)}, l)
		if err != nil && !apierrors.IsNotFound(err) {
			return holdResult{}, fmt.Errorf("reading the Lease of %s: %w", acct, err)
		}
		if err == nil {
			cur = l
		}
	}
	res, retry, err := h.try(ctx, st, acct, aq, cur, now, takeOver)
	if !retry {
		return res, err
	}
	// Somebody else wrote the Lease since it was read: decide once more on the live copy.
	live := &coordinationv1.Lease{}
	if err := h.live.Get(ctx, types.NamespacedName{Namespace: aq.Namespace, Name: accountLeaseName(aq.Name)}, live); err != nil {
		if !apierrors.IsNotFound(err) {
			return holdResult{}, fmt.Errorf("reading the Lease of %s: %w", acct, err)
		}
		live = nil
	}
	res, retry, err = h.try(ctx, st, acct, aq, live, h.clock.Now(), takeOver)
	if retry {
		return holdResult{}, nil // lost another race: the caller comes back soon
	}
	return res, err
}

// try decides on one copy of the Lease (nil: none exists) and acquires it when it may. retry says the
// write lost a race (conflict, or created meanwhile).
func (h *accountHolder) try(ctx context.Context, st *holdState, acct accountKey, aq *v1alpha1.AccountQuota,
	cur *coordinationv1.Lease, now time.Time, takeOver func() bool) (holdResult, bool, error) {
	holder := ""
	if cur != nil {
		holder = ptr.Deref(cur.Spec.HolderIdentity, "")
	}
	if holder != "" && holder != h.identity {
		if st.mine != nil {
			h.lose(st, acct, holder)
		}
		if cur.ResourceVersion != st.seen {
			st.seen, st.seenAt = cur.ResourceVersion, now
		}
		res := holdResult{holder: holder, lapse: st.seenAt.Add(leaseDuration(cur, h.duration))}
		if now.Before(res.lapse) || !takeOver() {
			return res, false, nil
		}
	}
	sent := h.clock.Now()
	desired := cur.DeepCopy()
	if desired == nil {
		desired = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{
			Namespace: aq.Namespace, Name: accountLeaseName(aq.Name),
			Labels: map[string]string{AccountLeaseLabel: "true"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: v1alpha1.GroupVersion.String(), Kind: "AccountQuota",
				Name: aq.Name, UID: aq.UID}},
		}}
	}
	spec := &desired.Spec
	if holder != h.identity {
		spec.AcquireTime = &metav1.MicroTime{Time: sent}
		if cur != nil {
			spec.LeaseTransitions = ptr.To(ptr.Deref(spec.LeaseTransitions, 0) + 1)
		}
	}
	spec.HolderIdentity = ptr.To(h.identity)
	spec.LeaseDurationSeconds = ptr.To(int32(h.duration / time.Second))
	spec.RenewTime = &metav1.MicroTime{Time: sent}
	var err error
	if cur == nil {
		err = h.client.Create(ctx, desired)
	} else {
		err = h.client.Update(ctx, desired)
	}
	if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) || (cur != nil && apierrors.IsNotFound(err)) {
		// Written, created or deleted by someone else since it was read.
		if st.mine != nil {
			h.lose(st, acct, "")
		}
		return holdResult{}, true, nil
	}
	if err != nil {
		return holdResult{}, false, fmt.Errorf("acquiring the Lease of %s: %w", acct, err)
	}
	// Renewing our own last copy keeps the pacing state: nobody wrote the Lease in between, so nobody else
	// made a call. Anything else (a first acquisition, a Lease released or taken from another) rebuilds it.
	takeover := st.mine == nil || cur != st.mine
	if takeover {
		// Forgotten before the Lease counts as held: no reconcile may pace the account from the old state.
		h.reset(acct)
		h.log.Info("holding the account's Lease: rebuilding its pacing state", "account", acct,
			"lease", desired.Name, "previousHolder", holder, "identity", h.identity)
	}
	st.mine, st.renewed, st.dur, st.seen, st.reported = desired, sent, h.duration, "", ""
	st.wanted.Store(now.UnixNano())
	st.valid()
	return holdResult{held: true, takeover: takeover}, false, nil
}

// holding says whether this manager may act on the account now: its Lease is held and still valid.
func (h *accountHolder) holding(acct accountKey) bool {
	h.mu.Lock()
	st := h.accounts[acct]
	h.mu.Unlock()
	return st != nil && h.clock.Now().UnixNano() < st.validUntil.Load()
}

// lose forgets a Lease this manager thought it held and the account's pacing state with it.
func (h *accountHolder) lose(st *holdState, acct accountKey, holder string) {
	st.mine = nil
	st.validUntil.Store(0)
	h.reset(acct)
	h.log.Info("lost the account's Lease: forgetting its pacing state", "account", acct, "holder", holder, "identity", h.identity)
}

// leaseDuration is the Lease's own duration (its holder's setting), or def when it has none.
func leaseDuration(l *coordinationv1.Lease, def time.Duration) time.Duration {
	if s := ptr.Deref(l.Spec.LeaseDurationSeconds, 0); s > 0 {
		return time.Duration(s) * time.Second
	}
	return def
}

// observe records a Lease event: a renewal of another holder's Lease is seen when it happens, so that it
// is taken to lapse a lease duration after its last renewal, not after the next look at it.
func (h *accountHolder) observe(l *coordinationv1.Lease) {
	acct, ok := accountOfLease(l)
	if !ok {
		return
	}
	holder := ptr.Deref(l.Spec.HolderIdentity, "")
	if holder == "" || holder == h.identity {
		return
	}
	st := h.state(acct)
	if !st.mu.TryLock() {
		return // a decision on this account is being made: it reads the Lease itself
	}
	if st.seen != l.ResourceVersion {
		st.seen, st.seenAt = l.ResourceVersion, h.clock.Now()
	}
	st.mu.Unlock()
}

// renewDue renews every Lease this manager holds that is a third of its duration old, while its account has
// work: with the lease duration while a call of the account is in flight or due within the idle duration,
// with the idle duration (ten times longer) while its posts merely wait. Run by Start; tests call it with a
// fake clock.
func (h *accountHolder) renewDue(ctx context.Context) {
	for _, acct := range h.keys() {
		if h.closed.Load() {
			return
		}
		st := h.state(acct)
		st.mu.Lock()
		h.renew(ctx, st, acct)
		st.mu.Unlock()
	}
}

func (h *accountHolder) renew(ctx context.Context, st *holdState, acct accountKey) {
	if st.mine == nil {
		return
	}
	now := h.clock.Now()
	work, active := h.busy(ctx, acct)
	if !work && now.Sub(time.Unix(0, st.wanted.Load())) >= h.duration {
		return // idle: the Lease lapses, and the next reconcile that needs the account re-acquires it
	}
	want := h.duration
	if work && !active {
		want = h.idleDuration()
	}
	if now.Before(st.renewed.Add(st.dur/3)) && want >= st.dur {
		return // not due, and not to be shortened (an account that became active is renewed at once)
	}
	desired := st.mine.DeepCopy()
	desired.Spec.RenewTime = &metav1.MicroTime{Time: now}
	desired.Spec.LeaseDurationSeconds = ptr.To(int32(want / time.Second))
	switch err := h.client.Update(ctx, desired); {
	case err == nil:
		st.mine, st.renewed, st.dur = desired, now, want
		st.valid()
	case apierrors.IsConflict(err) || apierrors.IsNotFound(err):
		h.lose(st, acct, "") // written or deleted by someone else
	default:
		h.log.Error(err, "renewing the account's Lease (the account is left alone once it is not renewed in time)",
			"account", acct)
	}
}

// Start renews the held Leases until the manager stops, then releases them once the reconciles in flight
// ended (their last call answered and written), so another manager can take the accounts over at once.
func (h *accountHolder) Start(ctx context.Context) error {
	t := time.NewTicker(max(h.duration/6, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			h.release()
			return nil
		case <-t.C:
			h.renewDue(ctx)
		}
	}
}

// NeedLeaderElection: with leader election on, only the leader acts on accounts.
func (h *accountHolder) NeedLeaderElection() bool { return true }

// release stops all action on accounts, waits for the reconciles in flight, and gives every held Lease up.
func (h *accountHolder) release() {
	h.closed.Store(true)
	for deadline := time.Now().Add(h.drain); h.active.Load() > 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, acct := range h.keys() {
		st := h.state(acct)
		st.mu.Lock()
		if st.mine != nil {
			desired := st.mine.DeepCopy()
			desired.Spec.HolderIdentity = nil
			desired.Spec.RenewTime = &metav1.MicroTime{Time: h.clock.Now()}
			if err := h.client.Update(ctx, desired); err != nil && !apierrors.IsConflict(err) {
				h.log.Error(err, "releasing the account's Lease (it lapses instead)", "account", acct)
			}
			st.mine = nil
			st.validUntil.Store(0)
		}
		st.mu.Unlock()
	}
}

// report logs and records a Warning Event when the account is found held by another manager, once per
// holder change.
func (h *accountHolder) report(aq *v1alpha1.AccountQuota, res holdResult) {
	if res.holder == "" {
		return
	}
	st := h.state(accountKeyOf(aq.Namespace, aq.Name))
	st.mu.Lock()
	first := st.reported != res.holder
	st.reported = res.holder
	st.mu.Unlock()
	if !first {
		return
	}
	h.log.Info("the account is held by another manager: leaving it alone", "account", accountKeyOf(aq.Namespace, aq.Name),
		"holder", res.holder, "identity", h.identity, "lapsesAt", res.lapse.UTC().Format(time.RFC3339Nano))
	if h.recorder != nil {
		h.recorder.Eventf(aq, nil, corev1.EventTypeWarning, v1alpha1.ReasonAccountHeldElsewhere, v1alpha1.ReasonAccountHeldElsewhere,
			"Manager %s leaves this account alone: its Lease %s is held by %s. More than one manager matches this "+
				"AccountQuota (overlapping --account-selector values, or replicas without --leader-elect)",
			h.identity, accountLeaseName(aq.Name), res.holder)
	}
}

// contendedMessage is the Contended condition's message: it names the holder only, so every non-holder
// writes the same one.
func contendedMessage(aq *v1alpha1.AccountQuota, holder string) string {
	return fmt.Sprintf("the account's Lease %s is held by %s; other managers that match this AccountQuota "+
		"(overlapping --account-selector values, or replicas without --leader-elect) leave it alone",
		accountLeaseName(aq.Name), holder)
}

// track counts the reconciles in flight, so that a shutdown releases the Leases after the last one.
func (h *accountHolder) track(r reconcile.Reconciler) reconcile.Reconciler {
	return reconcile.Func(func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
		h.active.Add(1)
		defer h.active.Add(-1)
		return r.Reconcile(ctx, req)
	})
}

// accountOfLease is the account key of an account Lease (from its owner reference).
func accountOfLease(l metav1.Object) (accountKey, bool) {
	for _, o := range l.GetOwnerReferences() {
		if o.Kind == "AccountQuota" && strings.HasPrefix(o.APIVersion, v1alpha1.GroupVersion.Group+"/") {
			return accountKeyOf(l.GetNamespace(), o.Name), true
		}
	}
	return "", false
}

// holderChanged passes Lease events that change who holds it (renewals are not passed).
func holderChanged() predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		o, ok1 := e.ObjectOld.(*coordinationv1.Lease)
		n, ok2 := e.ObjectNew.(*coordinationv1.Lease)
		return !ok1 || !ok2 || ptr.Deref(o.Spec.HolderIdentity, "") != ptr.Deref(n.Spec.HolderIdentity, "")
	}}
}

// observer records every Lease event for the lapse, from the cache's start (see Setup).
func (h *accountHolder) observer() toolscache.ResourceEventHandler {
	see := func(o any) {
		if l, ok := o.(*coordinationv1.Lease); ok {
			h.observe(l)
		}
	}
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc:    see,
		UpdateFunc: func(_, o any) { see(o) },
	}
}

// accountOfLeaseRequest wakes the AccountQuota of an account Lease (the watch passes only the events that
// change its holder; every Lease event is recorded for the lapse by observer, from the cache's start).
func accountOfLeaseRequest(_ context.Context, o client.Object) []reconcile.Request {
	acct, ok := accountOfLease(o)
	if !ok {
		return nil
	}
	return []reconcile.Request{{NamespacedName: acct.namespacedName()}}
}

// postsOfLease maps an account Lease to the posts of its account that still wait on it.
func (r *TikTokPostReconciler) postsOfLease(ctx context.Context, o client.Object) []reconcile.Request {
	acct, ok := accountOfLease(o)
	if !ok {
		return nil
	}
	return r.postsOfAccount(ctx, &v1alpha1.AccountQuota{ObjectMeta: metav1.ObjectMeta{Namespace: acct.Namespace(), Name: acct.Name()}})
}

// reset forgets the account's pacing state: the engine's windows, queue and cooldown, and that they were
// rebuilt. The next prepare configures the engine again and rebuilds it from the checkpoint and statuses.
func (g *accountRegistry) reset(acct accountKey) {
	rt := g.runtime(acct)
	rt.mu.Lock()
	g.engine.Forget(acct.engine())
	rt.configuredGen, rt.warm, rt.queuedAll = 0, false, false
	rt.epoch++
	rt.mu.Unlock()
}

// epoch counts the resets of the account: a post's memory from an earlier epoch is stale (see
// postMemory.epoch).
func (g *accountRegistry) epoch(acct accountKey) uint64 {
	rt := g.runtime(acct)
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.epoch
}

// hasWork says whether the account has posts that wait for a call or are in flight (scheduled ones
// included): the holder keeps renewing its Lease meanwhile, and a lapsed Lease is taken over only then.
// Both use this one rule, so two managers never take an idle account from each other in turn.
func (g *accountRegistry) hasWork(ctx context.Context, aq *v1alpha1.AccountQuota) bool {
	posts, err := g.postsOf(ctx, aq)
	if err != nil {
		return true
	}
	now := g.now()
	for i := range posts {
		p := &posts[i]
		if (inFlight(p.Status.Phase) && !aq.Spec.Suspend) || mayQueue(p, aq, now) {
			return true
		}
	}
	return false
}

// busy is the holder's rule for renewing a Lease. work: the account is still this manager's (it exists and
// matches the selector: an account relabelled to another shard is left to lapse, and that shard takes it
// over) and has work (hasWork). active: a post of it is in flight, or the head of its queue is due within
// soon; the Lease is then renewed with the short duration, so that a crash is taken over quickly while
// calls are being made.
func (g *accountRegistry) busy(ctx context.Context, acct accountKey, sel labels.Selector, soon time.Duration) (work, active bool) {
	aq := &v1alpha1.AccountQuota{}
	if err := g.reader.Get(ctx, acct.namespacedName(), aq); err != nil {
		return !apierrors.IsNotFound(err), !apierrors.IsNotFound(err)
	}
	if !sel.Matches(labelsOf(aq)) || !aq.DeletionTimestamp.IsZero() {
		return false, false
	}
	posts, err := g.postsOf(ctx, aq)
	if err != nil {
		return true, true
	}
	now := g.now()
	for i := range posts {
		p := &posts[i]
		if inFlight(p.Status.Phase) && !aq.Spec.Suspend {
			return true, true
		}
		if mayQueue(p, aq, now) {
			work = true
		}
	}
	if head, ok := g.engine.Head(acct.engine(), now); ok {
		if _, at, ok := g.engine.Projection(acct.engine(), head); ok && at.Sub(now) < soon {
			return true, true
		}
	}
	return work || g.engine.QueueLen(acct.engine()) > 0, false
}

// leaseRaceRetry is how soon an object whose account's Lease nobody could be found holding (a race for it,
// or the manager stops) looks again.
const leaseRaceRetry = time.Second

// holdForPost is stepAccount's check: a post of an account another manager holds is left alone, its status
// unwritten (the holder writes it), and comes back when the holder changes (the Lease watch) or, at the
// latest, after accountWait.
func (r *TikTokPostReconciler) holdForPost(ctx context.Context, s *postScope) (stepResult, error) {
	aq := s.account
	res, err := r.Holders.hold(ctx, aq, func() bool { return r.Accounts.hasWork(ctx, aq) })
	if res.held && err == nil {
		return proceed(), nil
	}
	s.post.Status = *s.written.DeepCopy() // not a field of it is ours to write
	if err != nil {
		return stepResult{}, err
	}
	if res.holder == "" {
		return stop(ctrl.Result{RequeueAfter: leaseRaceRetry}), nil // a race for the Lease, or the manager stops
	}
	r.Holders.report(aq, res)
	return stop(ctrl.Result{RequeueAfter: accountWait}), nil
}

// holdForAccount is the AccountQuota reconciler's check: an account another manager holds gets no call and
// no figures from this one, only the Contended condition (see the top of this file); it is looked at again
// when its Lease could lapse. It stops the reconcile unless this manager holds the account.
func (r *AccountQuotaReconciler) holdForAccount(ctx context.Context, aq *v1alpha1.AccountQuota) (stepResult, error) {
	res, err := r.Holders.hold(ctx, aq, func() bool { return r.Accounts.hasWork(ctx, aq) })
	if err != nil {
		return stepResult{}, err
	}
	if res.held {
		return proceed(), nil
	}
	if res.holder == "" {
		return stop(ctrl.Result{RequeueAfter: leaseRaceRetry}), nil
	}
	r.Holders.report(aq, res)
	after := accountWait
	if left := res.lapse.Sub(r.Clock.Now()); left > 0 {
		after = left + r.Options.AccountLeaseDuration/10
	}
	msg := contendedMessage(aq, res.holder)
	if c := meta.FindStatusCondition(aq.Status.Conditions, v1alpha1.ConditionContended); c != nil &&
		c.Status == metav1.ConditionTrue && c.Message == msg {
		return stop(ctrl.Result{RequeueAfter: after}), nil
	}
	meta.SetStatusCondition(&aq.Status.Conditions, metav1.Condition{Type: v1alpha1.ConditionContended,
		Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonAccountHeldElsewhere, Message: msg,
		ObservedGeneration: aq.Generation, LastTransitionTime: metav1.NewTime(r.Clock.Now())})
	if err := r.Status().Update(ctx, aq); err != nil {
		if apierrors.IsConflict(err) {
			return stop(ctrl.Result{RequeueAfter: staleCopyRetry}), nil
		}
		return stepResult{}, fmt.Errorf("writing the Contended condition of %s/%s: %w", aq.Namespace, aq.Name, err)
	}
	statusWrites.WithLabelValues("AccountQuota").Inc()
	return stop(ctrl.Result{RequeueAfter: after}), nil
}

// tidyContended is the holder's side of the Contended condition: removed when it names another holder,
// or when no non-holder set it again for contendedFactor lease durations.
func (r *AccountQuotaReconciler) tidyContended(s *accountScope) {
	conds := &s.aq.Status.Conditions
	c := meta.FindStatusCondition(*conds, v1alpha1.ConditionContended)
	if c == nil {
		return
	}
	expires := c.LastTransitionTime.Add(contendedFactor * r.Options.AccountLeaseDuration)
	if c.Message != contendedMessage(s.aq, r.Options.Identity) || !s.now.Before(expires) {
		meta.RemoveStatusCondition(conds, v1alpha1.ConditionContended)
		return
	}
	s.due(expires)
}
