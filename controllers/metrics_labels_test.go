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

package controllers

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/tiktok-operator/tiktok-operator/test/fixture"
)

// targetLabels are the labels Prometheus adds to every scraped series (the target's), which a query may
// match although no metric of the operator carries them.
var targetLabels = map[string]bool{"job": true, "instance": true, "cluster": true, "le": true}

var (
	descName   = regexp.MustCompile(`fqName: "([^"]*)"`)
	descLabels = regexp.MustCompile(`variableLabels: \{([^}]*)\}`)
	// selectorRe is an operator metric and its label matchers; groupedRe an aggregation's "by (labels)"
	// applied straight to an operator metric (or a function of one, e.g. max_over_time).
	selectorRe = regexp.MustCompile(`\b(tiktok_operator_[a-z_]+?)(_bucket|_sum|_count)?\{([^}]*)\}`)
	groupedRe  = regexp.MustCompile(`\bby \(([^)]*)\) \((?:[a-z_]+\()?(tiktok_operator_[a-z_]+?)(_bucket|_sum|_count)?\b`)
	matcherRe  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)`)
)

// operatorLabels maps each metric the operator exports to its label names, read from the descriptors.
func operatorLabels(t *testing.T) map[string]map[string]bool {
	t.Helper()
	out := map[string]map[string]bool{}
	for _, c := range operatorCollectors() {
		ch := make(chan *prometheus.Desc, 8)
		c.Describe(ch)
		close(ch)
		for d := range ch {
			name, lbls := descName.FindStringSubmatch(d.String()), descLabels.FindStringSubmatch(d.String())
			if name == nil {
				t.Fatalf("cannot read %s", d)
			}
			set := map[string]bool{}
			if lbls != nil {
				for _, l := range strings.Split(lbls[1], ",") {
					if l = strings.TrimSpace(l); l != "" {
						set[l] = true
					}
				}
			}
			out[name[1]] = set
		}
	}
	return out
}

// checkQueryLabels reports each label an expression matches or groups an operator metric by that the
// metric does not carry: a typo there makes a query or an alert silently empty.
func checkQueryLabels(t *testing.T, where, expr string, known map[string]map[string]bool) int {
	t.Helper()
	checked := 0
	check := func(metric, label string) {
		checked++
		lbls, ok := known[metric]
		if !ok {
			t.Errorf("%s: %q names %s, which the operator does not export", where, expr, metric)
			return
		}
		if !lbls[label] && !targetLabels[label] {
			t.Errorf("%s: %q uses label %q of %s, which carries only %v", where, expr, label, metric, lbls)
		}
	}
	for _, m := range selectorRe.FindAllStringSubmatch(expr, -1) {
		for _, l := range matcherRe.FindAllStringSubmatch(m[3], -1) {
			check(m[1], l[1])
		}
	}
	for _, m := range groupedRe.FindAllStringSubmatch(expr, -1) {
		for _, l := range strings.Split(m[1], ",") {
			check(m[2], strings.TrimSpace(l))
		}
	}
	return checked
}

// The alerts (charts/tiktok-operator/files/prometheus-rules.yaml, identical to config/prometheus's) and the
// Grafana dashboard only match and group the operator's metrics by labels those metrics have.
func TestAlertsAndDashboardUseTheMetricsLabels(t *testing.T) {
	known := operatorLabels(t)
	root := filepath.Join("..")

	rules, err := fixture.AlertRules(filepath.Join(root, filepath.FromSlash(fixture.AlertRulesFile)))
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, r := range rules {
		checked += checkQueryLabels(t, "alert "+r.Alert, r.Expr, known)
	}
	if checked < 10 {
		t.Errorf("only %d label uses found in the alerts: the patterns no longer match the rules", checked)
	}

	raw, err := os.ReadFile(filepath.Join(root, "docs", "grafana", "tiktok-operator-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var exprs []string
	var walk func(v any)
	walk = func(v any) {
		switch n := v.(type) {
		case map[string]any:
			for k, c := range n {
				if s, ok := c.(string); ok && (k == "expr" || k == "query") {
					exprs = append(exprs, s)
				}
				walk(c)
			}
		case []any:
			for _, c := range n {
				walk(c)
			}
		}
	}
	var dash any
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	walk(dash)
	checked = 0
	for _, e := range exprs {
		checked += checkQueryLabels(t, "dashboard", e, known)
	}
	if checked < 20 {
		t.Errorf("only %d label uses found in the dashboard: the patterns no longer match its queries", checked)
	}
}
