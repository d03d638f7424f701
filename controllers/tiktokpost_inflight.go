package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/pacing"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktok"
)

// fail reasons TikTok gives for a processing failure that a new attempt may fix.
var retryableFailReasons = map[string]bool{
	"internal": true, "video_pull_failed": true, "photo_pull_failed": true,
}

// stepInFlight carries on with a post TikTok may already have: the unanswered attempt, the upload of a
// FileUpload post, the processing poll.
func (r *TikTokPostReconciler) stepInFlight(ctx context.Context, s *postScope) (stepResult, error) {
	st := s.status()
	if !inFlight(st.Phase) {
		return proceed(), nil
	}
	if st.Phase == v1alpha1.PhaseProcessing && r.processingTimedOut(s) {
		return stop(ctrl.Result{}), nil
	}
	if s.account.Spec.Suspend {
		return stop(ctrl.Result{RequeueAfter: accountWait}), nil // resumed by the account's change
	}
	switch {
	case st.Phase == v1alpha1.PhasePublishing && st.PublishID == "":
		res, err := r.interruptedInit(ctx, s)
		return stop(res), err
	case st.Phase == v1alpha1.PhasePublishing:
		res, err := r.stepUpload(ctx, s)
		return stop(res), err
	default:
		return stop(r.poll(ctx, s)), nil
	}
}

// interruptedInit handles a post whose intent was written but whose answer was not. The intent's name
// decides (see intentSource): an intent of this process whose call this process never started is
// abandoned and the post queued again; any other may have reached TikTok and is an uncertain outcome.
// The cache may lag behind our own write, so the post is read live first.
func (r *TikTokPostReconciler) interruptedInit(ctx context.Context, s *postScope) (ctrl.Result, error) {
	live := &v1alpha1.TikTokPost{}
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(s.post), live); err != nil {
		return ctrl.Result{}, fmt.Errorf("reading the post live: %w", err)
	}
	if live.Status.Phase != v1alpha1.PhasePublishing || live.Status.PublishID != "" ||
		live.Status.Attempts != s.status().Attempts {
		return ctrl.Result{RequeueAfter: time.Millisecond}, nil // the cache was behind; look again
	}
	st := s.status()
	var h *v1alpha1.AttemptRecord
	if n := len(st.AttemptHistory); n > 0 && st.AttemptHistory[n-1].EndTime == nil {
		h = &st.AttemptHistory[n-1]
	}
	if h != nil && r.intents.mine(h.IntentID) && !s.mem.wasSent(h.IntentID) {
		abandonAttempt(s)
		return ctrl.Result{RequeueAfter: time.Millisecond, Priority: ptr.To(slotPriority)}, nil
	}
	if h != nil {
		h.EndTime = &metav1.MicroTime{Time: s.now}
		h.Outcome = v1alpha1.AttemptOutcomeUncertain
	}
	st.LastError = &v1alpha1.PostError{Code: "uncertain_outcome", Time: &metav1.Time{Time: s.now},
		Message:   "the init call's answer was never recorded (the operator stopped, or another manager wrote the intent)",
		Retryable: true}
	return r.uncertain(s, s.now, fmt.Sprintf("attempt %d was interrupted during the init call", st.Attempts)), nil
}

// abandonAttempt undoes the last attempt of a post whose call was never made: its intent write reported
// a failure but landed. The attempt leaves the history and the count, and the post waits for a slot again.
func abandonAttempt(s *postScope) {
	st := s.status()
	n := len(st.AttemptHistory)
	st.AttemptHistory = st.AttemptHistory[:n-1]
	st.Attempts--
	st.LastAttemptTime = nil
	if n > 1 {
		st.LastAttemptTime = st.AttemptHistory[n-2].StartTime.DeepCopy()
	}
	st.Phase = v1alpha1.PhaseQueued
	markProgressing(&st.Conditions, s.post.Generation, v1alpha1.ReasonQueued,
		"the last attempt was abandoned before its call (its intent write reported a failure); waiting for a slot")
}

// processingTimedOut fails a post TikTok has been processing for longer than Options.ProcessingTimeout,
// counted from the accepted init call, and reports whether it did. The publish id is in the message, so a
// human can look the post up.
func (r *TikTokPostReconciler) processingTimedOut(s *postScope) bool {
	st := s.status()
	accepted := acceptedAt(st)
	if accepted.IsZero() || s.now.Sub(accepted) < r.Options.ProcessingTimeout {
		return false
	}
	word := st.ProcessingStatus
	if word == "" {
		word = "no answer yet"
	}
	r.fail(s, v1alpha1.ReasonProcessingTimeout, fmt.Sprintf(
		"TikTok accepted publish id %s at %s and had not finished processing it %s later (last word: %s); "+
			"check the creator's profile before setting the annotation %s", st.PublishID,
		accepted.UTC().Format(time.RFC3339), r.Options.ProcessingTimeout, word, v1alpha1.RetryAnnotation))
	return true
}

