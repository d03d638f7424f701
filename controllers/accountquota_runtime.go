package controllers

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"golang.org/x/time/rate"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/pacing"
)

// accountRuntime is what the process knows of one account beyond the engine: which spec the engine was
// configured with, whether its windows were rebuilt after start, and when its status was last written.
type accountRuntime struct {
	mu            sync.Mutex
	uid           types.UID
	configuredGen int64
	warm          bool
	// queuedAll says every post of the account that will wait for a slot is in the engine's queue (so
	// that projections count everyone ahead): set by the rebuild and when the account is found ready,
	// cleared when a post finds it not ready and leaves the queue.
	queuedAll bool
	lastWrite time.Time
	// writeSlot is when this account's next coalesced status write may go, reserved from the process's
	// write budget (zero when none is reserved).
	writeSlot time.Time
	// creator is the newest creator_info this process fetched: the cache may not show our own status
	// write yet, and a reconcile that read the stale object must not ask TikTok again (or flap to
	// not-ready while it waits for a slot).
	creator *v1alpha1.CreatorInfo
	// bannedAt is when an init call was refused with spam_risk_user_banned_from_posting: from then on no
	// post of the account calls TikTok, without waiting for the account's next creator_info.
	bannedAt time.Time
	// creatorAskedAt is when creator_info was last asked (answered or not): a ban learnt from a post is
	// checked with one creator_info call, not one per reconcile.
	creatorAskedAt time.Time
	// epoch counts the times the account's pacing state was forgotten because its Lease changed hands.
	epoch uint64
}

// creatorState returns the newest creator_info this process fetched (a copy; nil when none), when a post
// learnt that the creator is banned, and when creator_info was last asked.
func (rt *accountRuntime) creatorState() (creator *v1alpha1.CreatorInfo, bannedAt, askedAt time.Time) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.creator.DeepCopy(), rt.bannedAt, rt.creatorAskedAt
}

// creatorAsked records that creator_info was asked (answered or not) at `at`.
func (rt *accountRuntime) creatorAsked(at time.Time) {
	rt.mu.Lock()
	rt.creatorAskedAt = at
	rt.mu.Unlock()
}

// creatorFetched records creator_info's answer (a copy is kept). It came without a ban: the creator may
// post again.
func (rt *accountRuntime) creatorFetched(c *v1alpha1.CreatorInfo) {
	rt.mu.Lock()
	rt.creator = c.DeepCopy()
	rt.bannedAt = time.Time{}
	rt.mu.Unlock()
}

// wroteStatus records a status write of the account at `at`; it carried the figures too, so a reserved
// figures slot is spent.
func (rt *accountRuntime) wroteStatus(at time.Time) {
	rt.mu.Lock()
	rt.lastWrite = at
	rt.writeSlot = time.Time{}
	rt.mu.Unlock()
}

// figuresSlot says whether a write of merely moved figures may go at now, and when it may otherwise: at
// most one every interval, and within the process's budget (a slot is reserved once, so accounts take
// turns instead of racing for each token).
func (rt *accountRuntime) figuresSlot(now time.Time, interval time.Duration, budget *rate.Limiter) (ok bool, due time.Time) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if next := rt.lastWrite.Add(interval); now.Before(next) {
		return false, next
	}
	if rt.writeSlot.IsZero() {
		rt.writeSlot = now.Add(budget.ReserveN(now, 1).DelayFrom(now))
	}
	if now.Before(rt.writeSlot) {
		return false, rt.writeSlot
	}
	return true, time.Time{}
}

// markBanned records that TikTok refused a post because the creator is banned.
func (g *accountRegistry) markBanned(acct accountKey, at time.Time) {
	rt := g.runtime(acct)
	rt.mu.Lock()
	if rt.bannedAt.IsZero() {
		rt.bannedAt = at
	}
	rt.mu.Unlock()
}

// bannedSince returns when TikTok said the account's creator is banned (zero if it has not).
func (g *accountRegistry) bannedSince(acct accountKey) time.Time {
	rt := g.runtime(acct)
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.bannedAt
}

