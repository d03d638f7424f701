package controllers

import (
	"context"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
)

// TestDeletingAPostInFlight: a post TikTok may have keeps the finalizer until what TikTok said is
// recorded; deleting it then leaves a Warning Event naming the publish id, so re-creating the same
// manifest (which publishes again) does not go unnoticed. A post that has ended carries no finalizer.
func TestDeletingAPostInFlight(t *testing.T) {
	t.Run("processing", func(t *testing.T) {
		w := newWorld(t, func(c *tiktoksim.Config) { c.Processing.Delay = tiktoksim.Duration(time.Hour) })
		w.account("brand", nil)
		w.post("p", "brand", nil)
		w.driveUntil("p", v1alpha1.PhaseProcessing, 50)
		p := w.get("p")
		if !controllerutil.ContainsFinalizer(p, v1alpha1.Finalizer) {
			t.Fatalf("a post TikTok is processing has no finalizer: %v", p.Finalizers)
		}
		w.deleteAndReconcile("p")
		if evs := w.eventsWith(ReasonDeletedInFlight, p.Status.PublishID); len(evs) != 1 {
			t.Errorf("want one DeletedInFlight Event naming publish id %s, got %v", p.Status.PublishID, evs)
		}
	})
	t.Run("the answer's write was refused when the delete came", func(t *testing.T) {
		w := newWorld(t, nil)
		w.account("brand", nil)
		w.post("p", "brand", nil)
		// The projection and the intent land; the answer's writes (in publish, then at the end of the
		// reconcile) are refused, so only memory holds it.
		w.faults("p", passWrite, passWrite, conflict409, conflict409)
		for range 20 {
			w.drive("p", 1)
			if n := len(w.script["p"]); n == 0 {
				break
			}
		}
		if p := w.get("p"); p.Status.Phase != v1alpha1.PhasePublishing || p.Status.PublishID != "" {
			t.Fatalf("setup: want the intent stored and the answer not, got %s (publish id %q); writes %v", describe(p), p.Status.PublishID, w.writes)
		}
		w.deleteAndReconcile("p")
		held := w.sim.Posts()
		if len(held) != 1 {
			t.Fatalf("the simulator holds %d posts, want 1", len(held))
		}
		if evs := w.eventsWith(ReasonDeletedInFlight, held[0].PublishID); len(evs) != 1 {
			t.Errorf("want one DeletedInFlight Event naming publish id %s, got %v", held[0].PublishID, evs)
		}
	})
	t.Run("published", func(t *testing.T) {
		w := newWorld(t, nil)
		w.account("brand", nil)
		w.post("p", "brand", nil)
		p := w.drive("p", 100)
		if p.Status.Phase != v1alpha1.PhasePublished {
			t.Fatalf("setup: %s", describe(p))
		}
		if len(p.Finalizers) != 0 {
			t.Errorf("a published post keeps finalizers %v: deleting it would need the operator", p.Finalizers)
		}
	})
	t.Run("queued", func(t *testing.T) {
		w := newWorld(t, nil)
		w.account("brand", func(aq *v1alpha1.AccountQuota) { aq.Spec.Suspend = true })
		w.post("p", "brand", nil)
		w.drive("p", 3)
		if p := w.get("p"); len(p.Finalizers) != 0 {
			t.Errorf("a post that never called TikTok has finalizers %v", p.Finalizers)
		}
	})
}

// driveUntil drives the post until it reaches phase.
func (w *world) driveUntil(name string, phase v1alpha1.Phase, steps int) {
	w.t.Helper()
	for range steps {
		w.drive(name, 1)
		if w.get(name).Status.Phase == phase {
			return
		}
	}
	w.t.Fatalf("%s never reached %s: %s", name, phase, describe(w.get(name)))
}

// deleteAndReconcile deletes the post and reconciles it until the API server has let it go.
func (w *world) deleteAndReconcile(name string) {
	w.t.Helper()
	p := w.get(name)
	if err := w.raw.Delete(context.Background(), p); err != nil {
		w.t.Fatal(err)
	}
	for range 10 {
		req := ctrl.Request{NamespacedName: types.NamespacedName{Namespace: testNS, Name: name}}
		if _, err := w.posts.Reconcile(context.Background(), req); err != nil {
			w.t.Logf("reconcile of the deleted post: %v", err)
		}
		w.clk.Step(10 * time.Millisecond)
		err := w.raw.Get(context.Background(), client.ObjectKey{Namespace: testNS, Name: name}, &v1alpha1.TikTokPost{})
		if apierrors.IsNotFound(err) {
			return
		}
	}
	w.t.Fatalf("%s was never let go: finalizers %v", name, w.get(name).Finalizers)
}