// acceptedAt is when TikTok accepted the post's last attempt (zero when none is recorded as accepted).
func acceptedAt(st *v1alpha1.TikTokPostStatus) time.Time {
	n := len(st.AttemptHistory)
	if n == 0 {
		return time.Time{}
	}
	h := st.AttemptHistory[n-1]
	if h.EndTime == nil || (h.Outcome != v1alpha1.AttemptOutcomeAccepted && h.Outcome != v1alpha1.AttemptOutcomeProcessingFailed) {
		return time.Time{}
	}
	return h.EndTime.Time
}

// poll asks TikTok how a post is doing, at a growing interval, inside the account's status/fetch window.
func (r *TikTokPostReconciler) poll(ctx context.Context, s *postScope) ctrl.Result {
	st := s.status()
	m := s.mem
	m.publishID = st.PublishID
	m.pullFromURL = s.post.Spec.Video != nil && s.post.Spec.Video.Transfer != v1alpha1.TransferFileUpload
	if m.pollInterval == 0 {
		m.pollInterval = r.Options.StatusPollInitial // after a restart: poll now, then as usual
	}
	if s.now.Before(m.nextPoll) {
		return ctrl.Result{RequeueAfter: m.nextPoll.Sub(s.now)}
	}
	answered := s.now
	next := func() ctrl.Result {
		m.nextPoll = answered.Add(m.pollInterval)
		m.pollInterval = min(2*m.pollInterval, r.Options.StatusPollMax)
		return ctrl.Result{RequeueAfter: max(m.nextPoll.Sub(r.Clock.Now()), time.Millisecond)}
	}
	tok, err := r.accessToken(ctx, s)
	if errors.Is(err, errTokenRefused) {
		return next() // as a poll refused by TikTok would: the account's reconcile refreshes meanwhile
	}
	if err != nil {
		s.log.V(1).Info("no usable access token for the status poll: the post waits", "error", err,
			"retryIn", credentialsWait)
		return ctrl.Result{RequeueAfter: credentialsWait}
	}
	ps, at, wait, err := r.fetchStatus(ctx, s, tok)
	if wait != nil {
		if err != nil {
			m.nextPoll = r.Clock.Now().Add(wait.RequeueAfter) // a 429: the account cools down
		}
		return *wait
	}
	answered = at
	if err != nil {
		te := asTikTokError(err)
		switch tiktok.ClassOf(err) {
		case tiktok.TokenInvalid:
			return next()
		case tiktok.Terminal:
			r.fail(s, v1alpha1.ReasonProcessingFailed, fmt.Sprintf("TikTok refused the status query for publish id %s: %s: %s",
				st.PublishID, errorCode(te), te.Message))
			return ctrl.Result{}
		default:
			return next()
		}
	}
	if res, ended := r.judgeStatus(s, ps, answered); ended {
		return res
	}
	return next()
}

// fetchStatus asks status/fetch for the post's publish id, inside the account's window. wait is set when
// the caller must come back later and do nothing else now: no call was made (the endpoint is not admitted,
// or no slot yet; err nil), or TikTok answered 429 (err set; the account cools down). A token TikTok refused
// is handed to the account's refresh here; every other outcome is the caller's to judge.
func (r *TikTokPostReconciler) fetchStatus(ctx context.Context, s *postScope, tok tiktok.AccessToken) (
	ps *tiktok.PublishStatus, answered time.Time, wait *ctrl.Result, err error) {
	c, cerr := r.TikTok.forAccount(s.account)
	if cerr != nil {
		// EndpointNotAllowed: nothing is sent; the account's change wakes the post.
		return nil, time.Time{}, &ctrl.Result{RequeueAfter: accountWait}, nil
	}
	d := r.Engine.ReserveCall(s.acct.engine(), pacing.CallStatusFetch, s.now)
	if !d.Granted {
		return nil, time.Time{}, &ctrl.Result{RequeueAfter: max(d.NotBefore.Sub(s.now), time.Millisecond)}, nil
	}
	callCtx, cancel := context.WithTimeout(ctx, r.Options.CallTimeout)
	ps, err = c.FetchStatus(callCtx, tok, s.status().PublishID)
	cancel()
	answered = r.Clock.Now()
	r.Engine.Complete(d.Reservation, d.Reservation.At, answered, engineOutcome(err))
	switch tiktok.ClassOf(err) {
	case tiktok.RateLimited:
		until := r.Engine.Throttled(s.acct.engine(), pacing.CallStatusFetch, answered, asTikTokError(err).RetryAfter)
		s.log.V(1).Info("TikTok answered 429 to status/fetch: the account's calls wait", "reason", v1alpha1.ReasonRateLimited,
			"until", until)
		return nil, answered, &ctrl.Result{RequeueAfter: max(until.Sub(r.Clock.Now()), time.Millisecond)}, err
	case tiktok.TokenInvalid:
		s.log.V(1).Info("TikTok refused the access token: the account refreshes it", "call", pacing.CallStatusFetch)
		r.Tokens.invalidate(s.acct, tok)
		r.kickAccount(s.account)
	}
	return ps, answered, nil, err
}

