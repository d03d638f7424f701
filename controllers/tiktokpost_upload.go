package controllers

import (
	"context"
	"fmt"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktok"
)

// uploadProgressEvery is how often an upload's progress is looked at (and written, when it moved by a
// quarter of the file at least): progress is for humans, every chunk would be too many writes.
const uploadProgressEvery = 5 * time.Second

// uploadJob streams one FileUpload post's bytes from its media URL to TikTok's upload URL, outside the
// reconcile (an upload can take minutes, a reconcile worker must not wait for it). The upload URL lives
// only here, in memory: it carries an upload token.
type uploadJob struct {
	cancel context.CancelFunc

	mu       sync.Mutex
	uploaded int64
	total    int64
	done     bool
	err      error
}

func (j *uploadJob) progress() (uploaded, total int64, done bool, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.uploaded, j.total, j.done, j.err
}

// startUpload starts the upload of an accepted FileUpload init in the background with c (the account's
// client; the upload URL was checked by accepted); when it ends the post is reconciled at once.
func (r *TikTokPostReconciler) startUpload(s *postScope, out *initOutput, c *tiktok.Client) {
	// The whole transfer is bounded: TikTok's upload URL lives an hour, and a media server that trickles
	// bytes must not hold the post in Publishing for ever.
	ctx, cancel := context.WithTimeout(r.baseContext(), r.Options.UploadTimeout)
	job := &uploadJob{cancel: cancel, total: out.plan.VideoSize}
	s.mem.upload = job
	post := s.post.DeepCopy()
	go r.watchUpload(ctx, cancel, s.acct)
	open := r.TikTok.mediaSource(ctx, out.mediaURL)
	go func() {
		defer cancel()
		err := c.Upload(ctx, tiktok.UploadRequest{
			UploadURL: out.uploadURL, Plan: out.plan, Open: open,
			Progress: func(uploaded, total int64) {
				job.mu.Lock()
				job.uploaded, job.total = uploaded, total
				job.mu.Unlock()
			},
		})
		job.mu.Lock()
		job.done, job.err = true, err
		job.mu.Unlock()
		r.kickPost(post)
	}()
}

// stepUpload follows a FileUpload post between its init and the end of its upload. When the upload ends,
// its result is kept in memory (unwritten) until the status that records it is written: a write refused
// then (a 409 from an edit of the post's labels, an API-server 429) must not make the next reconcile
// believe the upload was lost and send the post again. A post found in this state with no upload running
// in this process is resumed from what TikTok says (resumeUpload).
func (r *TikTokPostReconciler) stepUpload(ctx context.Context, s *postScope) (ctrl.Result, error) {
	st := s.status()
	job := s.mem.upload
	if job == nil {
		return r.resumeUpload(ctx, s)
	}
	uploaded, total, done, err := job.progress()
	if !done {
		if d := s.post.Spec.Deadline; d != nil && !s.now.Before(d.Time) {
			// The deadline passed before TikTok had every byte: stop the upload, and TikTok cannot publish.
			job.cancel()
			s.mem.upload = nil
			r.fail(s, v1alpha1.ReasonDeadlineExceeded, fmt.Sprintf(
				"the deadline %s passed during the upload (%d of %d bytes sent); the upload was stopped, so TikTok cannot publish publish id %s",
				d.UTC().Format(time.RFC3339), uploaded, total, st.PublishID))
			r.keepUnwritten(s)
			return ctrl.Result{}, nil
		}
		if p := st.UploadProgress; p == nil || uploaded-p.UploadedBytes >= total/4 {
			st.UploadProgress = &v1alpha1.UploadProgress{UploadedBytes: uploaded, TotalBytes: total}
		}
		return ctrl.Result{RequeueAfter: uploadProgressEvery}, nil
	}
	s.mem.upload = nil
	res := r.uploadEnded(s, total, err)
	r.keepUnwritten(s) // the upload's result, until its write lands
	return res, nil
}

// uploadEnded records the end of this process's upload: Processing when every byte is in, a retry with a
// new init after a retryable failure, or Failed.
func (r *TikTokPostReconciler) uploadEnded(s *postScope, total int64, err error) ctrl.Result {
	st := s.status()
	if err != nil {
		te := asTikTokError(err)
		st.LastError = boundError(v1alpha1.PostError{Code: errorCode(te), Message: te.Message, LogID: te.LogID,
			HTTPStatus: int32(te.HTTPStatus), Retryable: tiktok.ClassOf(err) != tiktok.Terminal})
		if tiktok.ClassOf(err) == tiktok.Terminal {
			r.fail(s, v1alpha1.ReasonUploadFailed, fmt.Sprintf("the upload was refused: %s: %s", errorCode(te), te.Message))
			return ctrl.Result{}
		}
		return r.retryLater(s, s.now, 0, v1alpha1.ReasonRetryableError)
	}
	st.UploadProgress = &v1alpha1.UploadProgress{UploadedBytes: total, TotalBytes: total}
	st.Phase = v1alpha1.PhaseProcessing
	markProgressing(&st.Conditions, s.post.Generation, v1alpha1.ReasonProcessing, "uploaded; TikTok is processing the post")
	s.mem.pollInterval = r.Options.StatusPollInitial
	s.mem.nextPoll = s.now.Add(s.mem.pollInterval)
	return ctrl.Result{RequeueAfter: s.mem.pollInterval}
}

