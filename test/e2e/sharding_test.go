package e2e

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
)

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