// judgeStatus acts on TikTok's answer to status/fetch for a post it has: Published, Delivered, Failed or a
// retry after a processing failure TikTok calls retryable. ended is false while TikTok is still at work.
func (r *TikTokPostReconciler) judgeStatus(s *postScope, ps *tiktok.PublishStatus, answered time.Time) (res ctrl.Result, ended bool) {
	st := s.status()
	word := truncate(ps.Status, v1alpha1.MaxProcessingStatusLength)
	if worthWriting(st, word, answered) {
		st.ProcessingStatus = word
	}
	switch ps.Status {
	case tiktok.StatusPublishComplete:
		st.ProcessingStatus = word
		r.finished(s, answered, v1alpha1.PhasePublished, v1alpha1.ReasonPublished, ps.PostIDs)
		return ctrl.Result{}, true
	case tiktok.StatusSendToUserInbox:
		st.ProcessingStatus = word
		r.finished(s, answered, v1alpha1.PhaseDelivered, v1alpha1.ReasonDelivered, nil)
		return ctrl.Result{}, true
	case tiktok.StatusFailed:
		st.ProcessingStatus = word
		if n := len(st.AttemptHistory); n > 0 {
			st.AttemptHistory[n-1].Outcome = v1alpha1.AttemptOutcomeProcessingFailed
			st.AttemptHistory[n-1].Code = boundCode(ps.FailReason)
		}
		st.LastError = boundError(v1alpha1.PostError{Code: ps.FailReason, Time: &metav1.Time{Time: answered},
			Message: "TikTok could not process the post", Retryable: retryableFailReasons[ps.FailReason]})
		if retryableFailReasons[ps.FailReason] {
			return r.retryLater(s, answered, 0, v1alpha1.ReasonProcessingFailed), true
		}
		r.fail(s, v1alpha1.ReasonProcessingFailed, fmt.Sprintf("TikTok could not process the post: %s", boundCode(ps.FailReason)))
		return ctrl.Result{}, true
	}
	return ctrl.Result{}, false
}

// finished records the end of a post's journey: Published (with TikTok's post ids) or Delivered.
func (r *TikTokPostReconciler) finished(s *postScope, at time.Time, phase v1alpha1.Phase, reason string, ids tiktok.PostIDs) {
	st := s.status()
	st.Phase = phase
	st.PublishedAt = &metav1.Time{Time: at}
	st.PostIDs = boundPostIDs(ids)
	st.UploadProgress = nil
	msg := "published on TikTok"
	if phase == v1alpha1.PhaseDelivered {
		msg = "delivered to the creator's TikTok inbox"
	}
	markReady(&st.Conditions, s.post.Generation, reason, msg)
	clearThrottled(&st.Conditions)
	s.mem.publishID = ""
	s.log.V(1).Info("post "+string(phase), "reason", reason, "attempts", st.Attempts, "postIDs", st.PostIDs)
	publishLatency.Observe(at.Sub(s.post.CreationTimestamp.Time).Seconds())
	r.event(s.post, corev1.EventTypeNormal, reason, "Post %s after %d attempt(s)", msg, st.Attempts)
}

// cancelDownload asks TikTok to stop downloading a deleted post's media (PULL_FROM_URL only; best
// effort: a post TikTok already published stays).
func (r *TikTokPostReconciler) cancelDownload(ctx context.Context, acct accountKey, publishID string) {
	logger := log.FromContext(ctx).WithValues("account", acct, "publishID", publishID)
	tok, err := r.Tokens.access(acct)
	if err != nil {
		logger.V(1).Info("no usable access token: TikTok's download of the deleted post is not cancelled", "error", err)
		return
	}
	c, err := r.TikTok.forEndpoint(r.TikTok.endpointOf(acct))
	if err != nil {
		// Not an endpoint the manager admits: nothing is sent.
		logger.V(1).Info("the account's endpoint is not admitted: TikTok's download is not cancelled", "error", err)
		return
	}
	cctx, cancel := context.WithTimeout(ctx, r.Options.CallTimeout)
	defer cancel()
	if err := c.Cancel(cctx, tok, publishID); err != nil {
		// Best effort: TikTok may publish the deleted post (the DeletedInFlight Event says so).
		logger.Error(err, "cancelling TikTok's download of a deleted post")
		return
	}
	logger.V(1).Info("TikTok's download of the deleted post cancelled")
}

// quietProcessing is how long TikTok's "still processing" words stay out of the status: most posts are
// processed within seconds, and a status write for each word would double what a post costs; a post
// that takes longer shows where it is.
const quietProcessing = 10 * time.Second

// worthWriting says whether a processing status is news worth a status write.
func worthWriting(st *v1alpha1.TikTokPostStatus, word string, at time.Time) bool {
	if word == st.ProcessingStatus {
		return false
	}
	n := len(st.AttemptHistory)
	return n == 0 || st.AttemptHistory[n-1].EndTime == nil || at.Sub(st.AttemptHistory[n-1].EndTime.Time) >= quietProcessing
}
