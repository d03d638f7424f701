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

package e2e

import (
	"testing"

	"github.com/tiktok-operator/tiktok-operator/test/fixture"
)

// TestAlertRulesUseRegisteredMetrics: every metric an alert's expression names is one the running operator
// registers (controller-runtime's included; a histogram's _bucket/_sum/_count count as the histogram), so
// no alert silently watches a series that never exists. config/prometheus/rules.yaml holds the same groups
// (test/deploy checks it), and promtool unit-tests each alert there.
func TestAlertRulesUseRegisteredMetrics(t *testing.T) {
	t.Parallel()
	rules, err := fixture.AlertRules(repoPath(fixture.AlertRulesFile))
	if err != nil {
		t.Fatal(err)
	}

	// The production manager registers the operator's metrics on controller-runtime's registry.
	e := newEnv(t, nil)
	e.startManager(fastOptions())

	for _, r := range rules {
		names := promQLMetricNames(r.Expr)
		if len(names) == 0 {
			t.Errorf("alert %s: no metric found in %q", r.Alert, r.Expr)
		}
		for _, name := range names {
			if _, ok := registeredAs(name); !ok {
				t.Errorf("alert %s uses %s, which the operator does not register (expr %q)", r.Alert, name, r.Expr)
			}
		}
	}
	if len(rules) < 10 {
		t.Errorf("read %d alerts from %s, want the 11 it holds", len(rules), fixture.AlertRulesFile)
	}
}
