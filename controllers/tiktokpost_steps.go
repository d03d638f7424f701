package controllers

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/pacing"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktok"
)

// accountWait is how long a post waits before looking at a missing or unready account again; the
// AccountQuota watch wakes it sooner when the account changes.
const accountWait = 5 * time.Minute

// credentialsWait is how soon a post whose account's token cannot be had (not loaded yet, or refused and
// not refreshed yet) asks again; the account's reconcile reports what is wrong with its credentials.
const credentialsWait = time.Second

// Work-queue priorities. A start-up's initial list comes in at controller-runtime's low priority, events
// at 0; a post waking for its projected slot goes first, since every moment it waits then is quota unused.
const (
	normalPriority = 0
	slotPriority   = 10
)

// withPriority gives a requeue a priority of its own. controller-runtime keeps the priority an item came in
// with when the result names none, so a post first seen in a start-up's initial list would keep the list's
// low priority for all its later timers, and its slot's wake-up would wait behind the rest of the list (the
// benchmark's first window boundary: 0.7 s late).
func withPriority(res ctrl.Result) ctrl.Result {
	if res.RequeueAfter > 0 && res.Priority == nil {
		res.Priority = ptr.To(normalPriority)
	}
	return res
}

// stepAccount finds the post's AccountQuota and prepares its pacing state. A missing or unready account
// holds the post back (it is not Failed: GitOps may apply the account after its posts).
func (r *TikTokPostReconciler) stepAccount(ctx context.Context, s *postScope) (stepResult, error) {
	st := s.status()
	gen := s.post.Generation
	s.acct = accountKeyFor(s.post)
	if s.mem.account != "" && s.mem.account != s.acct {
		r.Engine.Remove(s.mem.account.engine(), s.post.Name) // accountRef changed before the first attempt
	}
	s.mem.account = s.acct

	aq := &v1alpha1.AccountQuota{}
	err := r.Get(ctx, s.acct.namespacedName(), aq)
	if apierrors.IsNotFound(err) {
		r.Engine.Remove(s.acct.engine(), s.post.Name)
		if inFlight(st.Phase) {
			return stop(r.accountGone(s)), nil
		}
		clearProjection(st)
		markProgressing(&st.Conditions, gen, v1alpha1.ReasonAccountNotFound,
			fmt.Sprintf("AccountQuota %q not found in namespace %q", s.post.Spec.AccountRef.Name, s.post.Namespace))
		s.log.V(1).Info("account not found: the post waits outside the queue", "reason", v1alpha1.ReasonAccountNotFound,
			"retryIn", accountWait)
		return stop(ctrl.Result{RequeueAfter: accountWait}), nil
	}
	if err != nil {
		return stepResult{}, err
	}
	s.account = aq
	s.mem.accountGoneSince = time.Time{}
	// Only the manager that holds the account's Lease paces it and writes its posts (accountquota_lease.go).
	if held, err := r.holdForPost(ctx, s); held.stop || err != nil {
		return held, err
	}
	if err := r.Accounts.prepare(ctx, aq); err != nil {
		return stepResult{}, err
	}

	if aq.Spec.Suspend {
		return proceed(), nil // stepSuspend (or stepInFlight) holds the post back
	}
	if at := r.Accounts.bannedSince(s.acct); !at.IsZero() && !inFlight(st.Phase) {
		r.fail(s, v1alpha1.ReasonAccountBanned, fmt.Sprintf("TikTok refused a post of account %s at %s: the creator is banned from posting",
			aq.Name, at.UTC().Format(time.RFC3339)))
		return stop(ctrl.Result{}), nil
	}
	ready := meta.FindStatusCondition(aq.Status.Conditions, v1alpha1.ConditionReady)
	if ready != nil && ready.Reason == v1alpha1.ReasonAccountBanned && !inFlight(st.Phase) {
		r.fail(s, v1alpha1.ReasonAccountBanned, fmt.Sprintf("account %s is banned from posting: %s", aq.Name, ready.Message))
		return stop(ctrl.Result{}), nil
	}
	// An endpoint the manager does not admit holds the post back like an unready account, even before the
	// account's own reconcile says so (spec.endpoint may have just changed): nothing would be sent anyway.
	notAdmitted := r.TikTok.admit(aq)
	if ready == nil || ready.Status != metav1.ConditionTrue || notAdmitted != nil {
		if inFlight(st.Phase) {
			// A post TikTok already has keeps going as long as a token is loaded (the poll needs one).
			return proceed(), nil
		}
		r.Accounts.notReady(s.acct)
		r.Engine.Remove(s.acct.engine(), s.post.Name)
		clearProjection(st)
		msg := fmt.Sprintf("AccountQuota %s is not ready", aq.Name)
		switch {
		case notAdmitted != nil:
			msg += ": " + v1alpha1.ReasonEndpointNotAllowed + ": " + notAdmitted.Error()
		case ready != nil:
			msg += ": " + ready.Reason + ": " + ready.Message
		}
		if notAdmitted != nil || meta.IsStatusConditionTrue(aq.Status.Conditions, v1alpha1.ConditionStalled) {
			markStalled(&st.Conditions, gen, v1alpha1.ReasonAccountNotReady, msg)
		} else {
			markProgressing(&st.Conditions, gen, v1alpha1.ReasonAccountNotReady, msg)
		}
		s.log.V(1).Info("account not ready: the post leaves the queue", "reason", v1alpha1.ReasonAccountNotReady,
			"message", msg, "retryIn", accountWait)
		return stop(ctrl.Result{RequeueAfter: accountWait}), nil
	}
	if err := r.Accounts.queueAll(ctx, s.acct, aq); err != nil {
		return stepResult{}, err
	}
	return proceed(), nil
}

