package controllers

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/pacing"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktok"
)

// maxHistory is how many attempts status.attemptHistory keeps.
const maxHistory = 10

// publish makes one attempt: it writes the intent, calls the init endpoint, and writes the answer. The
// intent write carries the resourceVersion read; if it fails, no call is made (the invariant
// "at most once"). The call and the answer's write are not cut short when the manager stops: an init call
// interrupted half way is an uncertain outcome, which is worse than a slower shutdown.
func (r *TikTokPostReconciler) publish(ctx context.Context, s *postScope, res pacing.Reservation,
	tok tiktok.AccessToken) (ctrl.Result, error) {
	st := s.status()
	start := res.At

	// 1. The intent: phase Publishing, attempt N, its start time (the engine's send time, so that a
	// restart rebuilds this exact call from the status).
	st.Phase = v1alpha1.PhasePublishing
	st.Attempts++
	st.LastAttemptTime = &metav1.MicroTime{Time: start}
	clearProjection(st)
	intent := r.intents.next()
	st.AttemptHistory = append(st.AttemptHistory, v1alpha1.AttemptRecord{
		Attempt: st.Attempts, StartTime: metav1.MicroTime{Time: start}, IntentID: intent})
	if n := len(st.AttemptHistory); n > maxHistory {
		st.AttemptHistory = st.AttemptHistory[n-maxHistory:]
	}
	markProgressing(&st.Conditions, s.post.Generation, v1alpha1.ReasonPublishing,
		fmt.Sprintf("attempt %d: calling TikTok", st.Attempts))
	// The intent is written even if the manager is stopping: a write cut short may still land, and an
	// intent that landed without its call would read as an uncertain outcome after the restart.
	bg := context.WithoutCancel(ctx)
	ictx, icancel := context.WithTimeout(bg, r.Options.CallTimeout)
	err := r.writeStatus(ictx, s)
	icancel()
	if err != nil {
		// No call is made. If the write landed after all, the intent carries this process's name and is
		// not in mem.sent, so it is abandoned, not mistaken for an uncertain one (see interruptedInit).
		s.log.V(1).Info("the intent's write failed: no call is made", "attempt", st.Attempts, "error", err)
		r.Engine.Complete(res, start, start, pacing.Abandoned)
		r.kickHead(s.acct)
		s.post.Status = *s.written.DeepCopy()
		if apierrors.IsConflict(err) {
			// The post changed since it was read: read it again; nothing was sent. It was the head of its
			// queue and stays ahead of the bulk of the work queue.
			return ctrl.Result{RequeueAfter: time.Millisecond, Priority: ptr.To(slotPriority)}, nil
		}
		return ctrl.Result{}, err
	}
	s.mem.lastProjection = time.Time{}
	s.mem.markSent(intent) // from here on the call may leave: the intent is no longer ours to abandon
	r.kickHead(s.acct)     // the next in line asks again now: its projection may have moved

	// 2. The call. The engine learns when it really left (after the intent write), for the spacing.
	// The finalizer goes on while the call is in flight (see tiktokpost_finalizer.go), so that a deletion
	// during the call waits for its answer; the answer's write waits for the finalizer's.
	fin := r.startAddFinalizer(bg, s.post)
	callCtx, cancel := context.WithTimeout(bg, r.Options.CallTimeout)
	sent := r.Clock.Now()
	out, err := r.initCall(callCtx, s, tok)
	cancel()
	if err == nil && !usablePublishID(out.publishID) {
		err = unusablePublishID(initEndpoint(&s.post.Spec), out.publishID)
	}
	answered := r.Clock.Now()
	r.finishAddFinalizer(s, fin)
	r.capRefused(s, err, answered) // before Complete frees the next in line: the hold is in place first
	r.Engine.Complete(res, sent, answered, engineOutcome(err))
	r.kickHead(s.acct)

	// 3. The answer, kept in memory until it is written.
	h := &st.AttemptHistory[len(st.AttemptHistory)-1]
	h.EndTime = &metav1.MicroTime{Time: answered}
	var result ctrl.Result
	if err == nil {
		result = r.accepted(s, out, answered)
	} else {
		result = r.attemptFailed(s, err, tok, answered)
	}
	r.keepUnwritten(s)
	wctx, wcancel := context.WithTimeout(bg, r.Options.CallTimeout)
	defer wcancel()
	if werr := r.writeStatus(wctx, s); werr != nil {
		// The answer stays in memory (unwritten) and is written by the next reconcile.
		s.log.V(1).Info("the answer's write failed: it is kept in memory for the next reconcile", "phase", st.Phase,
			"error", werr)
		if apierrors.IsConflict(werr) {
			return ctrl.Result{RequeueAfter: staleCopyRetry}, nil
		}
		return ctrl.Result{}, werr // retried by the rate limiter; the answer waits in memory
	}
	return result, nil
}

