package deploy

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
)

// TestChartSecretWritePolicy applies the chart's ValidatingAdmissionPolicy and binding (on by default) with
// its RBAC to the real API server, and acts as the chart's ServiceAccount (impersonated), which the chart's
// Role lets update Secrets in its watched namespace: an update of an unlabelled Secret is refused with the
// policy's message, of a labelled one allowed, and one that removes or adds the label refused. Another
// identity is not held by the policy.
func TestChartSecretWritePolicy(t *testing.T) {
	const (
		releaseNS = "policy-ops"
		watched   = "policy-team"
	)
	objs := renderChart(t, "policy", releaseNS, "--set", "watchNamespaces={"+watched+"}")
	if off := renderChart(t, "policy", releaseNS, "--set", "secretWritePolicy.enabled=false"); len(byKind(off, "ValidatingAdmissionPolicy"))+
		len(byKind(off, "ValidatingAdmissionPolicyBinding")) != 0 {
		t.Errorf("secretWritePolicy.enabled=false still renders the policy")
	}
	createNamespace(t, releaseNS)
	createNamespace(t, watched)
	prereqs, others := splitPrerequisites(objs)
	applyForReal(t, prereqs)
	var applied []*unstructured.Unstructured
	for _, o := range others {
		switch o.GetKind() {
		case "ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding",
			"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding":
			applied = append(applied, o)
		}
	}
	applyForReal(t, applied)
	t.Cleanup(func() { deleteObjects(t, applied) })

	sa := onlyOne(t, others, "ServiceAccount")
	user := fmt.Sprintf("system:serviceaccount:%s:%s", releaseNS, sa.GetName())
	checkSecretWritePolicy(t, onlyOne(t, applied, "ValidatingAdmissionPolicy"), user, watched)
}

// TestConfigSecretWritePolicy does the same with config/secret-write-policy (applied on its own) for
// config/default's ServiceAccount, which a Role made here lets update Secrets.
func TestConfigSecretWritePolicy(t *testing.T) {
	objs := decodeObjects(t, mustRun(t, nil, kubectlBin(t), "kustomize", filepath.Join("config", "secret-write-policy")))
	for _, o := range objs {
		if o.GetNamespace() != "" {
			t.Errorf("%s: a cluster-scoped object rendered with a namespace", objKey(o))
		}
	}
	applyForReal(t, objs)
	t.Cleanup(func() { deleteObjects(t, objs) })

	// config/default's names: namespace tiktok-operator-system, namePrefix tiktok-operator-.
	const ns = "policy-config-team"
	user := "system:serviceaccount:tiktok-operator-system:tiktok-operator-controller-manager"
	createNamespace(t, ns)
	ctx := context.Background()
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "secret-writer", Namespace: ns},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "update"}}}}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "secret-writer", Namespace: ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "tiktok-operator-controller-manager", Namespace: "tiktok-operator-system"}}}
	for _, o := range []client.Object{role, binding} {
		if err := k8sClient.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	checkSecretWritePolicy(t, onlyOne(t, objs, "ValidatingAdmissionPolicy"), user, ns)
}

// checkSecretWritePolicy acts as user (a ServiceAccount allowed by RBAC to update Secrets in ns) against
// the API server that holds policy and its binding.
func checkSecretWritePolicy(t *testing.T, policy *unstructured.Unstructured, user, ns string) {
	t.Helper()
	msg := fmt.Sprint(lookup(policy.Object, "spec", "validations", "0", "message"))
	if !strings.Contains(msg, v1alpha1.CredentialsLabel) {
		t.Fatalf("the policy's message does not name the label %s: %q", v1alpha1.CredentialsLabel, msg)
	}
	ctx := context.Background()
	labelled := map[string]string{v1alpha1.CredentialsLabel: v1alpha1.CredentialsLabelValue}
	for name, labels := range map[string]map[string]string{"labelled": labelled, "plain": nil, "unlabel-me": labelled,
		"label-me": nil, "wrong-value": {v1alpha1.CredentialsLabel: "yes"}} {
		sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
			Data: map[string][]byte{"k": []byte("v")}}
		if err := k8sClient.Create(ctx, sec); err != nil {
			t.Fatal(err)
		}
	}
	impersonated := rest.CopyConfig(cfg)
	impersonated.Impersonate = rest.ImpersonationConfig{UserName: user,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + strings.Split(user, ":")[2], "system:authenticated"}}
	operator, err := client.New(impersonated, client.Options{Scheme: scheme.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	update := func(c client.Client, name string, change func(*corev1.Secret)) error {
		sec := &corev1.Secret{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, sec); err != nil {
			return err
		}
		sec.Data["k"] = []byte(time.Now().String())
		if change != nil {
			change(sec)
		}
		return c.Update(ctx, sec)
	}
	refused := func(err error) bool { return err != nil && strings.Contains(err.Error(), msg) }

	// The API server enforces a new policy once it has loaded it and its binding: wait for that.
	deadline := time.Now().Add(time.Minute)
	for {
		err := update(operator, "plain", nil)
		if refused(err) {
			if !apierrors.IsForbidden(err) {
				t.Errorf("the refusal is not 403 Forbidden: %v", err)
			}
			break
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "denied") {
			t.Fatalf("updating an unlabelled Secret as %s: %v", user, err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("an update of an unlabelled Secret as %s is still allowed a minute after the policy was applied (last: %v)", user, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := update(operator, "labelled", nil); err != nil {
		t.Errorf("updating a labelled Secret as %s: %v", user, err)
	}
	if err := update(operator, "unlabel-me", func(s *corev1.Secret) { delete(s.Labels, v1alpha1.CredentialsLabel) }); !refused(err) {
		t.Errorf("an update removing the label: %v, want refused with %q", err, msg)
	}
	if err := update(operator, "label-me", func(s *corev1.Secret) { s.Labels = labelled }); !refused(err) {
		t.Errorf("an update adding the label to an unlabelled Secret: %v, want refused with %q", err, msg)
	}
	if err := update(operator, "wrong-value", nil); !refused(err) {
		t.Errorf("an update of a Secret labelled %s=yes: %v, want refused", v1alpha1.CredentialsLabel, err)
	}
	if err := update(k8sClient, "plain", nil); err != nil {
		t.Errorf("another identity updating an unlabelled Secret: %v (the policy binds the operator only)", err)
	}
}

// deleteObjects deletes applied objects (best effort: a namespace's are deleted with it anyway).
func deleteObjects(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	if _, err := runTool(t, encodeObjects(t, objs), kubectlBin(t), "delete", "--ignore-not-found", "--wait=false", "-f", "-"); err != nil {
		t.Error(err)
	}
}