// accountGone waits for the deleted AccountQuota of a post in flight to come back (a GitOps tool may
// delete and re-create it), and fails the post with reason AccountNotFound once it has been gone for
// Options.AccountGoneGrace: without the account there is no token to follow the post with. The publish id,
// when TikTok gave one, is in the message.
func (r *TikTokPostReconciler) accountGone(s *postScope) ctrl.Result {
	if s.mem.accountGoneSince.IsZero() {
		s.mem.accountGoneSince = s.now
	}
	left := s.mem.accountGoneSince.Add(r.Options.AccountGoneGrace).Sub(s.now)
	if left > 0 {
		return ctrl.Result{RequeueAfter: min(left, accountWait)}
	}
	st := s.status()
	what := "its init call's answer was never recorded"
	if st.PublishID != "" {
		what = "TikTok has it as publish id " + st.PublishID
	}
	r.fail(s, v1alpha1.ReasonAccountNotFound, fmt.Sprintf(
		"AccountQuota %q was deleted while the post was %s (%s) and has been gone for %s: check the creator's profile",
		s.post.Spec.AccountRef.Name, st.Phase, what, r.Options.AccountGoneGrace))
	return ctrl.Result{}
}

// stepDeadline fails a post whose spec.deadline passed while nothing of it has been sent: before the
// account, suspension or pre-flight steps, so a post waiting on any of them ends on time too. A post in
// flight is judged where it is (an upload still running is stopped at the deadline; TikTok never gets
// every byte).
func (r *TikTokPostReconciler) stepDeadline(ctx context.Context, s *postScope) (stepResult, error) {
	st, spec := s.status(), &s.post.Spec
	if inFlight(st.Phase) || spec.Deadline == nil || s.now.Before(spec.Deadline.Time) {
		return proceed(), nil
	}
	// The post is the account holder's to write; with no account there is no holder, and any manager
	// may end it.
	aq := &v1alpha1.AccountQuota{}
	err := r.Get(ctx, s.acct.namespacedName(), aq)
	switch {
	case err == nil:
		s.account = aq
		if held, err := r.holdForPost(ctx, s); held.stop || err != nil {
			return held, err
		}
	case !apierrors.IsNotFound(err):
		return stepResult{}, err
	}
	r.fail(s, v1alpha1.ReasonDeadlineExceeded, fmt.Sprintf(
		"the deadline %s passed before TikTok accepted the post (%d attempts)",
		spec.Deadline.UTC().Format(time.RFC3339), st.Attempts))
	return stop(ctrl.Result{}), nil
}

// stepSuspend holds back a post (or all posts of an account) that is suspended and not yet in flight.
func (r *TikTokPostReconciler) stepSuspend(_ context.Context, s *postScope) (stepResult, error) {
	if !s.post.Spec.Suspend && !s.account.Spec.Suspend {
		return proceed(), nil
	}
	st := s.status()
	r.Engine.Remove(s.acct.engine(), s.post.Name)
	r.kickHead(s.acct)
	clearProjection(st)
	msg := "spec.suspend is true"
	if !s.post.Spec.Suspend {
		msg = fmt.Sprintf("AccountQuota %s is suspended", s.account.Name)
	}
	markProgressing(&st.Conditions, s.post.Generation, v1alpha1.ReasonSuspended, msg)
	s.log.V(1).Info("post suspended: it leaves the queue", "reason", v1alpha1.ReasonSuspended, "message", msg)
	return stop(ctrl.Result{}), nil
}

// stepPreflight checks, before any quota is spent, what would make TikTok refuse the post: the privacy
// level must be one the creator allows, and every media URL must lie under the account's allowed
// prefixes (the operator's guard against being pointed at internal addresses).
func (r *TikTokPostReconciler) stepPreflight(_ context.Context, s *postScope) (stepResult, error) {
	spec := &s.post.Spec
	if reason, msg := preflight(spec, s.account); reason != "" {
		r.fail(s, reason, msg)
		return stop(ctrl.Result{}), nil
	}
	return proceed(), nil
}

