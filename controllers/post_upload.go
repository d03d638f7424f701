package controllers

import (
	"context"
	"fmt"
	"sync"
	"time"

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

// startUpload starts the upload of an accepted FileUpload init in the background; when it ends the
// post is reconciled at once.
func (r *TikTokPostReconciler) startUpload(s *postScope, out *initOutput) {
	ctx, cancel := context.WithCancel(r.baseContext())
	job := &uploadJob{cancel: cancel, total: out.plan.VideoSize}
	s.mem.upload = job
	post := s.post.DeepCopy()
	c := r.TikTok.forAccount(s.account)
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

// stepUpload follows a FileUpload post between its init and the end of its upload. A post found in this
// state with no upload running was interrupted by a restart: its upload URL is gone, so it tries again
// with a new init (TikTok never got its bytes, so it cannot be published twice).
func (r *TikTokPostReconciler) stepUpload(s *postScope) ctrl.Result {
	st := s.status()
	job := s.mem.upload
	if job == nil {
		st.LastError = &v1alpha1.PostError{Code: "upload_interrupted", Retryable: true,
			Message: "the operator restarted during the upload; the upload URL is lost, a new attempt starts over"}
		return r.retryLater(s, s.now, 0, v1alpha1.ReasonRetryableError, false, false)
	}
	uploaded, total, done, err := job.progress()
	if !done {
		if p := st.UploadProgress; p == nil || uploaded-p.UploadedBytes >= total/4 {
			st.UploadProgress = &v1alpha1.UploadProgress{UploadedBytes: uploaded, TotalBytes: total}
		}
		return ctrl.Result{RequeueAfter: uploadProgressEvery}
	}
	s.mem.upload = nil
	if err != nil {
		te := asTikTokError(err)
		st.LastError = &v1alpha1.PostError{Code: errorCode(te), Message: truncate(te.Message, 512),
			HTTPStatus: int32(te.HTTPStatus), Retryable: tiktok.ClassOf(err) != tiktok.Terminal}
		if tiktok.ClassOf(err) == tiktok.Terminal {
			r.fail(s, v1alpha1.ReasonUploadFailed, fmt.Sprintf("the upload was refused: %s: %s", errorCode(te), te.Message))
			return ctrl.Result{}
		}
		return r.retryLater(s, s.now, 0, v1alpha1.ReasonRetryableError, false, false)
	}
	st.UploadProgress = &v1alpha1.UploadProgress{UploadedBytes: total, TotalBytes: total}
	st.Phase = v1alpha1.PhaseProcessing
	markProgressing(&st.Conditions, s.post.Generation, v1alpha1.ReasonProcessing, "uploaded; TikTok is processing the post")
	s.mem.pollInterval = r.Options.StatusPollInitial
	s.mem.nextPoll = s.now.Add(s.mem.pollInterval)
	return ctrl.Result{RequeueAfter: s.mem.pollInterval}
}