// accepted records a successful init: the publish id, then either the upload (FileUpload) or the
// processing poll.
func (r *TikTokPostReconciler) accepted(s *postScope, out *initOutput, answered time.Time) ctrl.Result {
	st := s.status()
	h := &st.AttemptHistory[len(st.AttemptHistory)-1]
	h.Outcome = v1alpha1.AttemptOutcomeAccepted
	st.PublishID = out.publishID
	st.LastError = nil
	st.ProcessingStatus = ""
	clearThrottled(&st.Conditions)
	s.mem.publishID = out.publishID
	s.mem.pullFromURL = out.uploadURL == "" && s.post.Spec.Video != nil
	s.mem.notBefore = time.Time{}
	s.log.V(1).Info("TikTok accepted the init call", "attempt", st.Attempts, "publishID", out.publishID,
		"upload", out.uploadURL != "")
	if out.uploadURL != "" {
		c, err := r.TikTok.forAccount(s.account)
		if err == nil {
			err = r.TikTok.uploadAllowed(s.account, out.uploadURL)
		}
		if err != nil {
			// Not a byte goes to a host the manager does not trust with the media. TikTok holds an init
			// without bytes, which it cannot publish (its upload URL expires).
			st.LastError = &v1alpha1.PostError{Code: "upload_url_not_allowed", Message: truncate(err.Error(), 512),
				Time: &metav1.Time{Time: answered}}
			r.fail(s, v1alpha1.ReasonUploadURLNotAllowed, fmt.Sprintf(
				"TikTok accepted attempt %d (publish id %s), but %v: nothing was uploaded, so TikTok cannot publish it. "+
					"If the host is TikTok's, add it to the manager's %s", st.Attempts, out.publishID, err, AllowedUploadHostsFlag))
			return ctrl.Result{}
		}
		// An Event only when the acceptance starts something that takes a while (the upload). Otherwise
		// the Published (or Delivered, or Failed) Event follows within seconds and the attempt history
		// records the acceptance: an Event for each step would be a third of what a post costs the API
		// server at volume (docs/scale.md).
		r.event(s.post, corev1.EventTypeNormal, "Accepted", "TikTok accepted attempt %d (publish id %s); uploading %d bytes",
			st.Attempts, out.publishID, out.plan.VideoSize)
		st.UploadProgress = &v1alpha1.UploadProgress{TotalBytes: out.plan.VideoSize}
		markProgressing(&st.Conditions, s.post.Generation, v1alpha1.ReasonPublishing,
			fmt.Sprintf("uploading %d bytes in %d chunks", out.plan.VideoSize, out.plan.TotalChunkCount))
		r.startUpload(s, out, c)
		return ctrl.Result{RequeueAfter: uploadProgressEvery}
	}
	st.Phase = v1alpha1.PhaseProcessing
	markProgressing(&st.Conditions, s.post.Generation, v1alpha1.ReasonProcessing,
		"TikTok accepted the post and is processing it")
	s.mem.pollInterval = r.Options.StatusPollInitial
	s.mem.nextPoll = answered.Add(s.mem.pollInterval)
	return ctrl.Result{RequeueAfter: max(s.mem.nextPoll.Sub(r.Clock.Now()), time.Millisecond)}
}

