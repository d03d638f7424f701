package deploy

import (
	"path/filepath"
	"testing"
)

// TestKustomizeDefaultDryRun renders config/default with the machine's kubectl kustomize and sends the
// result to the API server: the CRDs and the Namespace for real (the rest needs them), every other object
// with a server-side dry-run that must accept it.
func TestKustomizeDefaultDryRun(t *testing.T) {
	objs := decodeObjects(t, mustRun(t, nil, kubectlBin(t), "kustomize", filepath.Join("config", "default")))

	// What a kubebuilder user expects from config/default, by kind.
	want := map[string]int{
		"CustomResourceDefinition": 2, "Namespace": 1, "ServiceAccount": 1, "Deployment": 1, "Service": 1,
		"Role": 1, "RoleBinding": 1, "ClusterRoleBinding": 2,
	}
	for kind, n := range want {
		if got := len(byKind(objs, kind)); got != n {
			t.Errorf("config/default renders %d %s, want %d (objects: %v)", got, kind, n, objKeys(objs))
		}
	}
	for _, o := range objs {
		if o.GetLabels()["app.kubernetes.io/part-of"] != "tiktok-operator" {
			t.Errorf("%s lacks the label app.kubernetes.io/part-of=tiktok-operator", objKey(o))
		}
	}

	prereqs, rest := splitPrerequisites(objs)
	applyForReal(t, prereqs)
	for _, ns := range byKind(prereqs, "Namespace") {
		t.Cleanup(func() { deleteNamespace(t, ns.GetName()) })
	}
	dryRunAll(t, rest)
}

// TestKustomizePrometheusComponentDryRun adds the optional config/prometheus component to config/default
// (as its kustomization.yaml tells users to) and dry-runs the ServiceMonitor it adds against a
// ServiceMonitor CRD (see testdata/servicemonitor-crd.yaml: a stand-in for the Prometheus Operator's).
func TestKustomizePrometheusComponentDryRun(t *testing.T) {
	dir := overlayWithPrometheus(t)
	objs := decodeObjects(t, mustRun(t, nil, kubectlBin(t), "kustomize", dir))
	monitor := onlyOne(t, objs, "ServiceMonitor")
	if monitor.GetNamespace() != "tiktok-operator-system" {
		t.Errorf("the ServiceMonitor is in namespace %q, want tiktok-operator-system", monitor.GetNamespace())
	}
	svc := onlyOne(t, objs, "Service")
	assertMonitorSelectsService(t, monitor, svc)

	applyForReal(t, serviceMonitorCRD(t))
	prereqs, _ := splitPrerequisites(objs)
	applyForReal(t, prereqs)
	for _, ns := range byKind(prereqs, "Namespace") {
		t.Cleanup(func() { deleteNamespace(t, ns.GetName()) })
	}
	dryRunAll(t, byKind(objs, "ServiceMonitor"))
}

// TestKustomizeWatchNamespaceDryRun renders config/watch-namespace (config/default with the manager's rights
// in one namespace) and dry-runs it; TestNamespacedRBAC checks its rules.
func TestKustomizeWatchNamespaceDryRun(t *testing.T) {
	objs := decodeObjects(t, mustRun(t, nil, kubectlBin(t), "kustomize", filepath.Join("config", "watch-namespace")))
	want := map[string]int{"ClusterRole": 4, "ClusterRoleBinding": 1, "Role": 2, "RoleBinding": 2}
	for kind, n := range want {
		if got := len(byKind(objs, kind)); got != n {
			t.Errorf("config/watch-namespace renders %d %s, want %d (objects: %v)", got, kind, n, objKeys(objs))
		}
	}
	prereqs, rest := splitPrerequisites(objs)
	applyForReal(t, prereqs)
	for _, ns := range byKind(prereqs, "Namespace") {
		t.Cleanup(func() { deleteNamespace(t, ns.GetName()) })
	}
	createNamespace(t, "tiktok-posts")
	dryRunAll(t, rest)
}
