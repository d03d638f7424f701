package deploy

import (
	"path/filepath"
	"testing"
)

// TestSamplesDryRun checks that config/samples, the examples users copy first, pass the CRDs' validation
// (OpenAPI and CEL rules) on the API server.
func TestSamplesDryRun(t *testing.T) {
	kubectl := kubectlBin(t)
	applyForReal(t, decodeObjects(t, mustRun(t, nil, kubectl, "kustomize", filepath.Join("config", "crd"))))
	samples := decodeObjects(t, mustRun(t, nil, kubectl, "kustomize", filepath.Join("config", "samples")))
	want := map[string]int{"AccountQuota": 1, "TikTokPost": 1}
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