// Codes that mean "not now" rather than "never": the account's daily or pending cap is spent (by
// another client: the engine keeps ours), or the app's daily user cap is reached. Posts wait, they do
// not fail.
var capCodes = map[string]bool{
	"spam_risk_too_many_posts":         true,
	"spam_risk_too_many_pending_share": true,
	"reached_active_user_cap":          true,
}

// Codes of a refusal by the account's daily or pending-share cap: they count every app of the creator.
var accountCapCodes = map[string]bool{
	"spam_risk_too_many_posts":         true,
	"spam_risk_too_many_pending_share": true,
}

// capRefused tells the engine of a refusal by the account's daily or pending-share cap. If its own count
// does not explain it (other apps posted), the engine holds the cap window until the oldest post of its
// own log leaves it, or for Options.CapRetryInterval: the waiting posts project to then and one probes,
// instead of each retrying after its own backoff into the same refusal.
func (r *TikTokPostReconciler) capRefused(s *postScope, err error, answered time.Time) {
	var te *tiktok.Error
	if err == nil || !errors.As(err, &te) || !accountCapCodes[te.Code] {
		return
	}
	until := r.Engine.CapReached(s.acct.engine(), callOf(&s.post.Spec), answered, r.Options.CapRetryInterval)
	s.log.V(1).Info("TikTok refused a post by the account's cap: the account's posts wait", "code", te.Code,
		"until", until)
	r.kickAccount(s.account) // its status shows the hold
}

// attemptFailed records a failed init call and decides: retry later, or fail for good.
func (r *TikTokPostReconciler) attemptFailed(s *postScope, err error, tok tiktok.AccessToken, answered time.Time) ctrl.Result {
	st := s.status()
	h := &st.AttemptHistory[len(st.AttemptHistory)-1]
	te := asTikTokError(err)
	class := tiktok.ClassOf(err)
	h.Code = boundCode(te.Code)
	st.LastError = boundError(v1alpha1.PostError{Code: errorCode(te), Message: te.Message, HTTPStatus: int32(te.HTTPStatus),
		LogID: te.LogID, Time: &metav1.Time{Time: answered}, Retryable: class != tiktok.Terminal || capCodes[te.Code]})
	switch class {
	case tiktok.RateLimited:
		h.Outcome = v1alpha1.AttemptOutcomeRateLimited
		until := r.Engine.Throttled(s.acct.engine(), callOf(&s.post.Spec), answered, te.RetryAfter)
		s.log.V(1).Info("TikTok answered 429 to the init call: the account's calls wait", "reason", v1alpha1.ReasonRateLimited,
			"until", until, "retryAfter", te.RetryAfter)
		return r.retryLater(s, answered, te.RetryAfter, v1alpha1.ReasonRateLimited, asThrottled())
	case tiktok.TokenInvalid:
		// TikTok did not take the post; refresh the token and try again at once (not counted as a failure
		// of the post: the account's reconcile refreshes).
		h.Outcome = v1alpha1.AttemptOutcomeRejected
		s.log.V(1).Info("TikTok refused the access token: the account refreshes it", "call", callOf(&s.post.Spec))
		r.Tokens.invalidate(s.acct, tok)
		r.kickAccount(s.account)
		return r.retryLater(s, answered, 0, v1alpha1.ReasonRetryableError, withoutBackoff())
	case tiktok.Retryable:
		h.Outcome = v1alpha1.AttemptOutcomeRetryableError
		return r.retryLater(s, answered, te.RetryAfter, v1alpha1.ReasonRetryableError)
	case tiktok.Uncertain:
		h.Outcome = v1alpha1.AttemptOutcomeUncertain
		return r.uncertain(s, answered, fmt.Sprintf("attempt %d: no usable answer from TikTok (%s)", st.Attempts, te.Error()))
	}
	h.Outcome = v1alpha1.AttemptOutcomeRejected
	switch {
	case capCodes[te.Code]:
		// Not a failure of the post: it waits for the cap to free (the attempt stays in the history,
		// but does not count towards maxAttempts).
		st.Attempts--
		return r.retryLater(s, answered, te.RetryAfter, v1alpha1.ReasonQuotaExhausted, asThrottled())
	case te.Code == "spam_risk_user_banned_from_posting":
		r.Accounts.markBanned(s.acct, answered)
		r.kickAccount(s.account)
		r.fail(s, v1alpha1.ReasonAccountBanned, "TikTok refused the post: the creator is banned from posting")
	case te.Code == "privacy_level_option_mismatch":
		r.fail(s, v1alpha1.ReasonPrivacyLevelNotAllowed, "TikTok refused spec.privacyLevel: "+te.Message)
	case te.Code == "url_ownership_unverified":
		r.fail(s, v1alpha1.ReasonMediaURLNotAllowed, "TikTok refused the media URL (its domain is not verified for the app): "+te.Message)
	default:
		r.fail(s, v1alpha1.ReasonTikTokRejected, fmt.Sprintf("TikTok refused the post: %s: %s", errorCode(te), te.Message))
	}
	return ctrl.Result{}
}