// accountRegistry prepares the pacing engine for an account before anyone reserves a slot on it. Both
// reconcilers call prepare, whichever sees the account first; it configures the engine from the spec
// and, once per process, rebuilds the windows (invariant "restart-safe pacing").
type accountRegistry struct {
	engine *pacing.Engine
	reader client.Reader
	now    func() time.Time

	mu       sync.Mutex
	accounts map[accountKey]*accountRuntime
}

func newAccountRegistry(e *pacing.Engine, r client.Reader, now func() time.Time) *accountRegistry {
	return &accountRegistry{engine: e, reader: r, now: now, accounts: map[accountKey]*accountRuntime{}}
}

// figuresDue is the earliest time the account's moved figures may be written: interval after its last
// status write, or its reserved turn in the process's write budget, whichever is later. Zero for an
// account this process has not met.
func (g *accountRegistry) figuresDue(acct accountKey, interval time.Duration) time.Time {
	g.mu.Lock()
	rt := g.accounts[acct]
	g.mu.Unlock()
	if rt == nil {
		return time.Time{}
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	due := rt.writeSlot
	if next := rt.lastWrite.Add(interval); !rt.lastWrite.IsZero() && next.After(due) {
		due = next
	}
	return due
}

func (g *accountRegistry) runtime(acct accountKey) *accountRuntime {
	g.mu.Lock()
	defer g.mu.Unlock()
	rt := g.accounts[acct]
	if rt == nil {
		rt = &accountRuntime{}
		g.accounts[acct] = rt
	}
	return rt
}

// keys lists the accounts the registry holds.
func (g *accountRegistry) keys() []accountKey {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]accountKey, 0, len(g.accounts))
	for k := range g.accounts {
		out = append(out, k)
	}
	return out
}

// forget drops an account that no longer exists.
func (g *accountRegistry) forget(acct accountKey) {
	g.mu.Lock()
	delete(g.accounts, acct)
	g.mu.Unlock()
	g.engine.Forget(acct.engine())
}

// prepare configures the engine for aq (when its spec changed) and rebuilds its windows once.
func (g *accountRegistry) prepare(ctx context.Context, aq *v1alpha1.AccountQuota) error {
	acct := accountKeyOf(aq.Namespace, aq.Name)
	rt := g.runtime(acct)
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.uid != aq.UID {
		// A new account, or one deleted and created again under the same name: start over.
		if rt.uid != "" {
			g.engine.Forget(acct.engine())
		}
		rt.uid, rt.configuredGen, rt.warm = aq.UID, 0, false
	}
	if rt.configuredGen != aq.Generation {
		g.engine.Configure(acct.engine(), limitsOf(aq.Spec.Limits), backoffOf(aq.Spec.Backoff))
		g.engine.SetAccountAdaptive(acct.engine(), adaptiveOf(aq.Spec.Adaptive))
		rt.configuredGen = aq.Generation
	}
	if rt.warm {
		return nil
	}
	if err := g.rebuild(ctx, acct, aq); err != nil {
		return fmt.Errorf("rebuilding the pacing windows of %s: %w", acct, err)
	}
	rt.warm, rt.queuedAll = true, true
	return nil
}

// notReady records that the account's posts are leaving its queue (the account is not ready).
func (g *accountRegistry) notReady(acct accountKey) {
	rt := g.runtime(acct)
	rt.mu.Lock()
	rt.queuedAll = false
	rt.mu.Unlock()
}

// queueAll puts every post of a ready account that will wait for a slot in its queue at once, unless
// they are there already: posts that left it while the account was not ready come back together,
// not one reconcile at a time (each late arrival would move the projections of the posts behind it,
// and a move costs a status write).
func (g *accountRegistry) queueAll(ctx context.Context, acct accountKey, aq *v1alpha1.AccountQuota) error {
	rt := g.runtime(acct)
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.queuedAll {
		return nil
	}
	posts, err := g.postsOf(ctx, aq)
	if err != nil {
		return err
	}
	g.enqueueWaiting(acct, aq, posts)
	rt.queuedAll = true
	return nil
}

