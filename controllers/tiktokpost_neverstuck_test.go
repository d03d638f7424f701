package controllers

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
)

// TestEveryPostEnds: a post ends Published, Delivered or Failed with a reason, whatever it waits for.
// Each case is one way a post used to wait for ever.
func TestEveryPostEnds(t *testing.T) {
	deadline := func(w *world, after time.Duration) func(*v1alpha1.TikTokPostSpec) {
		return func(s *v1alpha1.TikTokPostSpec) { s.Deadline = &metav1.Time{Time: w.clk.Now().Add(after)} }
	}
	tests := []struct {
		name   string
		setup  func(w *world)
		reason string
	}{
		{"deadline passes while the account does not exist", func(w *world) {
			w.post("p", "missing", deadline(w, time.Hour))
		}, v1alpha1.ReasonDeadlineExceeded},
		{"deadline passes while the post is suspended", func(w *world) {
			w.account("brand", nil)
			w.post("p", "brand", func(s *v1alpha1.TikTokPostSpec) { deadline(w, time.Hour)(s); s.Suspend = true })
		}, v1alpha1.ReasonDeadlineExceeded},
		{"deadline passes while the account is suspended", func(w *world) {
			aq := w.account("brand", nil)
			aq = w.getAccount(aq.Name)
			aq.Spec.Suspend = true
			aq.Generation++
			if err := w.raw.Update(context.Background(), aq); err != nil {
				w.t.Fatal(err)
			}
			w.post("p", "brand", deadline(w, time.Hour))
		}, v1alpha1.ReasonDeadlineExceeded},
		{"TikTok never finishes processing", func(w *world) {
			w.slowPolls()
			w.sim.UpdateConfig(func(c *tiktoksim.Config) { c.Processing.Delay = tiktoksim.Duration(1000 * time.Hour) })
			w.account("brand", nil)
			w.post("p", "brand", nil)
		}, v1alpha1.ReasonProcessingTimeout},
		{"TikTok refuses every token while the post is processing", func(w *world) {
			w.slowPolls()
			w.sim.UpdateConfig(func(c *tiktoksim.Config) { c.Processing.Delay = tiktoksim.Duration(1000 * time.Hour) })
			w.account("brand", nil)
			w.post("p", "brand", nil)
			w.driveUntil("p", v1alpha1.PhaseProcessing, 30)
			if err := w.sim.ExpireAccessTokens("brand"); err != nil {
				w.t.Fatal(err)
			}
		}, v1alpha1.ReasonProcessingTimeout},
		{"the account is deleted while the post is processing", func(w *world) {
			w.sim.UpdateConfig(func(c *tiktoksim.Config) { c.Processing.Delay = tiktoksim.Duration(1000 * time.Hour) })
			aq := w.account("brand", nil)
			w.post("p", "brand", nil)
			w.driveUntil("p", v1alpha1.PhaseProcessing, 30)
			if err := w.raw.Delete(context.Background(), aq); err != nil {
				w.t.Fatal(err)
			}
		}, v1alpha1.ReasonAccountNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, nil)
			tt.setup(w)
			p := w.drive("p", 400)
			if p.Status.Phase != v1alpha1.PhaseFailed || reasonOf(p) != tt.reason {
				t.Fatalf("want Failed(%s), got %s after %s of virtual time", tt.reason, describe(p),
					w.clk.Since(time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)).Round(time.Second))
			}
			t.Logf("%s after %s of virtual time", describe(p), w.clk.Since(time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)).Round(time.Second))
		})
	}
}

// slowPolls makes the process poll TikTok at most hourly, so hours of processing take few reconciles.
func (w *world) slowPolls() {
	w.opts.StatusPollMax = time.Hour
	w.restart()
}
