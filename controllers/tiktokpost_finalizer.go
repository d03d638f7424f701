package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
)

// The finalizer (v1alpha1.Finalizer) keeps a post whose init call may have reached TikTok until what
// TikTok said is recorded, so that deleting a post in flight never loses its publish id:
//   - it is added while the first init call of an attempt is in flight (concurrently with the call, so the
//     call leaves no later than it would without it), and stays while the post is Publishing or
//     Processing;
//   - it is removed once the post ends (Published, Delivered, Failed): an ended post is deleted at once,
//     operator running or not;
//   - a post deleted while it has it gets its answer written first, then a Warning Event
//     (DeletedInFlight) naming the publish id TikTok holds (or saying the init call's answer was never
//     recorded), so that re-creating the same manifest, which publishes it again, does not go unnoticed.
//
// What deleting a post does in each phase is documented in docs/troubleshooting.md.

// ReasonDeletedInFlight is the Event reason of a post deleted while TikTok may have it.
const ReasonDeletedInFlight = "DeletedInFlight"

// finalizerAdd is the finalizer being added while an init call is in flight.
type finalizerAdd struct {
	done chan struct{}
	obj  *v1alpha1.TikTokPost // the post as the API server answered the patch
	err  error
}

// startAddFinalizer adds the finalizer to the post in the background, with the resourceVersion of the
// intent just written (a conflict leaves it to the next reconcile, see ensureFinalizer). The answer's
// write waits for it (finishAddFinalizer): it must carry the resourceVersion the patch produced.
func (r *TikTokPostReconciler) startAddFinalizer(ctx context.Context, post *v1alpha1.TikTokPost) *finalizerAdd {
	if controllerutil.ContainsFinalizer(post, v1alpha1.Finalizer) {
		return nil
	}
	fa := &finalizerAdd{done: make(chan struct{})}
	orig := post.DeepCopy()
	obj := post.DeepCopy()
	controllerutil.AddFinalizer(obj, v1alpha1.Finalizer)
	go func() {
		defer close(fa.done)
		fa.err = r.Patch(ctx, obj, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}))
		fa.obj = obj
	}()
	return fa
}

// finishAddFinalizer waits for the finalizer's patch and takes its resourceVersion and finalizers into
// the post, so that the answer's status write lands on top of it.
func (r *TikTokPostReconciler) finishAddFinalizer(s *postScope, fa *finalizerAdd) {
	if fa == nil {
		return
	}
	<-fa.done
	if fa.err != nil {
		// The next reconcile adds it (ensureFinalizer); the answer's write decides on what it has.
		s.log.V(1).Info("adding the finalizer during the init call failed: the next reconcile adds it", "error", fa.err)
		return
	}
	s.post.ResourceVersion = fa.obj.ResourceVersion
	s.post.Finalizers = fa.obj.Finalizers
	s.mem.ownWrite = nil // the cache will show the patch, not our last status write, as the newest copy
}

// ensureFinalizer puts the finalizer on a post in flight that lacks it (its patch failed during the call,
// or the post was in flight before the operator had finalizers) and takes it off an ended post. It runs
// after the reconcile's status write, so an ended post's last status is stored before the finalizer goes.
func (r *TikTokPostReconciler) ensureFinalizer(ctx context.Context, s *postScope) error {
	has := controllerutil.ContainsFinalizer(s.post, v1alpha1.Finalizer)
	phase := s.status().Phase
	switch {
	case inFlight(phase) && !has && s.post.DeletionTimestamp.IsZero():
		return r.patchFinalizer(ctx, s.post, controllerutil.AddFinalizer)
	case !inFlight(phase) && has:
		return r.patchFinalizer(ctx, s.post, controllerutil.RemoveFinalizer)
	}
	return nil
}

// patchFinalizer adds or removes the finalizer with an optimistically locked merge patch: the list is
// replaced whole, so it must not overwrite another controller's change made since the read.
func (r *TikTokPostReconciler) patchFinalizer(ctx context.Context, post *v1alpha1.TikTokPost,
	change func(client.Object, string) bool) error {
	orig := post.DeepCopy()
	obj := post.DeepCopy()
	change(obj, v1alpha1.Finalizer)
	if err := r.Patch(ctx, obj, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("updating the finalizer of %s/%s: %w", post.Namespace, post.Name, err)
	}
	post.ResourceVersion, post.Finalizers = obj.ResourceVersion, obj.Finalizers
	return nil
}

// deleted handles a post marked for deletion. Without our finalizer there is nothing to keep: the post
// leaves its queue (forgetPost). With it, the answer this process still holds is written first, an Event
// says what TikTok has, and the finalizer goes.
func (r *TikTokPostReconciler) deleted(ctx context.Context, post *v1alpha1.TikTokPost, key types.NamespacedName) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(post, v1alpha1.Finalizer) {
		r.forgetPost(ctx, key)
		return ctrl.Result{}, nil
	}
	mem := r.memory(key, post.UID)
	mem.applyOwnWrite(post)
	if mem.unwritten != nil {
		s := &postScope{post: post, written: post.Status.DeepCopy(), mem: mem, now: r.Clock.Now(), log: log.FromContext(ctx)}
		post.Status = *mem.unwritten.DeepCopy()
		if err := r.writeStatus(ctx, s); err != nil {
			return ctrl.Result{}, err // the answer is written before the post may go
		}
	}
	if msg := inFlightWords(post, mem, r.intents); msg != "" {
		r.event(post, corev1.EventTypeWarning, ReasonDeletedInFlight, "%s", msg)
	}
	r.forgetPost(ctx, key)
	return ctrl.Result{}, r.patchFinalizer(ctx, post, controllerutil.RemoveFinalizer)
}

// inFlightWords says what TikTok may hold of a post being deleted ("" when nothing).
func inFlightWords(post *v1alpha1.TikTokPost, mem *postMemory, intents *intentSource) string {
	st := &post.Status
	again := "; creating this post again publishes it a second time"
	switch {
	case st.Phase == v1alpha1.PhaseProcessing:
		return fmt.Sprintf("deleted while TikTok processes it as publish id %s: TikTok may still publish it%s", st.PublishID, again)
	case st.Phase == v1alpha1.PhasePublishing && st.PublishID != "":
		if mem.upload != nil {
			return fmt.Sprintf("deleted during the upload of publish id %s: the upload is stopped, so TikTok cannot publish it", st.PublishID)
		}
		return fmt.Sprintf("deleted while publish id %s was uploading: TikTok may have every byte and publish it%s", st.PublishID, again)
	case st.Phase == v1alpha1.PhasePublishing:
		if n := len(st.AttemptHistory); n > 0 {
			if h := st.AttemptHistory[n-1]; intents.mine(h.IntentID) && !mem.wasSent(h.IntentID) {
				return "" // the call was never made
			}
		}
		return fmt.Sprintf("deleted while the answer to init attempt %d was never recorded: TikTok may have the post%s", st.Attempts, again)
	}
	return ""
}
