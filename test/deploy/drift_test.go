package deploy

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestChartRBACMatchesConfig compares the chart's roles with config/rbac, rule by rule: role.yaml is
// generated from the controllers' +kubebuilder:rbac markers, so a new marker that the chart does not follow
// (or a right the chart grants that the operator does not use) fails here.
func TestChartRBACMatchesConfig(t *testing.T) {
	chart := decodeObjects(t, mustRun(t, nil, helmBin(t), "template", "tiktok", chartDir, "--namespace", "ops"))
	cases := []struct {
		configFile string // under config/rbac
		configName string // the object's name there
		chartName  string // the chart's object, release "tiktok"
	}{
		{"role.yaml", "manager-role", "tiktok-tiktok-operator-manager"},
		{"leader_election_role.yaml", "leader-election-role", "tiktok-tiktok-operator-leader-election"},
		{"metrics_auth_role.yaml", "metrics-auth-role", "tiktok-tiktok-operator-metrics-auth"},
		{"metrics_auth_role.yaml", "metrics-reader", "tiktok-tiktok-operator-metrics-reader"},
		{"editor_role.yaml", "tiktok-editor-role", "tiktok-tiktok-operator-editor"},
		{"viewer_role.yaml", "tiktok-viewer-role", "tiktok-tiktok-operator-viewer"},
	}
	for _, tc := range cases {
		t.Run(tc.configName, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(repoRoot, "config", "rbac", tc.configFile))
			if err != nil {
				t.Fatal(err)
			}
			want := rulesOf(t, findNamed(t, decodeObjects(t, data), tc.configName))
			got := rulesOf(t, findNamed(t, chart, tc.chartName))
			for _, r := range want {
				if !slices.Contains(got, r) {
					t.Errorf("config/rbac/%s grants %s; the chart's %s does not", tc.configFile, r, tc.chartName)
				}
			}
			for _, r := range got {
				if !slices.Contains(want, r) {
					t.Errorf("the chart's %s grants %s; config/rbac/%s does not", tc.chartName, r, tc.configFile)
				}
			}
		})
	}
}

// findNamed returns the object with a name, failing the test when there is none.
func findNamed(t *testing.T, objs []*unstructured.Unstructured, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetName() == name {
			return o
		}
	}
	t.Fatalf("no object named %s among %v", name, objKeys(objs))
	return nil
}

// rulesOf flattens a Role's or ClusterRole's rules into single grants ("group resource verb" or
// "nonResourceURL verb"), sorted, so two roles compare however their rules are grouped and ordered.
func rulesOf(t *testing.T, role *unstructured.Unstructured) []string {
	t.Helper()
	rules, _, err := unstructured.NestedSlice(role.Object, "rules")
	if err != nil || len(rules) == 0 {
		t.Fatalf("%s has no rules (%v)", objKey(role), err)
	}
	var grants []string
	for _, r := range rules {
		rule, _ := r.(map[string]any)
		verbs := strs(rule["verbs"])
		for _, url := range strs(rule["nonResourceURLs"]) {
			for _, v := range verbs {
				grants = append(grants, fmt.Sprintf("url=%s verb=%s", url, v))
			}
		}
		for _, g := range strs(rule["apiGroups"]) {
			for _, res := range strs(rule["resources"]) {
				for _, v := range verbs {
					grants = append(grants, fmt.Sprintf("group=%q resource=%s verb=%s", g, res, v))
				}
			}
		}
	}
	sort.Strings(grants)
	return slices.Compact(grants)
}

