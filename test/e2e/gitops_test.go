package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
)

// The Argo CD health scripts and the argocd-cm keys that carry them.
const (
	postHealthLua    = "config/argocd/tiktokpost-health.lua"
	accountHealthLua = "config/argocd/accountquota-health.lua"
	argoCDConfigMap  = "config/argocd/argocd-cm.yaml"
	postHealthKey    = "resource.customizations.health.publish.tiktok-operator.dev_TikTokPost"
	accountHealthKey = "resource.customizations.health.publish.tiktok-operator.dev_AccountQuota"
)

// healthCase is one object the operator drives into a state, and the health Argo CD must show for it.
type healthCase struct {
	kind string
	// name is the object; "a|b" means whichever of a and b reaches the state first (two posts of one
	// account race for its first slot).
	name string
	// reached says the object is in the state under test (read from the typed object).
	reached func(client.Object) bool
	want    string
	// wantInMessage, when set, must appear in the health message.
	wantInMessage string
}

// TestArgoCDHealthOnRealObjects runs the operator against the simulator until its posts and accounts are
// in every state a platform team sees, then evaluates the Argo CD health scripts on each object exactly
// as the API server returned it, and checks the health Argo CD would show.
func TestArgoCDHealthOnRealObjects(t *testing.T) {
	t.Parallel()
	posts, accounts := readScript(t, postHealthLua), readScript(t, accountHealthLua)
	checkArgoCDConfigMap(t, posts, accounts)

	e := newEnv(t, func(c *tiktoksim.Config) {
		// TikTok really allows one video init a minute: the account "throttled", configured for six, is
		// answered 429 on its second post.
		c.Limits[tiktoksim.EndpointVideoInit] = tiktoksim.Limit{Requests: 1, Window: tiktoksim.Duration(time.Minute)}
	})
	d := func(x time.Duration) metav1.Duration { return metav1.Duration{Duration: x} }
	e.account("brand", func(aq *v1alpha1.AccountQuota) {
		// One video init a minute, as the simulator allows: of "published" and "queued", the one that
		// reaches the queue first is published, the other waits (priority only orders posts queued together).
		aq.Spec.Limits.PostInit = v1alpha1.RateLimit{Requests: 1, Window: d(time.Minute)}
	})
	e.account("throttled", func(aq *v1alpha1.AccountQuota) {
		// A long cooldown after the 429 (Rand pins the jitter near its top), so the state lasts.
		aq.Spec.Backoff = v1alpha1.BackoffPolicy{Initial: d(20 * time.Second), Max: d(20 * time.Second), Jitter: "Full"}
	})
	e.account("paused", func(aq *v1alpha1.AccountQuota) { aq.Spec.Suspend = true })
	e.account("nosecret", func(aq *v1alpha1.AccountQuota) { aq.Spec.CredentialsSecretRef.Name = "no-such-secret" })

	e.post("published", "brand", func(s *v1alpha1.TikTokPostSpec) { s.Priority = 1 })
	e.post("queued", "brand", nil)
	e.post("delivered", "brand", func(s *v1alpha1.TikTokPostSpec) { s.Mode = v1alpha1.ModeUpload })
	e.post("scheduled", "brand", func(s *v1alpha1.TikTokPostSpec) {
		s.PublishAt = &metav1.Time{Time: time.Now().Add(time.Hour)}
	})
	e.post("failed", "brand", func(s *v1alpha1.TikTokPostSpec) { s.Video.URL = "https://elsewhere.example.org/v.mp4" })
	e.post("suspended", "brand", func(s *v1alpha1.TikTokPostSpec) { s.Suspend = true })
	e.post("t-first", "throttled", func(s *v1alpha1.TikTokPostSpec) { s.Priority = 1 })
	e.post("t-second", "throttled", nil)
	e.post("held", "paused", nil)
	e.post("orphan", "nosecret", nil)
	e.post("nowhere", "no-such-account", nil)
	fresh := e.post("fresh", "paused", nil) // as Create returned it: the operator has not seen it yet

	opts := fastOptions()
	opts.Rand = func() float64 { return 0.99 }
	e.startManager(opts)

	phase := func(p v1alpha1.Phase) func(client.Object) bool {
		return func(o client.Object) bool { return o.(*v1alpha1.TikTokPost).Status.Phase == p }
	}
	postCond := func(typ, reason string) func(client.Object) bool {
		return func(o client.Object) bool {
			c := meta.FindStatusCondition(o.(*v1alpha1.TikTokPost).Status.Conditions, typ)
			return c != nil && c.Status == metav1.ConditionTrue && (reason == "" || c.Reason == reason)
		}
	}
	readyReason := func(reason string) func(client.Object) bool {
		return func(o client.Object) bool {
			c := meta.FindStatusCondition(o.(*v1alpha1.TikTokPost).Status.Conditions, v1alpha1.ConditionReady)
			return c != nil && c.Reason == reason
		}
	}
	acctCond := func(typ, reason string) func(client.Object) bool {
		return func(o client.Object) bool {
			c := meta.FindStatusCondition(o.(*v1alpha1.AccountQuota).Status.Conditions, typ)
			return c != nil && c.Status == metav1.ConditionTrue && (reason == "" || c.Reason == reason)
		}
	}
	const post, account = "TikTokPost", "AccountQuota"
	cases := []healthCase{
		{post, "published|queued", phase(v1alpha1.PhasePublished), "Healthy", "post id"},
		{post, "delivered", phase(v1alpha1.PhaseDelivered), "Healthy", "Delivered"},
		{post, "queued|published", phase(v1alpha1.PhaseQueued), "Progressing", "Queued"},
		{post, "scheduled", phase(v1alpha1.PhaseScheduled), "Progressing", "spec.publishAt"},
		{post, "failed", phase(v1alpha1.PhaseFailed), "Degraded", v1alpha1.ReasonMediaURLNotAllowed},
		{post, "suspended", readyReason(v1alpha1.ReasonSuspended), "Suspended", "spec.suspend"},
		{post, "held", readyReason(v1alpha1.ReasonSuspended), "Suspended", "paused is suspended"},
		{post, "t-first|t-second", postCond(v1alpha1.ConditionThrottled, v1alpha1.ReasonRateLimited), "Progressing", "throttled"},
		{post, "orphan", postCond(v1alpha1.ConditionStalled, v1alpha1.ReasonAccountNotReady), "Degraded", "CredentialsMissing"},
		{post, "nowhere", readyReason(v1alpha1.ReasonAccountNotFound), "Progressing", "not found"},
		{account, "brand", acctCond(v1alpha1.ConditionReady, v1alpha1.ReasonAccountReady), "Healthy", "@brand"},
		{account, "throttled", acctCond(v1alpha1.ConditionThrottled, v1alpha1.ReasonRateLimited), "Healthy", "throttled"},
		{account, "paused", func(o client.Object) bool {
			c := meta.FindStatusCondition(o.(*v1alpha1.AccountQuota).Status.Conditions, v1alpha1.ConditionReady)
			return c != nil && c.Reason == v1alpha1.ReasonSuspended
		}, "Suspended", "spec.suspend"},
		{account, "nosecret", acctCond(v1alpha1.ConditionStalled, v1alpha1.ReasonCredentialsMissing), "Degraded", "no-such-secret"},
	}

	// Each object is evaluated the first time it is seen in its state: some states pass (a queued post
	// gets its slot, a cooldown ends), so they are caught as they happen.
	seen := map[string]map[string]any{}
	deadline := time.Now().Add(2 * time.Minute)
	for len(seen) < len(cases) {
		for _, c := range cases {
			if _, ok := seen[c.kind+"/"+c.name]; ok {
				continue
			}
			for _, name := range strings.Split(c.name, "|") {
				u, typed := e.getBoth(c.kind, name)
				if c.reached(typed) {
					seen[c.kind+"/"+c.name] = u.Object
					break
				}
			}
		}
		if time.Now().After(deadline) {
			for _, c := range cases {
				if _, ok := seen[c.kind+"/"+c.name]; !ok {
					for _, name := range strings.Split(c.name, "|") {
						u, _ := e.getBoth(c.kind, name)
						st, _, _ := unstructured.NestedFieldNoCopy(u.Object, "status")
						t.Errorf("%s %s never reached its state; status: %v", c.kind, name, st)
					}
				}
			}
			t.FailNow()
		}
		time.Sleep(100 * time.Millisecond)
	}

	for _, c := range cases {
		t.Run(c.kind+"/"+c.name, func(t *testing.T) {
			script := posts
			if c.kind == account {
				script = accounts
			}
			got, err := runArgoHealthLua(script, seen[c.kind+"/"+c.name])
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != c.want || !strings.Contains(got.Message, c.wantInMessage) {
				t.Errorf("health %q (%s), want %q with %q in the message", got.Status, got.Message, c.want, c.wantInMessage)
			}
		})
	}

	// A post the operator has not reconciled yet (no status) is Progressing, never Healthy.
	if fresh.Status.Phase != "" || len(fresh.Status.Conditions) > 0 {
		t.Fatalf("the post as created already had a status: %+v", fresh.Status)
	}
	if got, err := runArgoHealthLua(posts, toUnstructured(t, fresh)); err != nil || got.Status != "Progressing" {
		t.Errorf("a post without status: health %+v, %v; want Progressing", got, err)
	}
}

