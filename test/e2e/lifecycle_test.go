package e2e

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
)

// TestUncertainOutcomeFailsThenRetryAnnotationRestarts: TikTok takes the init but the connection drops
// before the answer. Under onUncertainOutcome Fail the post fails with reason UncertainOutcome and is not
// sent again; a human's retry annotation restarts it (attempts reset) and it publishes.
func TestUncertainOutcomeFailsThenRetryAnnotationRestarts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.account("brand")
	e.sim.SetFaults(tiktoksim.Faults{Drop: 1, Endpoints: []string{tiktoksim.EndpointVideoInit}})
	e.post("dropped", "brand", nil)
	e.startManager(fastOptions())

	ps := e.waitPosts(time.Minute, nil)
	st := ps[0].Status
	c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionStalled)
	if st.Phase != v1alpha1.PhaseFailed || c == nil || c.Reason != v1alpha1.ReasonUncertainOutcome || st.Attempts != 1 {
		t.Fatalf("phase %s, attempts %d, Stalled %+v; want Failed/UncertainOutcome after 1 attempt", st.Phase, st.Attempts, c)
	}
	if n := len(e.sim.Posts()); n != 1 {
		t.Fatalf("the simulator holds %d posts, want the 1 it took before dropping the connection", n)
	}
	time.Sleep(time.Second) // nothing more may happen to a failed post
	if n := e.sim.Stats().Get(e.ns+"-brand", tiktoksim.EndpointVideoInit).Calls; n != 1 {
		t.Fatalf("%d init calls for a post that failed on an uncertain outcome, want 1", n)
	}

	e.sim.SetFaults(tiktoksim.Faults{})
	p := e.getPost("dropped")
	patch := client.MergeFrom(p.DeepCopy())
	p.Annotations = map[string]string{v1alpha1.RetryAnnotation: "checked-2026-11-27"}
	if err := k8sClient.Patch(context.Background(), p, patch); err != nil {
		t.Fatal(err)
	}
	ps = e.waitPosts(time.Minute, func(ps []v1alpha1.TikTokPost) bool { return ps[0].Status.Phase == v1alpha1.PhasePublished })
	st = ps[0].Status
	if st.Attempts != 1 || st.LastRetryAnnotation != "checked-2026-11-27" {
		t.Errorf("after the retry: attempts %d (want 1, reset), lastRetryAnnotation %q", st.Attempts, st.LastRetryAnnotation)
	}
}

// TestDeletedPostLeavesTheQueue: a post deleted while it waits for a slot is never sent, and the post
// behind it takes its slot.
func TestDeletedPostLeavesTheQueue(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.account("brand", func(aq *v1alpha1.AccountQuota) {
		aq.Spec.Limits.PostInit = v1alpha1.RateLimit{Requests: 1, Window: metav1.Duration{Duration: 4 * time.Second}}
	})
	e.post("a-first", "brand", nil)
	e.startManager(fastOptions())
	e.waitPosts(30*time.Second, func(ps []v1alpha1.TikTokPost) bool { return phaseOf(ps, "a-first") == v1alpha1.PhasePublished })
	e.post("b-deleted", "brand", nil)
	e.post("c-kept", "brand", nil)
	e.waitPosts(10*time.Second, func(ps []v1alpha1.TikTokPost) bool {
		return phaseOf(ps, "b-deleted") == v1alpha1.PhaseQueued && phaseOf(ps, "c-kept") == v1alpha1.PhaseQueued
	})
	if err := k8sClient.Delete(context.Background(), e.getPost("b-deleted")); err != nil {
		t.Fatal(err)
	}
	e.waitPosts(30*time.Second, func(ps []v1alpha1.TikTokPost) bool { return phaseOf(ps, "c-kept") == v1alpha1.PhasePublished })
	for _, a := range e.sim.Posts() {
		if a.Title == "b-deleted" {
			t.Errorf("the deleted post was sent")
		}
	}
}

// TestDeletingADownloadingPostCancelsIt: a post deleted while TikTok still downloads its video (a
// PULL_FROM_URL post in Processing) is cancelled at TikTok.
func TestDeletingADownloadingPostCancelsIt(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *tiktoksim.Config) { c.Processing.Delay = tiktoksim.Duration(time.Minute) })
	e.account("brand")
	e.post("slow-download", "brand", nil)
	e.startManager(fastOptions())
	e.waitPosts(30*time.Second, func(ps []v1alpha1.TikTokPost) bool { return ps[0].Status.Phase == v1alpha1.PhaseProcessing })
	if err := k8sClient.Delete(context.Background(), e.getPost("slow-download")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "TikTok to cancel the download", func() bool {
		ps := e.sim.Posts()
		return len(ps) == 1 && ps[0].FailReason == "publish_cancelled"
	})
}
