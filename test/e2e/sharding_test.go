package e2e

import (
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/tiktok-operator/tiktok-operator/controllers"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
)

// TestShardsBySelector runs two managers with disjoint --account-selector values in one namespace: each
// handles the accounts of its shard and their posts, and never writes a status of the other's. While
// only shard a runs, shard b's posts stay untouched.
func TestShardsBySelector(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for _, shard := range []string{"a", "b"} {
		e.account("acct-"+shard, func(aq *v1alpha1.AccountQuota) { aq.Labels = map[string]string{"shard": shard} })
		for i := range 3 {
			e.post(fmt.Sprintf("%s-%d", shard, i), "acct-"+shard, nil)
		}
	}
	optsFor := func(shard string) (o controllers.Options) {
		o = fastOptions()
		o.AccountSelector = labels.SelectorFromSet(labels.Set{"shard": shard})
		return o
	}
	e.startManager(optsFor("a"))
	e.waitPosts(time.Minute, func(ps []v1alpha1.TikTokPost) bool {
		for _, p := range ps {
			if p.Spec.AccountRef.Name == "acct-a" && p.Status.Phase != v1alpha1.PhasePublished {
				return false
			}
		}
		return true
	})
	time.Sleep(500 * time.Millisecond) // give a wrongly-sharded manager the time to touch shard b
	for _, p := range e.posts() {
		if p.Spec.AccountRef.Name == "acct-b" && (p.Status.Phase != "" || len(p.Status.Conditions) > 0) {
			t.Errorf("%s belongs to shard b but shard a's manager wrote its status: %+v", p.Name, p.Status)
		}
	}
	e.startManager(optsFor("b"))
	for _, p := range e.waitPosts(time.Minute, nil) {
		if p.Status.Phase != v1alpha1.PhasePublished || p.Status.Attempts != 1 {
			t.Errorf("%s: %s after %d attempts", p.Name, p.Status.Phase, p.Status.Attempts)
		}
	}
	if n := len(e.sim.Posts()); n != 6 {
		t.Errorf("the simulator accepted %d posts, want 6 (each once)", n)
	}
}
