package controllers

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/pacing"
)

// view fills the dashboard part of the status from the engine: usage of every window, the cooldown,
// the queue, and the checkpoint a restart resumes from.
func (r *AccountQuotaReconciler) view(ctx context.Context, s *accountScope) {
	st := &s.aq.Status
	now := r.Clock.Now()
	usage := r.Engine.Usage(s.acct.engine(), now)
	st.Usage = st.Usage[:0:0]
	active := r.Engine.QueueLen(s.acct.engine()) > 0
	for _, u := range usage {
		lu := v1alpha1.LimitUsage{Name: u.Name, Limit: int32(u.Limit), EffectiveLimit: int32(u.Effective),
			Window: metav1.Duration{Duration: u.Window}, Used: int32(u.Used)}
		if u.Used > 0 && u.NextSlotAt.After(now) {
			lu.NextSlotAt = &metav1.Time{Time: u.NextSlotAt.Truncate(time.Second).Add(time.Second)}
		}
		if !u.LoweredAt.IsZero() {
			lu.LoweredAt = &metav1.Time{Time: u.LoweredAt.Truncate(time.Second)}
		}
		if !u.NextProbeAt.IsZero() {
			lu.NextProbeAt = &metav1.Time{Time: u.NextProbeAt.Truncate(time.Second).Add(time.Second)}
			if u.NextProbeAt.After(now) {
				s.due(lu.NextProbeAt.Time) // the limit may rise then: show it
			}
		}
		st.Usage = append(st.Usage, lu)
		logLearned(s, lu)
		if u.Used > 0 && u.Window <= time.Hour {
			active = true // a short window is moving: look again soon
		}
	}
	until, consecutive := r.Engine.Cooldown(s.acct.engine())
	st.ThrottledUntil = nil
	if until.After(now) {
		st.ThrottledUntil = &metav1.Time{Time: until.Truncate(time.Second).Add(time.Second)}
		markThrottled(&st.Conditions, s.aq.Generation, v1alpha1.ReasonRateLimited,
			fmt.Sprintf("TikTok answered 429 unexpectedly; the account cools down until %s", until.UTC().Format(time.RFC3339)))
		logThrottled(s, v1alpha1.ReasonRateLimited, until)
		s.due(until)
	} else if hold, reason, what := r.capHold(s.acct, now); !hold.IsZero() {
		st.ThrottledUntil = &metav1.Time{Time: hold.Truncate(time.Second).Add(time.Second)}
		markThrottled(&st.Conditions, s.aq.Generation, reason, fmt.Sprintf(
			"TikTok refused a post by the account's %s, which the operator's own posts do not fill (other apps of the "+
				"creator posted); its posts wait until %s, then one probes", what, hold.UTC().Format(time.RFC3339)))
		logThrottled(s, reason, hold)
		s.due(hold)
	} else {
		if meta.IsStatusConditionTrue(s.written.Conditions, v1alpha1.ConditionThrottled) {
			s.log.V(1).Info("the account's cooldown is over: its posts may go")
		}
		clearThrottled(&st.Conditions)
	}
	st.ConsecutiveThrottles = int32(consecutive)
	st.Queue = r.queueStatus(ctx, s, now)
	cp := checkpointOf(r.Engine.Snapshot(s.acct.engine()), now)
	if len(cp.Calls) == 0 && len(cp.Lowered) == 0 && cp.EpisodeStart == nil {
		cp = nil
	}
	st.Checkpoint = cp
	if active {
		// The figures move with the windows, but a reconcile can write them only at the account's next
		// turn (writeStatus): look again then, not every interval (with 1,000 accounts sharing a budget
		// of 10 writes a second, a turn comes every 100 s).
		next := now.Add(r.Options.AccountStatusInterval)
		if due := r.figuresDue(s.acct); due.After(next) {
			next = due
		}
		s.due(next)
	}
}

// logThrottled logs an account's cooldown or cap hold when it starts or changes reason (not at every
// reconcile while it lasts).
func logThrottled(s *accountScope, reason string, until time.Time) {
	if c := meta.FindStatusCondition(s.written.Conditions, v1alpha1.ConditionThrottled); c != nil && c.Reason == reason {
		return
	}
	s.log.V(1).Info("the account cools down: its posts wait", "reason", reason, "until", until)
}

// logLearned logs a window whose learned (effective) limit moved since the last status write: lowered
// after a refusal TikTok's documented limit did not explain, or raised one step after a clean stretch (on
// probation: the next call that needs the raised slot is the probe).
func logLearned(s *accountScope, lu v1alpha1.LimitUsage) {
	for _, w := range s.written.Usage {
		if w.Name != lu.Name || w.EffectiveLimit == lu.EffectiveLimit {
			continue
		}
		what := "learned limit lowered"
		if lu.EffectiveLimit > w.EffectiveLimit {
			what = "learned limit raised after a clean stretch: the next call that needs it probes"
		}
		kv := []any{"window", lu.Name, "limit", lu.Limit, "effectiveLimit", lu.EffectiveLimit, "was", w.EffectiveLimit}
		if lu.NextProbeAt != nil {
			kv = append(kv, "nextProbeAt", lu.NextProbeAt.Time)
		}
		s.log.V(1).Info(what, kv...)
	}
}

