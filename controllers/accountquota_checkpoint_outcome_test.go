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
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	testclock "k8s.io/utils/clock/testing"

	"github.com/tiktok-operator/tiktok-operator/test/fixture/crdschema"

	"github.com/tiktok-operator/tiktok-operator/internal/pacing"
)

// recordedOutcomes is the documented set of AccountQuota status.checkpoint.calls[].outcome: the pacing
// engine's names for what became of a call (pacing.Outcome), never TikTok's error codes.
var recordedOutcomes = []string{"Pending", "Accepted", "Rejected", "Throttled", "Uncertain"}

// TestRecordedCallOutcomes: every outcome the engine keeps in its log reaches the checkpoint as one of
// the documented names, the CRD's description names each of them, and a restart reads each back as the
// same outcome (a name it does not know would be read as Uncertain, holding a slot for a whole window).
func TestRecordedCallOutcomes(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	clk := testclock.NewFakePassiveClock(t0)
	e := pacing.NewEngine(clk, func() float64 { return 0.5 })
	e.Configure("ns/a", pacing.DefaultLimits(), pacing.DefaultBackoff())
	all := []pacing.Outcome{pacing.Pending, pacing.Accepted, pacing.Rejected, pacing.Throttled, pacing.Uncertain, pacing.Abandoned}
	for i, o := range all {
		sent := t0.Add(time.Duration(i) * time.Second)
		answered := sent.Add(100 * time.Millisecond)
		if o == pacing.Pending {
			answered = time.Time{}
		}
		e.RecordCall("ns/a", pacing.CallStatusFetch, sent, answered, o)
	}
	cp := checkpointOf(e.Snapshot("ns/a"), t0.Add(10*time.Second))
	var seen []string
	for _, c := range cp.Calls {
		if !slices.Contains(recordedOutcomes, c.Outcome) {
			t.Errorf("checkpoint call outcome %q is not one of the documented %v", c.Outcome, recordedOutcomes)
		}
		seen = append(seen, c.Outcome)
	}
	// Abandoned calls were never sent: the engine drops them, they are not in the checkpoint.
	if want := []string{"Pending", "Accepted", "Rejected", "Throttled", "Uncertain"}; !slices.Equal(seen, want) {
		t.Errorf("checkpoint outcomes = %v; want %v (one per recorded call, the abandoned one left out)", seen, want)
	}
	for _, o := range all[:5] {
		if back := outcomeByName(o.String()); back != o {
			t.Errorf("outcome %s is read back as %s", o, back)
		}
	}

	desc := recordedCallOutcomeDescription(t)
	if strings.Contains(desc, "rate_limit_exceeded") {
		t.Errorf("the CRD's description of checkpoint.calls[].outcome still offers TikTok's codes: %q", desc)
	}
	for _, name := range recordedOutcomes {
		if !strings.Contains(desc, name) {
			t.Errorf("the CRD's description of checkpoint.calls[].outcome does not name %s: %q", name, desc)
		}
	}
}

// recordedCallOutcomeDescription is the generated AccountQuota CRD's description of
// status.checkpoint.calls[].outcome.
func recordedCallOutcomeDescription(t *testing.T) string {
	t.Helper()
	s, err := crdschema.Read(filepath.Join("..", "config", "crd", "bases", "publish.tiktok-operator.dev_accountquotas.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"status", "checkpoint", "calls", "outcome"} {
		var ok bool
		if name == "outcome" {
			items, _ := s["items"].(map[string]any)
			s = items
		}
		if s, ok = child(s, name); !ok {
			t.Fatalf("the AccountQuota CRD has no status.checkpoint.calls[].outcome (at %s)", name)
		}
	}
	d, _ := s["description"].(string)
	return d
}