// postsOf lists the account's posts from the cache: the cache's own objects, to be read only.
func (g *accountRegistry) postsOf(ctx context.Context, aq *v1alpha1.AccountQuota) ([]v1alpha1.TikTokPost, error) {
	var posts v1alpha1.TikTokPostList
	if err := g.reader.List(ctx, &posts, client.InNamespace(aq.Namespace),
		client.MatchingFields{indexAccountRef: aq.Name}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("listing the posts of %s: %w", aq.Name, err)
	}
	return posts.Items, nil
}

// enqueueWaiting puts every post that will wait for a slot in the account's queue, so that the first
// projections told to posts count everyone ahead of them (otherwise a start-up's projections would
// move as the posts' first reconciles come in, and each move would cost a status write). A post that
// should not wait after all leaves the queue at its own reconcile.
func (g *accountRegistry) enqueueWaiting(acct accountKey, aq *v1alpha1.AccountQuota, posts []v1alpha1.TikTokPost) {
	now := g.now()
	for i := range posts {
		if mayQueue(&posts[i], aq, now) {
			g.engine.Enqueue(acct.engine(), waiterOf(&posts[i], time.Time{}))
		}
	}
}

// rebuild restores the account's checkpoint and replays every init call recorded in its posts'
// statuses. Init calls are exact (their intent is written before they are sent); status fetches and
// creator info calls are known only up to the checkpoint, so the engine guards those windows for one
// window after a restore (see pacing.Engine.Restore).
func (g *accountRegistry) rebuild(ctx context.Context, acct accountKey, aq *v1alpha1.AccountQuota) error {
	if cp := aq.Status.Checkpoint; cp != nil {
		g.engine.Restore(acct.engine(), stateOf(aq.Status))
	}
	posts, err := g.postsOf(ctx, aq)
	if err != nil {
		return err
	}
	for i := range posts {
		p := &posts[i]
		call := callOf(&p.Spec)
		for _, h := range p.Status.AttemptHistory {
			var answered time.Time
			if h.EndTime != nil {
				answered = h.EndTime.Time
			}
			g.engine.RecordCall(acct.engine(), call, h.StartTime.Time, answered, outcomeOfAttempt(h.Outcome, h.EndTime != nil))
		}
	}
	g.enqueueWaiting(acct, aq, posts)
	return nil
}

// waiterOf is the post's place in its account's fair queue: priority, then publishAt (or the end of
// its backoff, which also keeps it from blocking the others meanwhile), then creation time and name.
// notBefore is the precise backoff end this process knows (zero after a restart: status tells).
func waiterOf(p *v1alpha1.TikTokPost, notBefore time.Time) pacing.Waiter {
	spec, st := &p.Spec, &p.Status
	if notBefore.IsZero() && st.Attempts > 0 && st.LastError != nil && st.NextAttemptTime != nil {
		notBefore = st.NextAttemptTime.Time // after a restart: the backoff written to status
	}
	w := pacing.Waiter{Key: p.Name, Priority: spec.Priority, Created: p.CreationTimestamp.Time, Name: p.Name, Call: callOf(spec)}
	if spec.PublishAt != nil {
		w.PublishAt = spec.PublishAt.Time
	}
	if notBefore.After(w.PublishAt) {
		w.PublishAt = notBefore
	}
	return w
}

// mayQueue says whether a post will wait in its account's queue, as far as the account alone tells.
func mayQueue(p *v1alpha1.TikTokPost, aq *v1alpha1.AccountQuota, now time.Time) bool {
	switch p.Status.Phase {
	case "", v1alpha1.PhasePending, v1alpha1.PhaseScheduled, v1alpha1.PhaseQueued:
	default:
		return false
	}
	if p.Spec.Suspend || aq.Spec.Suspend || !p.DeletionTimestamp.IsZero() ||
		(p.Spec.Deadline != nil && !now.Before(p.Spec.Deadline.Time)) {
		return false
	}
	reason, _ := preflight(&p.Spec, aq)
	return reason == ""
}