// readScript reads a health script of the repository.
func readScript(t *testing.T, rel string) string {
	t.Helper()
	b, err := repoFile(rel)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkArgoCDConfigMap fails when the argocd-cm snippet does not carry the scripts unchanged.
func checkArgoCDConfigMap(t *testing.T, posts, accounts string) {
	t.Helper()
	b, err := repoFile(argoCDConfigMap)
	if err != nil {
		t.Fatal(err)
	}
	var cm corev1.ConfigMap
	if err := yaml.UnmarshalStrict(b, &cm); err != nil {
		t.Fatalf("%s: %v", argoCDConfigMap, err)
	}
	if cm.Kind != "ConfigMap" || cm.Name != "argocd-cm" {
		t.Errorf("%s is a %s named %q, want the ConfigMap argocd-cm", argoCDConfigMap, cm.Kind, cm.Name)
	}
	for key, want := range map[string]string{postHealthKey: posts, accountHealthKey: accounts} {
		if cm.Data[key] != want {
			t.Errorf("%s: key %s differs from the script file: copy the .lua file into it (indented by 4)", argoCDConfigMap, key)
		}
	}
}

// getBoth reads one object of the test's namespace as Argo CD sees it (unstructured, decoded from the API
// server's JSON) and as the operator's type.
func (e *env) getBoth(kind, name string) (*unstructured.Unstructured, client.Object) {
	e.t.Helper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind(kind))
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: e.ns, Name: name}, u); err != nil {
		e.t.Fatal(err)
	}
	var typed client.Object = &v1alpha1.TikTokPost{}
	if kind == "AccountQuota" {
		typed = &v1alpha1.AccountQuota{}
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, typed); err != nil {
		e.t.Fatal(err)
	}
	return u, typed
}

// toUnstructured converts a typed object to the map form Argo CD holds.
func toUnstructured(t *testing.T, o client.Object) map[string]any {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
