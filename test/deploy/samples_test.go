package deploy

import (
	"os"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestSamplesDryRun checks that config/samples, the examples users copy first, pass the CRDs' validation
// (OpenAPI and CEL rules) on the API server.
func TestSamplesDryRun(t *testing.T) {
	kubectl := kubectlBin(t)
	applyForReal(t, decodeObjects(t, mustRun(t, nil, kubectl, "kustomize", filepath.Join("config", "crd"))))
	samples := decodeObjects(t, mustRun(t, nil, kubectl, "kustomize", filepath.Join("config", "samples")))
	want := map[string]int{"AccountQuota": 1, "TikTokPost": 1, "Secret": 1}
	for kind, n := range want {
		if got := len(byKind(samples, kind)); got != n {
			t.Errorf("config/samples renders %d %s, want %d", got, kind, n)
		}
	}
	const ns = "tiktok-samples"
	createNamespace(t, ns)
	for _, o := range samples {
		o.SetNamespace(ns)
	}
	dryRunAll(t, samples)
}

// TestCredentialsSamples checks the credentials samples' shape: the Secret in config/samples and the
// External Secrets Operator ExternalSecret beside it (no ESO CRD here, so it is read as YAML, not applied)
// both make the Secret the AccountQuota sample names, with the label the operator requires and the four
// keys; the ExternalSecret is created once and never refreshed, so it does not undo the operator's token
// rotation.
func TestCredentialsSamples(t *testing.T) {
	const label = "publish.tiktok-operator.dev/credentials"
	keys := []string{"client_key", "client_secret", "access_token", "refresh_token"}
	samples := decodeObjects(t, mustRun(t, nil, kubectlBin(t), "kustomize", filepath.Join("config", "samples")))
	aq := onlyOne(t, samples, "AccountQuota")
	secretName, _, _ := unstructured.NestedString(aq.Object, "spec", "credentialsSecretRef", "name")

	sec := onlyOne(t, samples, "Secret")
	if sec.GetName() != secretName {
		t.Errorf("the Secret sample is %q, the AccountQuota sample names %q", sec.GetName(), secretName)
	}
	if sec.GetLabels()[label] != "true" {
		t.Errorf("the Secret sample lacks the label %s: \"true\"", label)
	}
	data, _, _ := unstructured.NestedStringMap(sec.Object, "stringData")
	for _, k := range keys {
		if data[k] == "" {
			t.Errorf("the Secret sample lacks the key %s", k)
		}
	}
	if len(data) != len(keys) {
		t.Errorf("the Secret sample has keys %v, want %v", data, keys)
	}

	raw, err := os.ReadFile(filepath.Join(repoRoot, "config", "samples", "external-secrets", "credentials_externalsecret.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	es := onlyOne(t, decodeObjects(t, raw), "ExternalSecret")
	if v := es.GetAPIVersion(); v != "external-secrets.io/v1" && v != "external-secrets.io/v1beta1" {
		t.Errorf("ExternalSecret apiVersion %q, want external-secrets.io/v1 or v1beta1", v)
	}
	if p, _, _ := unstructured.NestedString(es.Object, "spec", "refreshPolicy"); p != "CreatedOnce" {
		t.Errorf("ExternalSecret refreshPolicy %q, want CreatedOnce (a refresh would undo the token rotation)", p)
	}
	if n, _, _ := unstructured.NestedString(es.Object, "spec", "target", "name"); n != secretName {
		t.Errorf("ExternalSecret target.name %q, the AccountQuota sample names %q", n, secretName)
	}
	if l, _, _ := unstructured.NestedString(es.Object, "spec", "target", "template", "metadata", "labels", label); l != "true" {
		t.Errorf("ExternalSecret target.template.metadata.labels lacks %s: \"true\"", label)
	}
	entries, _, _ := unstructured.NestedSlice(es.Object, "spec", "data")
	got := map[string]bool{}
	for _, e := range entries {
		m, _ := e.(map[string]any)
		k, _ := m["secretKey"].(string)
		got[k] = true
		if ref, _ := m["remoteRef"].(map[string]any); ref["key"] == nil {
			t.Errorf("ExternalSecret data %s has no remoteRef.key", k)
		}
	}
	for _, k := range keys {
		if !got[k] {
			t.Errorf("ExternalSecret data lacks the key %s", k)
		}
	}
	// The folder of samples `kubectl apply -k` applies must not hold it: there is no ESO CRD there.
	if len(byKind(samples, "ExternalSecret")) != 0 {
		t.Errorf("config/samples renders an ExternalSecret; it needs ESO's CRDs")
	}
}
