package main

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktok"
)

// naiveOperator is the operator most people would write first: a reconciler that calls init and, on
// any error (a 429 included), returns it so controller-runtime's default rate limiter retries the
// post. It never loses a post (it retries forever) but knows nothing of TikTok's windows.
type naiveOperator struct{}

func (naiveOperator) name() string    { return "naive operator" }
func (naiveOperator) needsKube() bool { return true }

func (naiveOperator) run(ctx context.Context, e *runEnv) (outcome, error) {
	return runOperator(ctx, e, "naive", func(mgr ctrl.Manager) error {
		r := &naiveReconciler{client: mgr.GetClient(),
			tiktok: tiktok.New(tiktok.Options{BaseURL: e.simURL, HTTPClient: e.http, Timeout: 30 * time.Second})}
		return ctrl.NewControllerManagedBy(mgr).
			Named("naive-tiktokpost").
			For(&v1alpha1.TikTokPost{}).
			WithOptions(controller.Options{RateLimiter: compressedDefaultRateLimiter(e.scale)}).
			Complete(r)
	})
}

// naiveReconciler publishes a post with one init call. It skips TikTok's processing (no status/fetch
// polls): a post is Published as soon as the init is accepted, which only flatters it.
type naiveReconciler struct {
	client client.Client
	tiktok *tiktok.Client
}

func (r *naiveReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	var post v1alpha1.TikTokPost
	if err := r.client.Get(ctx, req.NamespacedName, &post); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if post.Status.Phase == v1alpha1.PhasePublished {
		return reconcile.Result{}, nil
	}
	var aq v1alpha1.AccountQuota
	if err := r.client.Get(ctx, client.ObjectKey{Namespace: req.Namespace, Name: post.Spec.AccountRef.Name}, &aq); err != nil {
		return reconcile.Result{}, fmt.Errorf("reading the account of %s: %w", req.Name, err)
	}
	var sec corev1.Secret
	if err := r.client.Get(ctx, client.ObjectKey{Namespace: req.Namespace, Name: aq.Spec.CredentialsSecretRef.Name}, &sec); err != nil {
		return reconcile.Result{}, fmt.Errorf("reading the credentials of %s: %w", aq.Name, err)
	}
	tok := tiktok.AccessToken(sec.Data[v1alpha1.SecretKeyAccessToken])
	res, err := r.tiktok.InitDirectVideo(ctx, tok, videoRequest(plannedPost{name: post.Name}))
	if err != nil {
		return reconcile.Result{}, fmt.Errorf("publishing %s: %w", req.Name, err)
	}
	patch := client.MergeFrom(post.DeepCopy())
	post.Status.Phase = v1alpha1.PhasePublished
	post.Status.PublishID = res.PublishID
	post.Status.ObservedGeneration = post.Generation
	if err := r.client.Status().Patch(ctx, &post, patch); err != nil {
		return reconcile.Result{}, fmt.Errorf("recording %s as published: %w", req.Name, err)
	}
	return reconcile.Result{}, nil
}

// compressedDefaultRateLimiter is controller-runtime's default rate limiter (the larger of a per-item
// exponential backoff from 5 ms to 1000 s and an overall 10 qps bucket of 100) with the benchmark's
// compression applied: delays divided by the factor, the bucket's rate multiplied by it. Uncompressed,
// its delays would be 30 times longer relative to TikTok's windows than they are in production.
func compressedDefaultRateLimiter(s scale) workqueue.TypedRateLimiter[reconcile.Request] {
	return workqueue.NewTypedMaxOfRateLimiter(
		workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](s.d(5*time.Millisecond), s.d(1000*time.Second)),
		newBucket[reconcile.Request](10*s.factor, 100),
	)
}
