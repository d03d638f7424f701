package deploy

import (
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

// TestCredentialsSamples checks the credentials Secret sample's shape: the Secret the AccountQuota sample
// names, with the label the operator requires and the four keys. The External Secrets Operator recipe
// beside it (external-secrets/) is checked by TestExternalSecretMergeKeepsRotatedTokens.
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

	// The folder of samples `kubectl apply -k` applies must not hold the ExternalSecret: no ESO CRD there.
	if len(byKind(samples, "ExternalSecret")) != 0 {
		t.Errorf("config/samples renders an ExternalSecret; it needs ESO's CRDs")
	}
}