// capHold is the later running hold of the account's daily and pending-share caps (see
// pacing.Engine.CapReached), with its condition reason and the cap's name; zero if none.
func (r *AccountQuotaReconciler) capHold(acct accountKey, now time.Time) (time.Time, string, string) {
	daily := r.Engine.CapHold(acct.engine(), pacing.CallDirectVideoInit, now)
	pending := r.Engine.CapHold(acct.engine(), pacing.CallInboxVideoInit, now)
	if pending.After(daily) {
		return pending, v1alpha1.ReasonPendingShareCapReachedElsewhere, "pending-share cap"
	}
	if !daily.IsZero() {
		return daily, v1alpha1.ReasonDailyCapReachedElsewhere, "daily cap of direct posts"
	}
	return time.Time{}, "", ""
}

// queueStatus counts the account's posts by where they are (from the cache).
func (r *AccountQuotaReconciler) queueStatus(ctx context.Context, s *accountScope, now time.Time) *v1alpha1.QueueStatus {
	q := &v1alpha1.QueueStatus{Waiting: int32(r.Engine.QueueLen(s.acct.engine()))}
	var posts v1alpha1.TikTokPostList
	// Read-only: the cache's own objects, not copies (this runs on every phase change of a post).
	if err := r.List(ctx, &posts, client.InNamespace(s.aq.Namespace),
		client.MatchingFields{indexAccountRef: s.aq.Name}, client.UnsafeDisableDeepCopy); err != nil {
		// Only the count of waiting posts is known this time; the next reconcile counts again.
		s.log.Error(err, "listing the account's posts for status.queue")
		return q
	}
	dayAgo := now.Add(-24 * time.Hour)
	for i := range posts.Items {
		p := &posts.Items[i].Status
		switch p.Phase {
		case v1alpha1.PhasePublishing, v1alpha1.PhaseProcessing:
			q.InFlight++
		case v1alpha1.PhasePublished, v1alpha1.PhaseDelivered:
			if p.PublishedAt != nil && p.PublishedAt.After(dayAgo) {
				q.PublishedLast24h++
			}
		case v1alpha1.PhaseFailed:
			for _, c := range p.Conditions {
				if c.Type == v1alpha1.ConditionStalled && c.LastTransitionTime.After(dayAgo) {
					q.FailedLast24h++
				}
			}
		}
	}
	if *q == (v1alpha1.QueueStatus{}) {
		return nil
	}
	return q
}

// writeStatus writes the account's status when it changed in meaning, at most once per
// AccountStatusInterval for the moving figures (usage, queue, checkpoint); a change of conditions,
// creator or token is written at once.
func (r *AccountQuotaReconciler) writeStatus(ctx context.Context, s *accountScope) error {
	st := &s.aq.Status
	cmp := st.DeepCopy()
	if cmp.Checkpoint != nil && s.written.Checkpoint != nil {
		cmp.Checkpoint.TakenAt = s.written.Checkpoint.TakenAt // the time alone is no change
	}
	if equality.Semantic.DeepEqual(cmp, s.written) {
		return nil
	}
	urgent := !equality.Semantic.DeepEqual(st.Conditions, s.written.Conditions) ||
		!equality.Semantic.DeepEqual(st.Creator, s.written.Creator) ||
		!equality.Semantic.DeepEqual(st.Token, s.written.Token) ||
		st.ObservedGeneration != s.written.ObservedGeneration
	rt := r.Accounts.runtime(s.acct)
	if !urgent && !r.mayWriteFigures(s, rt) {
		return nil
	}
	// A PUT of the status subresource, like a post's (see TikTokPostReconciler.writeStatus): its
	// resourceVersion refuses a status computed from a stale copy.
	if err := r.Status().Update(ctx, s.aq); err != nil {
		return fmt.Errorf("writing the status of AccountQuota %s: %w", s.acct, err)
	}
	statusWrites.WithLabelValues("AccountQuota").Inc()
	s.aq.SetManagedFields(nil) // as for a post: a later write goes without the server's record
	rt.wroteStatus(r.Clock.Now())
	return nil
}

// mayWriteFigures reports whether a write of merely moved figures may go now: at most one per account
// every AccountStatusInterval, and within the process's budget of AccountStatusQPS. An account that may
// not write yet is due again when it may (its slot in the budget is reserved once, so accounts take
// turns instead of racing for each token).
func (r *AccountQuotaReconciler) mayWriteFigures(s *accountScope, rt *accountRuntime) bool {
	ok, due := rt.figuresSlot(r.Clock.Now(), r.Options.AccountStatusInterval, r.writeBudget)
	if !ok {
		s.due(due)
	}
	return ok
}

// figuresDue is when the account's next figures write may go (see accountRegistry.figuresDue).
func (r *AccountQuotaReconciler) figuresDue(acct accountKey) time.Time {
	return r.Accounts.figuresDue(acct, r.Options.AccountStatusInterval)
}

func labelsOf(o client.Object) labels.Set { return labels.Set(o.GetLabels()) }
