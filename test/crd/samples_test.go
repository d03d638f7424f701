package crd

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Every document in config/samples is created cleanly, and there is at least one of each kind.
func TestSamplesApply(t *testing.T) {
	ns := newNamespace(t)
	files, err := filepath.Glob(filepath.Join(repoRoot, "config", "samples", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			u := &unstructured.Unstructured{}
			if err := dec.Decode(&u.Object); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				t.Fatalf("%s: %v", f, err)
			}
			if len(u.Object) == 0 {
				continue
			}
			u.SetNamespace(ns)
			if err := k8sClient.Create(ctx(t), u, client.FieldValidation("Strict")); err != nil {
				t.Errorf("%s: %s %s refused: %v", filepath.Base(f), u.GetKind(), u.GetName(), err)
				continue
			}
			if !strings.HasPrefix(u.GetAPIVersion(), "publish.tiktok-operator.dev/") {
				continue
			}
			kinds[u.GetKind()]++
		}
	}
	for _, k := range []string{"AccountQuota", "TikTokPost"} {
		if kinds[k] == 0 {
			t.Errorf("config/samples has no %s", k)
		}
	}
	// The kustomization lists every sample.
	out, stderr, err := kubectl(t, "", "kustomize", filepath.Join(repoRoot, "config", "samples"))
	if err != nil {
		t.Fatalf("kubectl kustomize config/samples: %v\n%s", err, stderr)
	}
	for k, n := range kinds {
		if got := strings.Count(out, "kind: "+k+"\n"); got != n {
			t.Errorf("config/samples/kustomization.yaml renders %d %s, the folder has %d", got, k, n)
		}
	}
}
