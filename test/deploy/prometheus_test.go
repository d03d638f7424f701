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

// TestChartServiceMonitor checks the chart's ServiceMonitor beyond the dry-run: labels honoured, the token
// sent as an `authorization` from a Secret (never the deprecated bearerTokenFile), and TLS verified against
// a CA when one is given, skipped only when asked.
func TestChartServiceMonitor(t *testing.T) {
	render := func(t *testing.T, flags ...string) []*unstructured.Unstructured {
		t.Helper()
		return renderChart(t, "tiktok", "ops", append([]string{"--set", "metrics.serviceMonitor.enabled=true"}, flags...)...)
	}
	endpoint := func(t *testing.T, objs []*unstructured.Unstructured) map[string]any {
		t.Helper()
		endpoints, _, _ := unstructured.NestedSlice(onlyOne(t, objs, "ServiceMonitor").Object, "spec", "endpoints")
		if len(endpoints) != 1 {
			t.Fatalf("the ServiceMonitor has %d endpoints, want 1", len(endpoints))
		}
		e, _ := endpoints[0].(map[string]any)
		if _, ok := e["bearerTokenFile"]; ok {
			t.Errorf("the endpoint uses the deprecated bearerTokenFile: %v", e)
		}
		if _, ok := e["bearerTokenSecret"]; ok {
			t.Errorf("the endpoint uses the deprecated bearerTokenSecret: %v", e)
		}
		return e
	}
	serverName := "tiktok-tiktok-operator-metrics.ops.svc"

	t.Run("defaults: honorLabels, the scraper's token, the self-signed certificate", func(t *testing.T) {
		objs := render(t)
		e := endpoint(t, objs)
		if e["honorLabels"] != true {
			t.Errorf("honorLabels = %v, want true (else namespace becomes exported_namespace)", e["honorLabels"])
		}
		if lookup(e, "authorization", "type") != "Bearer" {
			t.Errorf("authorization.type = %v, want Bearer", lookup(e, "authorization", "type"))
		}
		secret := onlyOne(t, objs, "Secret")
		if lookup(e, "authorization", "credentials", "name") != secret.GetName() || lookup(e, "authorization", "credentials", "key") != "token" {
			t.Errorf("authorization.credentials = %v, want %s/token", lookup(e, "authorization", "credentials"), secret.GetName())
		}
		wantString(t, secret, "kubernetes.io/service-account-token", "type")
		sa := secret.GetAnnotations()["kubernetes.io/service-account.name"]
		bound := false
		for _, b := range byKind(objs, "ClusterRoleBinding") {
			if lookup(b.Object, "roleRef", "name") == "tiktok-tiktok-operator-metrics-reader" &&
				lookup(b.Object, "subjects", "0", "name") == sa && lookup(b.Object, "subjects", "0", "namespace") == "ops" {
				bound = true
			}
		}
		if !bound {
			t.Errorf("no ClusterRoleBinding gives ServiceAccount ops/%s the metrics-reader ClusterRole", sa)
		}
		if lookup(e, "tlsConfig", "insecureSkipVerify") != true {
			t.Errorf("tlsConfig = %v, want insecureSkipVerify (the documented default)", e["tlsConfig"])
		}
	})
	t.Run("CA-verified TLS from a ConfigMap", func(t *testing.T) {
		e := endpoint(t, render(t, "--set", "metrics.serviceMonitor.tls.ca.configMap.name=metrics-ca"))
		if lookup(e, "tlsConfig", "insecureSkipVerify") != nil {
			t.Errorf("tlsConfig = %v: skips verification although a CA is given", e["tlsConfig"])
		}
		if lookup(e, "tlsConfig", "ca", "configMap", "name") != "metrics-ca" || lookup(e, "tlsConfig", "ca", "configMap", "key") != "ca.crt" {
			t.Errorf("tlsConfig.ca = %v, want configMap metrics-ca/ca.crt", lookup(e, "tlsConfig", "ca"))
		}
		if lookup(e, "tlsConfig", "serverName") != serverName {
			t.Errorf("tlsConfig.serverName = %v, want the Service's name %s", lookup(e, "tlsConfig", "serverName"), serverName)
		}
	})
	t.Run("CA from a Secret, own server name, own token Secret", func(t *testing.T) {
		objs := render(t, "--set", "metrics.serviceMonitor.tls.ca.secret.name=metrics-tls",
			"--set", "metrics.serviceMonitor.tls.serverName=metrics.example.com",
			"--set", "metrics.serviceMonitor.authorization.createTokenSecret=false",
			"--set", "metrics.serviceMonitor.authorization.secretName=prom-token")
		e := endpoint(t, objs)
		if lookup(e, "tlsConfig", "ca", "secret", "name") != "metrics-tls" || lookup(e, "tlsConfig", "serverName") != "metrics.example.com" {
			t.Errorf("tlsConfig = %v, want ca from Secret metrics-tls and serverName metrics.example.com", e["tlsConfig"])
		}
		if lookup(e, "authorization", "credentials", "name") != "prom-token" {
			t.Errorf("authorization = %v, want credentials from prom-token", e["authorization"])
		}
		if n := len(byKind(objs, "Secret")); n != 0 {
			t.Errorf("the chart renders %d Secrets, want none when the token Secret is the user's", n)
		}
	})
	t.Run("no skipped verification unless asked", func(t *testing.T) {
		e := endpoint(t, render(t, "--set", "metrics.serviceMonitor.tls.insecureSkipVerify=false"))
		if lookup(e, "tlsConfig", "insecureSkipVerify") != nil || lookup(e, "tlsConfig", "serverName") != serverName {
			t.Errorf("tlsConfig = %v, want only serverName %s", e["tlsConfig"], serverName)
		}
	})
	t.Run("honorLabels off", func(t *testing.T) {
		if e := endpoint(t, render(t, "--set", "metrics.serviceMonitor.honorLabels=false")); e["honorLabels"] != false {
			t.Errorf("honorLabels = %v, want false", e["honorLabels"])
		}
	})
}