// preflight returns a failure reason and message, or "" when the post may spend quota.
func preflight(spec *v1alpha1.TikTokPostSpec, aq *v1alpha1.AccountQuota) (string, string) {
	if spec.Mode != v1alpha1.ModeUpload && spec.PrivacyLevel != "" && aq.Status.Creator != nil {
		opts := aq.Status.Creator.PrivacyLevelOptions
		if !slices.Contains(opts, string(spec.PrivacyLevel)) {
			return v1alpha1.ReasonPrivacyLevelNotAllowed, fmt.Sprintf(
				"spec.privacyLevel %s is not among the creator's privacy level options %v", spec.PrivacyLevel, opts)
		}
	}
	var urls []string
	fileUpload := false
	if spec.Video != nil {
		urls = append(urls, spec.Video.URL)
		fileUpload = spec.Video.Transfer == v1alpha1.TransferFileUpload
	}
	if spec.Photo != nil {
		urls = append(urls, spec.Photo.URLs...)
	}
	prefixes := aq.Spec.AllowedMediaPrefixes
	if len(prefixes) == 0 {
		if fileUpload {
			return v1alpha1.ReasonMediaURLNotAllowed, fmt.Sprintf(
				"spec.video.transfer FileUpload makes the operator download the media, and AccountQuota %s "+
					"lists no spec.allowedMediaPrefixes", aq.Name)
		}
		return "", ""
	}
	for _, u := range urls {
		if !mediaURLAllowed(u, prefixes) {
			return v1alpha1.ReasonMediaURLNotAllowed, fmt.Sprintf(
				"media URL %s is outside the AccountQuota's spec.allowedMediaPrefixes %v (same host and port, "+
					"a path below the prefix's on a segment boundary, no userinfo, no encoded slashes)", u, prefixes)
		}
	}
	return "", ""
}

// stepLimits ends retries at maxAttempts (stepDeadline ends them at the deadline).
func (r *TikTokPostReconciler) stepLimits(_ context.Context, s *postScope) (stepResult, error) {
	st, spec := s.status(), &s.post.Spec
	if st.Attempts >= maxAttempts(spec) {
		r.fail(s, v1alpha1.ReasonMaxAttemptsExceeded, fmt.Sprintf("gave up after %d attempts%s", st.Attempts, lastErrorText(st)))
		return stop(ctrl.Result{}), nil
	}
	return proceed(), nil
}

// stepSchedule holds a post until its publishAt; it does not wait in the queue meanwhile.
func (r *TikTokPostReconciler) stepSchedule(_ context.Context, s *postScope) (stepResult, error) {
	st, spec := s.status(), &s.post.Spec
	if spec.PublishAt == nil || !s.now.Before(spec.PublishAt.Time) {
		return proceed(), nil
	}
	r.Engine.Remove(s.acct.engine(), s.post.Name)
	st.Phase = v1alpha1.PhaseScheduled
	st.NextAttemptTime = spec.PublishAt.DeepCopy()
	st.QueuePosition = 0
	markProgressing(&st.Conditions, s.post.Generation, v1alpha1.ReasonScheduled,
		"waiting for spec.publishAt "+spec.PublishAt.UTC().Format(time.RFC3339))
	s.log.V(1).Info("post scheduled: it waits outside the queue until publishAt", "reason", v1alpha1.ReasonScheduled,
		"nextAttemptTime", spec.PublishAt.Time)
	return stop(ctrl.Result{RequeueAfter: spec.PublishAt.Sub(s.now)}), nil
}

// stepQueue puts the post in its account's fair queue and asks for a slot. The head of the queue gets
// one when the windows allow and publishes; every other post is told its projected slot, written to
// status only when it moves by more than a window (a backlog of n posts must not cost n^2 writes).
func (r *TikTokPostReconciler) stepQueue(ctx context.Context, s *postScope) (stepResult, error) {
	r.Engine.Enqueue(s.acct.engine(), waiterOf(s.post, s.mem.notBefore))

	tok, err := r.accessToken(ctx, s)
	if err != nil {
		// The account's reconcile reports what is wrong with its credentials; the post just waits.
		s.log.V(1).Info("no usable access token: the post waits", "error", err, "retryIn", credentialsWait)
		return stop(ctrl.Result{RequeueAfter: credentialsWait}), nil
	}
	d := r.Engine.Reserve(s.acct.engine(), s.post.Name, s.now)
	s.log.V(1).Info("slot decision", "granted", d.Granted, "position", d.Position, "notBefore", d.NotBefore)
	if !d.Granted {
		r.project(s, d)
		return stop(queueWake(d, s.now)), nil
	}
	res, err := r.publish(ctx, s, d.Reservation, tok)
	return stop(res), err
}