// strs converts a decoded YAML list to strings.
func strs(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

// TestChartManagerMatchesConfig checks that the chart's Deployment runs the manager as
// config/manager/manager.yaml does: the same hardening (non-root, seccomp, read-only root filesystem, no
// privilege escalation, no capabilities), the same resources and probes.
func TestChartManagerMatchesConfig(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "config", "manager", "manager.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := onlyOne(t, decodeObjects(t, data), "Deployment").Object
	got := onlyOne(t, decodeObjects(t, mustRun(t, nil, helmBin(t), "template", "tiktok", chartDir)), "Deployment").Object
	pod := []string{"spec", "template", "spec"}
	manager := append(slices.Clone(pod), "containers", "0")
	for _, path := range [][]string{
		append(slices.Clone(pod), "securityContext"),
		append(slices.Clone(manager), "securityContext"),
		append(slices.Clone(manager), "resources"),
		append(slices.Clone(manager), "command"),
		append(slices.Clone(pod), "volumes"),
		append(slices.Clone(manager), "volumeMounts"),
		append(slices.Clone(manager), "livenessProbe", "httpGet", "path"),
		append(slices.Clone(manager), "readinessProbe", "httpGet", "path"),
		append(slices.Clone(manager), "livenessProbe", "periodSeconds"),
		append(slices.Clone(manager), "readinessProbe", "periodSeconds"),
	} {
		w, g := lookup(want, path...), lookup(got, path...)
		if w == nil {
			t.Errorf("config/manager/manager.yaml has no %s", strings.Join(path, "."))
			continue
		}
		if fmt.Sprint(w) != fmt.Sprint(g) {
			t.Errorf("%s: the chart has %v, config/manager/manager.yaml has %v", strings.Join(path, "."), g, w)
		}
	}
}

// TestChartCRDsMatchBases checks that the chart's crds/ holds exactly the CRDs controller-gen generates
// into config/crd/bases (`make manifests` copies them).
func TestChartCRDsMatchBases(t *testing.T) {
	bases, err := filepath.Glob(filepath.Join(repoRoot, "config", "crd", "bases", "*.yaml"))
	if err != nil || len(bases) == 0 {
		t.Fatalf("no CRD in config/crd/bases (%v)", err)
	}
	copies, err := filepath.Glob(filepath.Join(repoRoot, chartDir, "crds", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(copies) != len(bases) {
		t.Errorf("the chart holds %d CRDs, config/crd/bases %d: run `make manifests`", len(copies), len(bases))
	}
	for _, base := range bases {
		want, err := os.ReadFile(base)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(repoRoot, chartDir, "crds", filepath.Base(base)))
		if err != nil {
			t.Errorf("the chart lacks %s: run `make manifests` (%v)", filepath.Base(base), err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("the chart's crds/%s differs from config/crd/bases: run `make manifests`", filepath.Base(base))
		}
	}
}

// TestNamespacedRBAC: with the chart's watchNamespaces, or config/watch-namespace, the manager's rights are
// a Role in each watched namespace, rule for rule config/rbac/role.yaml (generated from the markers), bound
// by a RoleBinding there; no ClusterRole grants anything on Secrets, and no Role outside the watched
// namespaces does. Cluster-wide Secret rights would let the operator read every Secret it is not meant to
// see, whatever the label filter of its cache.
func TestNamespacedRBAC(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := rulesOf(t, findNamed(t, decodeObjects(t, data), "manager-role"))
	cases := []struct {
		name     string
		objs     []*unstructured.Unstructured
		roleName string
		watched  []string
		arg      string // the manager's --namespaces
	}{{
		name: "chart with watchNamespaces",
		objs: decodeObjects(t, mustRun(t, nil, helmBin(t), "template", "tiktok", chartDir, "--namespace", "ops",
			"--set", "watchNamespaces={team-a,team-b}")),
		roleName: "tiktok-tiktok-operator-manager", watched: []string{"team-a", "team-b"}, arg: "--namespaces=team-a,team-b",
	}, {
		name:     "config/watch-namespace",
		objs:     decodeObjects(t, mustRun(t, nil, kubectlBin(t), "kustomize", filepath.Join("config", "watch-namespace"))),
		roleName: "tiktok-operator-manager-role", watched: []string{"tiktok-posts"}, arg: "--namespaces=tiktok-posts",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, ns := range tc.watched {
				var role *unstructured.Unstructured
				for _, o := range byKind(tc.objs, "Role") {
					if o.GetNamespace() == ns && o.GetName() == tc.roleName {
						role = o
					}
				}
				if role == nil {
					t.Errorf("no Role %s in watched namespace %s (objects: %v)", tc.roleName, ns, objKeys(tc.objs))
					continue
				}
				if got := rulesOf(t, role); !slices.Equal(got, want) {
					t.Errorf("Role %s/%s grants %v, config/rbac/role.yaml %v", ns, tc.roleName, got, want)
				}
				bound := false
				for _, b := range byKind(tc.objs, "RoleBinding") {
					bound = bound || (b.GetNamespace() == ns && lookup(b.Object, "roleRef", "kind") == "Role" &&
						lookup(b.Object, "roleRef", "name") == tc.roleName)
				}
				if !bound {
					t.Errorf("no RoleBinding in %s binds Role %s", ns, tc.roleName)
				}
			}
			for _, kind := range []string{"ClusterRole", "Role"} {
				for _, o := range byKind(tc.objs, kind) {
					if kind == "Role" && slices.Contains(tc.watched, o.GetNamespace()) {
						continue
					}
					for _, g := range rulesOf(t, o) {
						if strings.Contains(g, "resource=secrets ") {
							t.Errorf("%s grants %s outside the watched namespaces", objKey(o), g)
						}
					}
				}
			}
			if args := managerArgs(t, onlyOne(t, tc.objs, "Deployment")); !slices.Contains(args, tc.arg) {
				t.Errorf("the manager's args lack %s: %q", tc.arg, args)
			}
		})
	}
}
