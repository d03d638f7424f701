package deploy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// componentsComment is how config/default/kustomization.yaml offers the optional Prometheus component;
// overlayWithPrometheus follows that instruction, so a change to it must change the test too.
const componentsComment = "#components:\n#- ../prometheus\n"

// overlayWithPrometheus copies config/ to a temporary folder and uncomments the components lines of
// config/default/kustomization.yaml there, as a user enabling the ServiceMonitor would; it returns the
// copy's config/default.
func overlayWithPrometheus(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "config")
	if err := os.CopyFS(dst, os.DirFS(filepath.Join(repoRoot, "config"))); err != nil {
		t.Fatalf("copying config/: %v", err)
	}
	path := filepath.Join(dst, "default", "kustomization.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), componentsComment) {
		t.Fatalf("config/default/kustomization.yaml no longer offers the prometheus component as %q", componentsComment)
	}
	enabled := strings.Replace(string(data), componentsComment, "components:\n- ../prometheus\n", 1)
	if err := os.WriteFile(path, []byte(enabled), 0o600); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dst, "default")
}

// serviceMonitorCRD reads the ServiceMonitor CRD stand-in from testdata.
func serviceMonitorCRD(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "servicemonitor-crd.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return decodeObjects(t, data)
}

// assertMonitorSelectsService checks that a ServiceMonitor would scrape the metrics Service: its selector
// matches the Service's labels and its endpoint names one of the Service's ports.
func assertMonitorSelectsService(t *testing.T, monitor, svc *unstructured.Unstructured) {
	t.Helper()
	selector, _, _ := unstructured.NestedStringMap(monitor.Object, "spec", "selector", "matchLabels")
	if len(selector) == 0 {
		t.Fatalf("%s has no selector.matchLabels", objKey(monitor))
	}
	labels := svc.GetLabels()
	for k, v := range selector {
		if labels[k] != v {
			t.Errorf("%s selects %s=%s, which %s does not carry (labels: %v)", objKey(monitor), k, v, objKey(svc), labels)
		}
	}
	endpoints, _, _ := unstructured.NestedSlice(monitor.Object, "spec", "endpoints")
	ports, _, _ := unstructured.NestedSlice(svc.Object, "spec", "ports")
	if len(endpoints) == 0 {
		t.Fatalf("%s has no endpoints", objKey(monitor))
	}
	for _, e := range endpoints {
		port, _ := e.(map[string]any)["port"].(string)
		found := false
		for _, p := range ports {
			if name, _ := p.(map[string]any)["name"].(string); name == port {
				found = true
			}
		}
		if !found {
			t.Errorf("%s scrapes port %q, which %s does not name", objKey(monitor), port, objKey(svc))
		}
	}
}