// queueWake is when and how urgently a post that was not granted a slot comes back: at its projected slot.
// The head of the queue comes back ahead of the bulk of the work queue (a start-up's initial list, polls),
// or the slot opens with nobody there to take it. The posts behind it come back at normal priority: none
// can go before the head, and the head's grant wakes the next in line (kickHead).
func queueWake(d pacing.Decision, now time.Time) ctrl.Result {
	res := ctrl.Result{RequeueAfter: max(d.NotBefore.Sub(now), time.Millisecond), Priority: ptr.To(normalPriority)}
	if d.Position == 0 {
		res.Priority = ptr.To(slotPriority)
	}
	return res
}

// project records a queued post's projected slot. The projection is rewritten only when it moves by more
// than one postInit window, or when the post enters the queue.
func (r *TikTokPostReconciler) project(s *postScope, d pacing.Decision) {
	st := s.status()
	window := limitsOf(s.account.Spec.Limits).PostInit.Window
	entering := st.Phase != v1alpha1.PhaseQueued || st.NextAttemptTime == nil
	st.Phase = v1alpha1.PhaseQueued
	if !meta.IsStatusConditionTrue(st.Conditions, v1alpha1.ConditionThrottled) {
		markProgressing(&st.Conditions, s.post.Generation, v1alpha1.ReasonQueued,
			fmt.Sprintf("waiting for a slot of AccountQuota %s", s.account.Name))
	}
	last := s.mem.lastProjection
	if last.IsZero() && st.NextAttemptTime != nil {
		last = st.NextAttemptTime.Time
	}
	moved := d.NotBefore.Sub(last)
	if entering || moved > window || moved < -window {
		st.NextAttemptTime = &metav1.Time{Time: d.NotBefore.Truncate(time.Second).Add(time.Second)}
		st.QueuePosition = int32(d.Position) + 1
		s.mem.lastProjection = d.NotBefore
	}
}

// fail ends the post: Failed, Stalled with the reason, an Event. Nothing is dropped silently.
func (r *TikTokPostReconciler) fail(s *postScope, reason, msg string) {
	st := s.status()
	st.Phase = v1alpha1.PhaseFailed
	clearProjection(st)
	clearThrottled(&st.Conditions)
	markStalled(&st.Conditions, s.post.Generation, reason, msg)
	if s.acct != "" {
		r.Engine.Remove(s.acct.engine(), s.post.Name)
	}
	s.log.V(1).Info("post failed", "reason", reason, "message", msg, "attempts", st.Attempts)
	r.event(s.post, corev1.EventTypeWarning, reason, "%s", msg)
}

func clearProjection(st *v1alpha1.TikTokPostStatus) {
	st.NextAttemptTime = nil
	st.QueuePosition = 0
}

func inFlight(p v1alpha1.Phase) bool {
	return p == v1alpha1.PhasePublishing || p == v1alpha1.PhaseProcessing
}

// defaultMaxAttempts is spec.maxAttempts when unset: the CRD's default (+kubebuilder:default), which
// TestCRDDefaultsAreTheGoDefaults holds equal, for posts stored before the field had one.
const defaultMaxAttempts = 10

// maxAttempts is the number of init calls a post may make before it fails with MaxAttemptsExceeded.
func maxAttempts(spec *v1alpha1.TikTokPostSpec) int32 {
	if spec.MaxAttempts <= 0 {
		return defaultMaxAttempts
	}
	return spec.MaxAttempts
}

func lastErrorText(st *v1alpha1.TikTokPostStatus) string {
	if st.LastError == nil {
		return ""
	}
	return fmt.Sprintf("; last error: %s: %s", st.LastError.Code, st.LastError.Message)
}

// accessToken returns the account's access token, loading the credentials from the account's Secret
// (through the cache) when this process has not loaded them yet: after a restart, posts need not wait
// for the account's own reconcile.
func (r *TikTokPostReconciler) accessToken(ctx context.Context, s *postScope) (tiktok.AccessToken, error) {
	tok, err := r.Tokens.access(s.acct)
	if !notLoaded(err) {
		return tok, err // a token, or one TikTok refused: the post waits for the account's refresh
	}
	sec := &corev1.Secret{}
	key := types.NamespacedName{Namespace: s.account.Namespace, Name: s.account.Spec.CredentialsSecretRef.Name}
	if err := r.Get(ctx, key, sec); err != nil {
		return "", err
	}
	var issued time.Time
	if t := s.account.Status.Token; t != nil && t.LastRefreshTime != nil {
		issued = t.LastRefreshTime.Time
	}
	if _, err := r.Tokens.load(s.acct, sec, issued); err != nil {
		return "", err
	}
	return r.Tokens.access(s.acct)
}
