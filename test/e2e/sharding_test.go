package e2e

import (
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/tiktok-operator/tiktok-operator/controllers"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"

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

// TestShardLeavesOtherShardsPostsAlone: a release whose --account-selector does not match an account
// must not touch that account's posts (docs/scaling.md: an account and its posts belong to one shard).
// Shard a makes the account Ready and stops; shard b then sees a new post of that account. Shard b must
// neither call TikTok for it nor write its status.
func TestShardLeavesOtherShardsPostsAlone(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.account("brand", func(aq *v1alpha1.AccountQuota) { aq.Labels = map[string]string{"shard": "a"} })

	shardA := fastOptions()
	shardA.AccountSelector = labels.SelectorFromSet(labels.Set{"shard": "a"})
	stopA := e.startManager(shardA)
	deadline := time.Now().Add(time.Minute)
	for !accountReady(e, "brand") {
		if time.Now().After(deadline) {
			t.Fatal("shard a never made its account Ready")
		}
		time.Sleep(100 * time.Millisecond)
	}
	stopA()

	shardB := fastOptions()
	shardB.AccountSelector = labels.SelectorFromSet(labels.Set{"shard": "b"})
	e.startManager(shardB)
	e.post("not-yours", "brand", nil)
	// Give shard b ample time to (wrongly) act: it needs well under a second when it does.
	time.Sleep(5 * time.Second)
	if n := e.sim.Stats().Get(e.ns+"-brand", tiktoksim.EndpointVideoInit).Calls; n != 0 {
		t.Errorf("shard b sent %d init calls for a post of an account of shard a", n)
	}
	if st := e.getPost("not-yours").Status; st.Phase != "" || len(st.Conditions) > 0 {
		t.Errorf("shard b wrote the status of a post of shard a: phase %q, conditions %+v", st.Phase, st.Conditions)
	}
}

func accountReady(e *env, name string) bool {
	_, typed := e.getBoth("AccountQuota", name)
	for _, c := range typed.(*v1alpha1.AccountQuota).Status.Conditions {
		if c.Type == v1alpha1.ConditionReady && c.Status == "True" {
			return true
		}
	}
	return false
}