// uncertain handles an attempt whose outcome is unknown: TikTok may have taken the post. Under
// onUncertainOutcome Fail the post fails with reason UncertainOutcome (a human checks the creator's
// profile and sets the retry annotation); under Retry it is tried again.
func (r *TikTokPostReconciler) uncertain(s *postScope, at time.Time, msg string) ctrl.Result {
	if s.post.Spec.OnUncertainOutcome == v1alpha1.UncertainOutcomeRetry {
		return r.retryLater(s, at, 0, v1alpha1.ReasonUncertainOutcome)
	}
	r.fail(s, v1alpha1.ReasonUncertainOutcome, msg+"; TikTok may have accepted the post: check the creator's profile, "+
		"then set the annotation "+v1alpha1.RetryAnnotation+" to publish again")
	return ctrl.Result{}
}

// retryOption changes how retryLater schedules the next attempt.
type retryOption func(*retryOptions)

type retryOptions struct {
	throttled, noBackoff bool
}

// asThrottled marks the post Throttled while it waits: TikTok's limits hold it, not a fault of its own.
func asThrottled() retryOption { return func(o *retryOptions) { o.throttled = true } }

// withoutBackoff lets the next attempt go at once (a refreshed token is not a failure of the post).
func withoutBackoff() retryOption { return func(o *retryOptions) { o.noBackoff = true } }

// retryLater schedules the next attempt after a jittered backoff (the account's backoff settings;
// Retry-After, when TikTok sends one, is a floor), unless maxAttempts or the deadline ends the post.
func (r *TikTokPostReconciler) retryLater(s *postScope, at time.Time, retryAfter time.Duration, reason string,
	opts ...retryOption) ctrl.Result {
	var o retryOptions
	for _, opt := range opts {
		opt(&o)
	}
	st, spec := s.status(), &s.post.Spec
	if st.Attempts >= maxAttempts(spec) {
		r.fail(s, v1alpha1.ReasonMaxAttemptsExceeded, fmt.Sprintf("gave up after %d attempts%s", st.Attempts, lastErrorText(st)))
		return ctrl.Result{}
	}
	var prev time.Duration
	if st.BackoffDelay != nil {
		prev = st.BackoffDelay.Duration
	}
	delay := backoffOf(s.account.Spec.Backoff).Delay(int(st.Attempts), prev, r.random(), retryAfter)
	if o.noBackoff {
		delay = 0
	}
	next := at.Add(delay)
	if until, _ := r.Engine.Cooldown(s.acct.engine()); until.After(next) {
		next = until
	}
	if reason == v1alpha1.ReasonQuotaExhausted {
		// A cap held after a refusal (see capRefused): the post waits for the hold's end, not a backoff.
		if until := r.Engine.CapHold(s.acct.engine(), callOf(spec), at); !until.IsZero() {
			next = until
		}
	}
	if spec.Deadline != nil && next.After(spec.Deadline.Time) {
		r.fail(s, v1alpha1.ReasonDeadlineExceeded, fmt.Sprintf("the next attempt (not before %s) would come after the deadline %s%s",
			next.UTC().Format(time.RFC3339), spec.Deadline.UTC().Format(time.RFC3339), lastErrorText(st)))
		return ctrl.Result{}
	}
	if len(st.AttemptHistory) > 0 {
		st.AttemptHistory[len(st.AttemptHistory)-1].Delay = &metav1.Duration{Duration: delay}
	}
	st.Phase = v1alpha1.PhaseQueued
	st.PublishID, st.ProcessingStatus, st.UploadProgress = "", "", nil
	st.BackoffDelay = &metav1.Duration{Duration: delay}
	st.NextAttemptTime = &metav1.Time{Time: next.Truncate(time.Second).Add(time.Second)}
	st.QueuePosition = 0
	msg := fmt.Sprintf("attempt %d failed (%s); next attempt not before %s", st.Attempts, lastErrorCode(st),
		next.UTC().Format(time.RFC3339Nano))
	markProgressing(&st.Conditions, s.post.Generation, reason, msg)
	if o.throttled {
		markThrottled(&st.Conditions, s.post.Generation, reason, msg)
	} else {
		clearThrottled(&st.Conditions)
	}
	s.mem.notBefore, s.mem.lastProjection = next, next
	s.mem.publishID, s.mem.nextPoll, s.mem.upload = "", time.Time{}, nil
	s.log.V(1).Info("attempt failed: the post waits for its next attempt", "reason", reason, "attempt", st.Attempts,
		"code", lastErrorCode(st), "backoff", delay, "nextAttemptTime", next, "throttled", o.throttled)
	backoffSeconds.Observe(delay.Seconds())
	r.event(s.post, corev1.EventTypeWarning, reason, "%s (backoff %s)", msg, delay)
	return ctrl.Result{RequeueAfter: max(next.Sub(r.Clock.Now()), time.Millisecond)}
}