// resumeUpload handles a FileUpload post that has a publish id and no upload in this process (a restart,
// or the upload ran in another manager). TikTok may have every byte already, so status/fetch is asked
// before anything else: a post TikTok has whole (or is processing, or published) is polled, never sent
// again. Only when TikTok says it holds fewer bytes than the file has (uploaded_bytes) is the upload known
// to be cut short: TikTok cannot publish an incomplete upload, and a new attempt starts over with a new
// init (the upload URL died with the process).
func (r *TikTokPostReconciler) resumeUpload(ctx context.Context, s *postScope) (ctrl.Result, error) {
	st := s.status()
	tok, err := r.accessToken(ctx, s)
	if err != nil {
		// The account's reconcile reports what is wrong with the credentials.
		s.log.V(1).Info("no usable access token to resume the upload: the post waits", "error", err,
			"retryIn", credentialsWait)
		return ctrl.Result{RequeueAfter: credentialsWait}, nil
	}
	ps, answered, wait, err := r.fetchStatus(ctx, s, tok)
	if wait != nil {
		return *wait, nil
	}
	if err != nil {
		if te := asTikTokError(err); tiktok.ClassOf(err) == tiktok.Terminal {
			r.fail(s, v1alpha1.ReasonUploadFailed, fmt.Sprintf(
				"the upload of publish id %s was interrupted and TikTok refused to say how far it got: %s: %s",
				st.PublishID, errorCode(te), te.Message))
			return ctrl.Result{}, nil
		}
		// Ask again; never send again meanwhile.
		s.log.V(1).Info("status/fetch failed while resuming an upload: asking again", "error", err,
			"retryIn", r.Options.StatusPollInitial)
		return ctrl.Result{RequeueAfter: r.Options.StatusPollInitial}, nil
	}
	var total int64
	if p := st.UploadProgress; p != nil {
		total = p.TotalBytes
	}
	if ps.Status == tiktok.StatusProcessingUpload && ps.UploadedBytes < total {
		st.LastError = &v1alpha1.PostError{Code: "upload_interrupted", Retryable: true, Time: &metav1.Time{Time: answered},
			Message: fmt.Sprintf("the upload of publish id %s was cut short: TikTok holds %d of %d bytes and cannot "+
				"publish it; a new attempt starts over", st.PublishID, ps.UploadedBytes, total)}
		return r.retryLater(s, answered, 0, v1alpha1.ReasonRetryableError), nil
	}
	// TikTok has every byte: from here on the post is followed like any other.
	st.Phase = v1alpha1.PhaseProcessing
	st.UploadProgress = &v1alpha1.UploadProgress{UploadedBytes: max(ps.UploadedBytes, total), TotalBytes: total}
	markProgressing(&st.Conditions, s.post.Generation, v1alpha1.ReasonProcessing,
		"TikTok has every byte of the upload and is processing the post")
	if res, ended := r.judgeStatus(s, ps, answered); ended {
		return res, nil
	}
	s.mem.pollInterval = r.Options.StatusPollInitial
	s.mem.nextPoll = answered.Add(s.mem.pollInterval)
	return ctrl.Result{RequeueAfter: max(s.mem.nextPoll.Sub(r.Clock.Now()), time.Millisecond)}, nil
}

// watchUpload stops an upload once this manager no longer holds the account's Lease (a renewal that did
// not land, a manager cut off from the API server): another manager takes the account over a whole lease
// duration after the last renewal, and asks TikTok how far the upload got (resumeUpload). This manager
// stops acting two thirds into the lease, and the watch looks every tenth of it, so the upload has
// stopped before the next holder looks.
func (r *TikTokPostReconciler) watchUpload(ctx context.Context, cancel context.CancelFunc, acct accountKey) {
	if r.Holders == nil {
		return
	}
	t := time.NewTicker(max(r.Options.AccountLeaseDuration/10, 100*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if !r.Holders.holding(acct) {
				cancel()
				return
			}
		}
	}
}