// limitsOf turns the CRD's limits into the engine's (the CRD's defaults fill every field).
func limitsOf(l v1alpha1.AccountLimits) pacing.Limits {
	d := pacing.DefaultLimits()
	conv := func(r v1alpha1.RateLimit, def pacing.Limit) pacing.Limit {
		if r.Requests <= 0 || r.Window.Duration <= 0 {
			return def
		}
		return pacing.Limit{Requests: int(r.Requests), Window: r.Window.Duration}
	}
	out := pacing.Limits{
		PostInit:      conv(l.PostInit, d.PostInit),
		StatusFetch:   conv(l.StatusFetch, d.StatusFetch),
		CreatorInfo:   conv(l.CreatorInfo, d.CreatorInfo),
		DailyPosts:    conv(l.DailyPosts, d.DailyPosts),
		PendingShares: conv(l.PendingShares, d.PendingShares),
		MinInterval:   l.MinInterval.Duration,
	}
	return out
}

// adaptiveOf is the engine's learning configuration of spec.adaptive (zero fields: the engine's defaults,
// which are the CRD's).
func adaptiveOf(a v1alpha1.AdaptivePolicy) pacing.Adaptive {
	c := pacing.Adaptive{CleanWindows: int(a.CleanWindows), MaxStretch: a.MaxStretch.Duration}
	if a.Penalty != nil { // unset: the engine's default guess, one slot of the learned limit
		c.Penalty = a.Penalty.Duration
		if c.Penalty == 0 {
			c.Penalty = pacing.NoPenalty
		}
	}
	return c
}

func backoffOf(b v1alpha1.BackoffPolicy) pacing.Backoff {
	return pacing.Backoff{Initial: b.Initial.Duration, Max: b.Max.Duration, Jitter: pacing.Jitter(b.Jitter)}
}

// callOf is the kind of init call a post makes.
func callOf(s *v1alpha1.TikTokPostSpec) pacing.Call {
	switch {
	case s.Photo != nil && s.Mode == v1alpha1.ModeUpload:
		return pacing.CallUploadPhotoInit
	case s.Photo != nil:
		return pacing.CallDirectPhotoInit
	case s.Mode == v1alpha1.ModeUpload:
		return pacing.CallInboxVideoInit
	default:
		return pacing.CallDirectVideoInit
	}
}

// outcomeOfAttempt maps an attempt's recorded outcome to what the engine counts. An attempt without an
// end time was cut short by a crash: it may have reached TikTok.
func outcomeOfAttempt(o string, answered bool) pacing.Outcome {
	if !answered {
		return pacing.Pending
	}
	switch o {
	case v1alpha1.AttemptOutcomeAccepted, v1alpha1.AttemptOutcomeProcessingFailed:
		return pacing.Accepted
	case v1alpha1.AttemptOutcomeRateLimited:
		return pacing.Throttled
	case v1alpha1.AttemptOutcomeRejected, v1alpha1.AttemptOutcomeRetryableError:
		return pacing.Rejected
	default:
		return pacing.Uncertain
	}
}

// maxCheckpointCalls is the CRD's bound on status.checkpoint.calls: a longer list would make every
// status write of the account fail validation.
const maxCheckpointCalls = 500