func (r *TikTokPostReconciler) random() float64 {
	if r.Options.Rand != nil {
		return r.Options.Rand()
	}
	return rand.Float64()
}

// engineOutcome tells the engine which windows keep counting a call, from the client's error class.
func engineOutcome(err error) pacing.Outcome {
	switch tiktok.ClassOf(err) {
	case tiktok.OK:
		return pacing.Accepted
	case tiktok.RateLimited:
		return pacing.Throttled
	case tiktok.Uncertain:
		return pacing.Uncertain
	default:
		return pacing.Rejected
	}
}

// asTikTokError returns the client's typed error, or wraps any other error as one.
func asTikTokError(err error) *tiktok.Error {
	var te *tiktok.Error
	if errors.As(err, &te) {
		return te
	}
	return &tiktok.Error{Class: tiktok.ClassOf(err), Message: err.Error(), Err: err}
}

// unusablePublishID is the error for an init call TikTok accepted with a publish id that status cannot
// record (longer than the CRD admits, or not UTF-8): the post cannot be followed, and TikTok may publish
// it, so the attempt is an uncertain outcome.
func unusablePublishID(ep tiktok.Endpoint, id string) *tiktok.Error {
	return &tiktok.Error{Endpoint: ep, HTTPStatus: 200, Class: tiktok.Uncertain, Code: "publish_id_unusable", Message: fmt.Sprintf(
		"TikTok accepted the init call with a publish id of %d bytes (%.40q...), which the status cannot record "+
			"(at most %d characters of UTF-8), so the post cannot be followed", len(id), id, v1alpha1.MaxPublishIDLength)}
}

// initEndpoint is the init endpoint the post's spec calls.
func initEndpoint(spec *v1alpha1.TikTokPostSpec) tiktok.Endpoint {
	switch {
	case spec.Photo != nil:
		return tiktok.EndpointContentInit
	case spec.Mode == v1alpha1.ModeUpload:
		return tiktok.EndpointInboxInit
	default:
		return tiktok.EndpointVideoInit
	}
}

// errorCode is TikTok's code (cut to the bound status admits), or a word for an answer that carried none.
func errorCode(te *tiktok.Error) string {
	switch {
	case te.Code != "":
		return boundCode(te.Code)
	case te.HTTPStatus != 0:
		return fmt.Sprintf("http_%d", te.HTTPStatus)
	default:
		return "transport_error"
	}
}

func lastErrorCode(st *v1alpha1.TikTokPostStatus) string {
	if st.LastError == nil {
		return "unknown"
	}
	return st.LastError.Code
}
