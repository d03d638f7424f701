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
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The dashboard is one JSON file in two places: the chart's (the ConfigMap template reads it) and docs/grafana
// (for import by hand).
var (
	chartDashboard = filepath.Join("charts", "tiktok-operator", "files", "tiktok-operator-dashboard.json")
	docsDashboard  = filepath.Join("docs", "grafana", "tiktok-operator-dashboard.json")
)

// TestDashboardCopiesIdentical: the chart ships the very dashboard docs/grafana offers.
func TestDashboardCopiesIdentical(t *testing.T) {
	chart, err := os.ReadFile(filepath.Join(repoRoot, chartDashboard))
	if err != nil {
		t.Fatal(err)
	}
	docs, err := os.ReadFile(filepath.Join(repoRoot, docsDashboard))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(chart, docs) {
		t.Errorf("%s and %s differ: copy docs/grafana's over the chart's (or the other way round)", chartDashboard, docsDashboard)
	}
}

// TestChartGrafanaDashboard: no ConfigMap by default; enabled, a ConfigMap carrying the sidecar's label
// (grafana_dashboard: "1", or the one configured) in the chosen namespace, whose JSON is the dashboard
// file with only the data source input filled in, accepted by the API server.
func TestChartGrafanaDashboard(t *testing.T) {
	if n := len(byKind(renderChart(t, "tiktok", "ops"), "ConfigMap")); n != 0 {
		t.Errorf("the defaults render %d ConfigMaps, want none", n)
	}
	raw, err := os.ReadFile(filepath.Join(repoRoot, chartDashboard))
	if err != nil {
		t.Fatal(err)
	}
	var file map[string]any
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatalf("%s does not parse: %v", chartDashboard, err)
	}

	for _, tc := range []struct {
		name                string
		flags               []string
		namespace           string
		labelName, labelVal string
		datasource          string
	}{
		{name: "defaults", namespace: "ops", labelName: "grafana_dashboard", labelVal: "1"},
		{name: "own label, namespace, data source and folder", flags: []string{
			"--set", "grafanaDashboard.label.name=example.com/dashboard", "--set-string", "grafanaDashboard.label.value=tiktok",
			"--set", "grafanaDashboard.namespace=grafana", "--set", "grafanaDashboard.datasource=prom-main",
			"--set", "grafanaDashboard.annotations.grafana_folder=Operators"},
			namespace: "grafana", labelName: "example.com/dashboard", labelVal: "tiktok", datasource: "prom-main"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cm := onlyOne(t, renderChart(t, "tiktok", "ops", append([]string{"--set", "grafanaDashboard.enabled=true"}, tc.flags...)...), "ConfigMap")
			if cm.GetNamespace() != tc.namespace || cm.GetLabels()[tc.labelName] != tc.labelVal {
				t.Errorf("ConfigMap %s labels %v: want namespace %s and %s=%q", objKey(cm), cm.GetLabels(), tc.namespace, tc.labelName, tc.labelVal)
			}
			if tc.datasource != "" && cm.GetAnnotations()["grafana_folder"] != "Operators" {
				t.Errorf("annotations %v lack grafana_folder=Operators", cm.GetAnnotations())
			}
			data, _, _ := unstructured.NestedStringMap(cm.Object, "data")
			if len(data) != 1 {
				t.Fatalf("the ConfigMap holds %d keys, want the dashboard alone", len(data))
			}
			var got map[string]any
			for key, v := range data {
				if !strings.HasSuffix(key, ".json") {
					t.Errorf("key %q: the sidecar loads *.json files", key)
				}
				if err := json.Unmarshal([]byte(v), &got); err != nil {
					t.Fatalf("the ConfigMap's dashboard does not parse: %v", err)
				}
			}
			want := map[string]any{}
			if err := json.Unmarshal([]byte(strings.ReplaceAll(string(raw), "${DS_PROMETHEUS}", tc.datasource)), &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("the ConfigMap's dashboard is not %s with ${DS_PROMETHEUS} set to %q", chartDashboard, tc.datasource)
			}
			current := lookup(got, "templating", "list", "0", "current", "value")
			if lookup(got, "templating", "list", "0", "type") != "datasource" || current != tc.datasource {
				t.Errorf("the data source variable starts at %v, want %q", current, tc.datasource)
			}
			createNamespace(t, tc.namespace)
			dryRunAll(t, []*unstructured.Unstructured{cm})
		})
	}
}

// TestChartObservabilityValuesRefused: the schema refuses wrong values of the observability options,
// naming the value.
func TestChartObservabilityValuesRefused(t *testing.T) {
	helm := helmBin(t)
	for _, tc := range []struct {
		name    string
		flags   []string
		mention string
	}{
		{"unknown alert to disable", []string{"--set", "prometheusRule.disabledAlerts={TikTokNope}"}, "/prometheusRule/disabledAlerts/0"},
		{"rule label that is not a string", []string{"--set", "prometheusRule.additionalRuleLabels.page=true"}, "/prometheusRule/additionalRuleLabels/page"},
		{"misspelt prometheusRule option", []string{"--set", "prometheusRule.enable=true"}, "/prometheusRule"},
		{"dashboard label that is not a label name", []string{"--set", "grafanaDashboard.label.name=not a label"}, "/grafanaDashboard/label/name"},
		{"dashboard label value that is a number", []string{"--set", "grafanaDashboard.label.value=1"}, "/grafanaDashboard/label/value"},
		{"data source with a quote", []string{"--set", `grafanaDashboard.datasource=a"b`}, "/grafanaDashboard/datasource"},
		{"certificate duration that is not one", []string{"--set", "metrics.certManager.duration=90 days"}, "/metrics/certManager/duration"},
		{"issuer kind empty", []string{"--set", "metrics.certManager.issuerRef.kind="}, "/metrics/certManager/issuerRef/kind"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runTool(t, nil, helm, append([]string{"template", "tiktok", chartDir}, tc.flags...)...)
			if err == nil {
				t.Fatalf("helm template accepted %v; it rendered %d bytes", tc.flags, len(out))
			}
			if msg := err.Error(); !strings.Contains(msg, tc.mention) || !strings.Contains(msg, "schema") {
				t.Errorf("helm template refused %v, but not with a schema error naming %q:\n%s", tc.flags, tc.mention, msg)
			}
		})
	}
}
