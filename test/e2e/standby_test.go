package e2e

import (
	"regexp"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/controllers"
)

// lapsesAt is the lapse the manager logs when it finds an account held by another.
var lapsesAt = regexp.MustCompile(`"lapsesAt": "([^"]+)"`)

// TestNewLeaderCountsAccountLeasesFromItsStart: after the leader died (SIGKILL: nothing released), a new
// manager with leader election waits for the leader-election Lease (15 s) and must then take the dead
// leader's account Leases over. It counts their lapse from when its cache first saw them, at its start,
// not from when it began to lead: the account Lease (20 s here) lapses about 20 s after the start, not 35.
// The dead leader is a "ghost" that holds both Leases, renewed just before the new manager starts.
func TestNewLeaderCountsAccountLeasesFromItsStart(t *testing.T) {
	const accountLease, leaderLease = 20 * time.Second, 15 * time.Second
	e := newEnv(t, nil)
	aq := e.account("acct")
	e.post("acct-00", "acct", nil)
	now := metav1.NewMicroTime(time.Now())
	e.create(&coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Namespace: e.ns, Name: "acct.tiktok-operator",
			Labels: map[string]string{controllers.AccountLeaseLabel: "true"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: v1alpha1.GroupVersion.String(), Kind: "AccountQuota",
				Name: aq.Name, UID: aq.UID}}},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("ghost"), LeaseDurationSeconds: ptr.To(int32(accountLease / time.Second)),
			AcquireTime: &now, RenewTime: &now},
	})
	e.create(&coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Namespace: e.ns, Name: "standby-test"},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("ghost"), LeaseDurationSeconds: ptr.To(int32(leaderLease / time.Second)),
			AcquireTime: &now, RenewTime: &now},
	})

	start := time.Now()
	e.startManagerWith(cfg, fastOptions(), func(o *ctrl.Options) {
		o.LeaderElection, o.LeaderElectionID, o.LeaderElectionNamespace = true, "standby-test", e.ns
		o.LeaseDuration, o.RenewDeadline, o.RetryPeriod = ptr.To(leaderLease), ptr.To(10*time.Second), ptr.To(time.Second)
	})

	e.waitPosts(90*time.Second, func(ps []v1alpha1.TikTokPost) bool { return allPublished(ps) })
	m := lapsesAt.FindStringSubmatch(e.logs.String())
	if m == nil {
		t.Fatalf("the new leader never reported the account held by the ghost; logs:\n%s", e.logs.String())
	}
	lapse, err := time.Parse(time.RFC3339Nano, m[1])
	if err != nil {
		t.Fatal(err)
	}
	// Counted from its start: about accountLease after it. Counted from when it led: leaderLease more.
	after := lapse.Sub(start)
	t.Logf("the ghost's account Lease lapses %s after the new manager's start (published %s after it)", after.Round(time.Millisecond),
		time.Since(start).Round(time.Millisecond))
	if after > accountLease+leaderLease/2 {
		t.Errorf("the account Lease lapses %s after the start: counted from when the manager led (%s + %s), not from its start",
			after.Round(time.Millisecond), leaderLease, accountLease)
	}
}
