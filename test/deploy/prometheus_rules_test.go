/*
Copyright 2026 The tiktok-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package deploy

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// The operator's alerts live in two copies that must stay identical: the chart's file (the PrometheusRule
// template reads it) and config/prometheus's PrometheusRule for kustomize. promtool's unit tests of them
// are in testdata.
var (
	chartRulesFile  = filepath.Join("charts", "tiktok-operator", "files", "prometheus-rules.yaml")
	configRulesFile = filepath.Join("config", "prometheus", "rules.yaml")
	promtoolTests   = filepath.Join("testdata", "prometheus-rules-test.yaml")
)

// promtoolBin is the pinned promtool the Makefile builds from the Go module proxy (bin/promtool-v0.316.0),
// passed as PROMTOOL by `make test`. A missing promtool fails the test, never skips it.
func promtoolBin(t *testing.T) string {
	t.Helper()
	path := os.Getenv("PROMTOOL")
	if path == "" {
		t.Fatal("PROMTOOL is not set: run `make promtool` (make test builds it and passes its path as PROMTOOL)")
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("promtool is missing at PROMTOOL=%s: run `make promtool`", path)
	}
	return path
}

// ruleGroups reads a YAML document's rule groups at path (["groups"] of a rule file, ["spec", "groups"]
// of a PrometheusRule).
func ruleGroups(t *testing.T, doc map[string]any, path ...string) []any {
	t.Helper()
	groups, ok, err := unstructured.NestedSlice(doc, path...)
	if err != nil || !ok || len(groups) == 0 {
		t.Fatalf("no rule groups at %v (err %v)", path, err)
	}
	return groups
}

func readYAML(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, path))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s does not parse: %v", path, err)
	}
	return doc
}

// alertNames lists the alerts of rule groups.
func alertNames(groups []any) []string {
	var out []string
	for _, g := range groups {
		rules, _, _ := unstructured.NestedSlice(g.(map[string]any), "rules")
		for _, r := range rules {
			if name, ok := r.(map[string]any)["alert"].(string); ok {
				out = append(out, name)
			}
		}
	}
	sort.Strings(out)
	return out
}

// TestPrometheusRulesCopiesMatch: config/prometheus/rules.yaml carries exactly the chart's rule groups.
func TestPrometheusRulesCopiesMatch(t *testing.T) {
	chart := ruleGroups(t, readYAML(t, chartRulesFile), "groups")
	config := readYAML(t, configRulesFile)
	if config["kind"] != "PrometheusRule" {
		t.Errorf("%s is a %v, want a PrometheusRule", configRulesFile, config["kind"])
	}
	if !reflect.DeepEqual(chart, ruleGroups(t, config, "spec", "groups")) {
		t.Errorf("the rule groups of %s and %s differ: copy the chart's groups under spec.groups", chartRulesFile, configRulesFile)
	}
}

// TestPrometheusRulesPromtool runs `promtool check rules` and `promtool test rules` on the rules as users
// get them: the chart's rendered PrometheusRule and the one config/prometheus adds to config/default. Every
// alert must have a unit test that expects it to fire.
func TestPrometheusRulesPromtool(t *testing.T) {
	promtool := promtoolBin(t)
	testsDoc := readYAML(t, filepath.Join("test", "deploy", promtoolTests))
	tested := map[string]bool{}
	tests, _, _ := unstructured.NestedSlice(testsDoc, "tests")
	for _, tc := range tests {
		cases, _, _ := unstructured.NestedSlice(tc.(map[string]any), "alert_rule_test")
		for _, c := range cases {
			if exp, _ := c.(map[string]any)["exp_alerts"].([]any); len(exp) > 0 {
				tested[c.(map[string]any)["alertname"].(string)] = true
			}
		}
	}

	for name, rendered := range map[string]func(t *testing.T) *unstructured.Unstructured{
		"chart": func(t *testing.T) *unstructured.Unstructured {
			return onlyOne(t, renderChart(t, "tiktok", "ops", "--set", "prometheusRule.enabled=true"), "PrometheusRule")
		},
		"config/prometheus": func(t *testing.T) *unstructured.Unstructured {
			return onlyOne(t, decodeObjects(t, mustRun(t, nil, kubectlBin(t), "kustomize", overlayWithPrometheus(t))), "PrometheusRule")
		},
	} {
		t.Run(name, func(t *testing.T) {
			rule := rendered(t)
			groups := ruleGroups(t, rule.Object, "spec", "groups")
			alerts := alertNames(groups)
			if len(alerts) < 10 {
				t.Errorf("%d alerts rendered, want the 11 of %s: %v", len(alerts), chartRulesFile, alerts)
			}
			for _, a := range alerts {
				if !tested[a] {
					t.Errorf("alert %s has no promtool test expecting it to fire in %s", a, promtoolTests)
				}
			}
			dir := t.TempDir()
			data, err := yaml.Marshal(map[string]any{"groups": groups})
			if err != nil {
				t.Fatal(err)
			}
			testFile, err := os.ReadFile(promtoolTests)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), data, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "rules-test.yaml"), testFile, 0o600); err != nil {
				t.Fatal(err)
			}
			mustRun(t, nil, promtool, "check", "rules", filepath.Join(dir, "rules.yaml"))
			mustRun(t, nil, promtool, "test", "rules", filepath.Join(dir, "rules-test.yaml"))
		})
	}
}

// prometheusRuleCRD reads the PrometheusRule CRD stand-in from testdata.
func prometheusRuleCRD(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "prometheusrule-crd.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return decodeObjects(t, data)
}

// TestChartPrometheusRule: the PrometheusRule is off by default; on, it carries its labels for the
// Prometheus's ruleSelector, lands in the chosen namespace, adds additionalRuleLabels to every alert,
// leaves out disabledAlerts, and the API server accepts it (against the CRD stand-in, strict validation).
func TestChartPrometheusRule(t *testing.T) {
	if n := len(byKind(renderChart(t, "tiktok", "ops"), "PrometheusRule")); n != 0 {
		t.Errorf("the defaults render %d PrometheusRules, want none (the CRD may be missing)", n)
	}
	all := alertNames(ruleGroups(t, readYAML(t, chartRulesFile), "groups"))
	objs := renderChart(t, "tiktok", "ops", "--set", "prometheusRule.enabled=true",
		"--set", "prometheusRule.namespace=monitoring", "--set", "prometheusRule.labels.release=kube-prometheus-stack",
		"--set", "prometheusRule.additionalRuleLabels.team=growth",
		"--set", "prometheusRule.additionalRuleLabels.severity=page",
		"--set", "prometheusRule.disabledAlerts={TikTokQuotaAdapting,TikTokDailyQuotaSaturated}")
	rule := onlyOne(t, objs, "PrometheusRule")
	if rule.GetNamespace() != "monitoring" || rule.GetLabels()["release"] != "kube-prometheus-stack" {
		t.Errorf("PrometheusRule %s labels %v, want namespace monitoring and release=kube-prometheus-stack", objKey(rule), rule.GetLabels())
	}
	groups := ruleGroups(t, rule.Object, "spec", "groups")
	got := alertNames(groups)
	want := slices.DeleteFunc(slices.Clone(all), func(a string) bool {
		return a == "TikTokQuotaAdapting" || a == "TikTokDailyQuotaSaturated"
	})
	if !slices.Equal(got, want) {
		t.Errorf("alerts %v, want %v (all but the disabled two)", got, want)
	}
	for _, g := range groups {
		rules, _, _ := unstructured.NestedSlice(g.(map[string]any), "rules")
		for _, r := range rules {
			labels, _, _ := unstructured.NestedStringMap(r.(map[string]any), "labels")
			if labels["team"] != "growth" || labels["severity"] != "page" {
				t.Errorf("alert %v has labels %v, want team=growth and severity=page (additionalRuleLabels win)", r.(map[string]any)["alert"], labels)
			}
			if r.(map[string]any)["expr"] == "" {
				t.Errorf("alert %v has no expr", r.(map[string]any)["alert"])
			}
		}
	}

	applyForReal(t, prometheusRuleCRD(t))
	createNamespace(t, "monitoring")
	dryRunAll(t, []*unstructured.Unstructured{rule})
}

// TestKustomizePrometheusRuleAndScraperDryRun: the config/prometheus component's PrometheusRule, and the
// ServiceMonitor's scraper identity (ServiceAccount, token Secret, metrics-reader binding) it adds, are
// accepted by the API server; the ServiceMonitor reads the token through `authorization`, not the
// deprecated bearerTokenFile, from the Secret kustomize renamed, which belongs to the renamed ServiceAccount.
func TestKustomizePrometheusRuleAndScraperDryRun(t *testing.T) {
	objs := decodeObjects(t, mustRun(t, nil, kubectlBin(t), "kustomize", overlayWithPrometheus(t)))
	monitor := onlyOne(t, objs, "ServiceMonitor")
	endpoints, _, _ := unstructured.NestedSlice(monitor.Object, "spec", "endpoints")
	if len(endpoints) != 1 {
		t.Fatalf("the ServiceMonitor has %d endpoints, want 1", len(endpoints))
	}
	e := endpoints[0].(map[string]any)
	if _, ok := e["bearerTokenFile"]; ok {
		t.Errorf("the endpoint uses the deprecated bearerTokenFile: %v", e)
	}
	if lookup(e, "authorization", "type") != "Bearer" || lookup(e, "authorization", "credentials", "key") != "token" {
		t.Errorf("authorization = %v, want a Bearer token from a Secret's key token", e["authorization"])
	}
	var secret *unstructured.Unstructured
	for _, s := range byKind(objs, "Secret") {
		if s.GetName() == lookup(e, "authorization", "credentials", "name") {
			secret = s
		}
	}
	if secret == nil {
		t.Fatalf("the ServiceMonitor reads Secret %v, which config/default does not render", lookup(e, "authorization", "credentials", "name"))
	}
	if secret.GetNamespace() != monitor.GetNamespace() {
		t.Errorf("Secret %s is not in the ServiceMonitor's namespace %s", objKey(secret), monitor.GetNamespace())
	}
	sa := secret.GetAnnotations()["kubernetes.io/service-account.name"]
	bound := false
	for _, b := range byKind(objs, "ClusterRoleBinding") {
		if lookup(b.Object, "roleRef", "name") == "tiktok-operator-metrics-reader" &&
			lookup(b.Object, "subjects", "0", "name") == sa && lookup(b.Object, "subjects", "0", "namespace") == secret.GetNamespace() {
			bound = true
		}
	}
	if !bound {
		t.Errorf("the token's ServiceAccount %s/%s is not bound to tiktok-operator-metrics-reader", secret.GetNamespace(), sa)
	}
	found := false
	for _, a := range byKind(objs, "ServiceAccount") {
		found = found || (a.GetName() == sa && a.GetNamespace() == secret.GetNamespace())
	}
	if !found {
		t.Errorf("the token Secret names ServiceAccount %s, which config/default does not render", sa)
	}

	applyForReal(t, append(serviceMonitorCRD(t), prometheusRuleCRD(t)...))
	prereqs, _ := splitPrerequisites(objs)
	applyForReal(t, prereqs)
	for _, ns := range byKind(prereqs, "Namespace") {
		t.Cleanup(func() { deleteNamespace(t, ns.GetName()) })
	}
	var send []*unstructured.Unstructured
	for _, kind := range []string{"PrometheusRule", "ServiceMonitor", "Secret"} {
		send = append(send, byKind(objs, kind)...)
	}
	for _, o := range append(byKind(objs, "ServiceAccount"), byKind(objs, "ClusterRoleBinding")...) {
		if o.GetName() == sa || o.GetName() == "tiktok-operator-metrics-scraper" {
			send = append(send, o)
		}
	}
	dryRunAll(t, send)
}