// checkpointOf converts the engine's state into the AccountQuota's status form: the calls still inside
// a window (the newest maxCheckpointCalls of them), and what the adaptive engine learned (the current
// 429 episode, the last cooldown delay, the lowered limits), so that a restart resumes the same limits.
// Times are cut to the microsecond the API server keeps (answers rounded up, so a restored call never
// frees its slot early): with nanoseconds, every comparison with the stored status would differ and an
// idle account would be rewritten at every interval.
func checkpointOf(s pacing.State, takenAt time.Time) *v1alpha1.PacingCheckpoint {
	cp := &v1alpha1.PacingCheckpoint{TakenAt: metav1.NewMicroTime(takenAt.Truncate(time.Microsecond))}
	calls := s.Calls
	if len(calls) > maxCheckpointCalls {
		calls = calls[len(calls)-maxCheckpointCalls:]
	}
	for _, c := range calls {
		rc := v1alpha1.RecordedCall{Call: string(c.Call), Sent: microOf(c.Sent, false), Outcome: c.Outcome.String()}
		if c.Answered != 0 {
			a := microOf(c.Answered, true)
			rc.Answered = &a
		}
		cp.Calls = append(cp.Calls, rc)
	}
	if s.EpisodeStart != 0 && (len(s.Adaptive) > 0 || s.ThrottledUntil > takenAt.UnixNano()) {
		e := microOf(s.EpisodeStart, false)
		cp.EpisodeStart = &e
		if s.LastDelay > 0 {
			cp.LastCooldown = &metav1.Duration{Duration: s.LastDelay}
		}
	}
	for i, ad := range s.Adaptive {
		if i == maxLowered {
			break
		}
		cp.Lowered = append(cp.Lowered, v1alpha1.LoweredLimit{Name: ad.Name, Effective: int32(max(ad.Effective, 1)),
			Since: microOf(ad.Since, false), FailedAt: int32(ad.BadAt), ProbeMultiplier: int32(ad.ProbeMul)})
	}
	return cp
}

// maxLowered is the CRD's bound on status.checkpoint.lowered (the engine has fewer windows than that).
const maxLowered = 16

// microOf turns Unix nanoseconds into a MicroTime, rounded down, or up when up is set.
func microOf(ns int64, up bool) metav1.MicroTime {
	t := time.Unix(0, ns).UTC()
	if tr := t.Truncate(time.Microsecond); up && tr.Before(t) {
		return metav1.NewMicroTime(tr.Add(time.Microsecond))
	}
	return metav1.NewMicroTime(t.Truncate(time.Microsecond))
}

// stateOf reads the checkpoint (and the cooldown) back from an AccountQuota's status.
func stateOf(st v1alpha1.AccountQuotaStatus) pacing.State {
	var s pacing.State
	if st.ThrottledUntil != nil {
		// status.throttledUntil is the cooldown, or the hold of a cap when the Throttled condition says so
		// (see AccountQuotaReconciler.capHold): a hold must not come back as a cooldown of every call.
		switch c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionThrottled); {
		case c != nil && c.Reason == v1alpha1.ReasonDailyCapReachedElsewhere:
			s.DailyHeldUntil = st.ThrottledUntil.UnixNano()
		case c != nil && c.Reason == v1alpha1.ReasonPendingShareCapReachedElsewhere:
			s.PendingHeldUntil = st.ThrottledUntil.UnixNano()
		default:
			s.ThrottledUntil = st.ThrottledUntil.UnixNano()
		}
	}
	s.ConsecutiveThrottles = int(st.ConsecutiveThrottles)
	cp := st.Checkpoint
	if cp == nil {
		return s
	}
	for _, c := range cp.Calls {
		r := pacing.CallRecord{Call: pacing.Call(c.Call), Sent: c.Sent.UnixNano(), Outcome: outcomeByName(c.Outcome)}
		if c.Answered != nil {
			r.Answered = c.Answered.UnixNano()
		}
		s.Calls = append(s.Calls, r)
	}
	if cp.EpisodeStart != nil {
		s.EpisodeStart = cp.EpisodeStart.UnixNano()
	}
	if cp.LastCooldown != nil {
		s.LastDelay = cp.LastCooldown.Duration
	}
	for _, l := range cp.Lowered {
		s.Adaptive = append(s.Adaptive, pacing.AdaptiveState{Name: l.Name, Effective: int(l.Effective),
			Since: l.Since.UnixNano(), BadAt: int(l.FailedAt), ProbeMul: int(l.ProbeMultiplier)})
	}
	return s
}

func outcomeByName(n string) pacing.Outcome {
	for o := pacing.Pending; o <= pacing.Abandoned; o++ {
		if o.String() == n {
			return o
		}
	}
	return pacing.Uncertain
}
