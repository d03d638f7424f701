package e2e

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
)

// TestStatusWritesWithoutManagedFieldsKeepTheServersRecord: the manager's cache drops managedFields
// (controllers.ConfigureCache), so its status writes carry none; the API server must then keep the
// live object's record (the creator's spec fields) and add the manager's status fields to it.
func TestStatusWritesWithoutManagedFieldsKeepTheServersRecord(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.account("brand", func(aq *v1alpha1.AccountQuota) {
		aq.Spec.Limits.PostInit = v1alpha1.RateLimit{Requests: 1, Window: metav1.Duration{Duration: time.Hour}}
	})
	for _, n := range []string{"first", "second", "third"} {
		e.post(n, "brand", nil)
	}
	e.startManager(fastOptions())
	e.waitPosts(time.Minute, func(ps []v1alpha1.TikTokPost) bool {
		ph := phases(ps)
		return ph[v1alpha1.PhasePublished] == 1 && ph[v1alpha1.PhaseQueued] == 2
	})
	written := 0
	for _, n := range []string{"first", "second", "third"} {
		written += e.writes.statusWrites("TikTokPost", n)
	}
	if written < 3+2 { // intent, answer and Published for one; the projection of each queued one
		t.Fatalf("%d status writes of the posts, want at least 5", written)
	}
	if n := e.writes.withManagedFields.Load(); n != 0 {
		t.Errorf("%d of the manager's status writes carried managedFields; the cache should have dropped them", n)
	}
	for _, n := range []string{"first", "second", "third"} {
		p := e.getPost(n)
		var spec, status bool
		for _, m := range p.ManagedFields {
			if m.FieldsV1 == nil {
				continue
			}
			f := m.FieldsV1.GetRawString()
			spec = spec || (m.Subresource == "" && strings.Contains(f, `"f:spec"`) && strings.Contains(f, `"f:title"`))
			status = status || (m.Subresource == "status" && strings.Contains(f, `"f:phase"`))
		}
		if !spec || !status {
			t.Errorf("post %s (%s): the server's managedFields lost the creator's spec (%v) or lack the manager's status (%v): %+v",
				n, p.Status.Phase, spec, status, p.ManagedFields)
		}
	}
}
