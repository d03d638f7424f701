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
	"context"
	"testing"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
)

// TestRetryAnnotationKeepsTheHistory: the retry annotation restarts a Failed post's count of attempts
// (status.attempts back to 0, so maxAttempts applies afresh, and the next attempt is number 1) but keeps
// the record of the calls already made: attemptHistory keeps the failed run's entries, and
// lastAttemptTime stays the start of the last call until the next one starts. Those calls reached
// TikTok and still count in its windows; a restarted operator rebuilds its pacing from attemptHistory.
// An accepted attempt carries no code.
func TestRetryAnnotationKeepsTheHistory(t *testing.T) {
	w := newWorld(t, nil)
	w.account("brand", nil)
	w.post("p", "brand", func(s *v1alpha1.TikTokPostSpec) { s.MaxAttempts = 2 })

	// Every init answers 500: two attempts, then the post fails.
	w.sim.SetFaults(tiktoksim.Faults{ServerError: 1})
	p := w.drive("p", 200)
	if p.Status.Phase != v1alpha1.PhaseFailed || reasonOf(p) != v1alpha1.ReasonMaxAttemptsExceeded {
		t.Fatalf("before the retry: %s; want Failed, MaxAttemptsExceeded", describe(p))
	}
	failed := p.Status.AttemptHistory
	if len(failed) != 2 || failed[0].Attempt != 1 || failed[1].Attempt != 2 {
		t.Fatalf("before the retry: attemptHistory = %+v; want attempts 1 and 2", failed)
	}
	for _, h := range failed {
		if h.Outcome != v1alpha1.AttemptOutcomeRetryableError || h.Code != "internal_error" {
			t.Errorf("failed attempt %d: outcome %q, code %q; want RetryableError, internal_error", h.Attempt, h.Outcome, h.Code)
		}
	}
	lastCall := p.Status.LastAttemptTime
	if lastCall == nil || !lastCall.Equal(&failed[1].StartTime) {
		t.Fatalf("before the retry: lastAttemptTime = %v; want the second attempt's start %v", lastCall, failed[1].StartTime)
	}

	// TikTok answers again; the user retries. The first reconcile acts on the annotation.
	w.sim.SetFaults(tiktoksim.Faults{})
	p.Annotations = map[string]string{v1alpha1.RetryAnnotation: "1"}
	if err := w.raw.Update(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	restarted := w.drive("p", 1)
	if restarted.Status.LastRetryAnnotation != "1" || restarted.Status.Attempts > 1 {
		t.Fatalf("after one reconcile: lastRetryAnnotation %q, attempts %d; want the retry acted on",
			restarted.Status.LastRetryAnnotation, restarted.Status.Attempts)
	}
	if restarted.Status.Attempts == 0 {
		// Not called yet: the record of the earlier calls is intact.
		if len(restarted.Status.AttemptHistory) != 2 || !restarted.Status.LastAttemptTime.Equal(lastCall) {
			t.Errorf("retry acted on, no call yet: attemptHistory %d entries, lastAttemptTime %v; want 2 and %v",
				len(restarted.Status.AttemptHistory), restarted.Status.LastAttemptTime, lastCall)
		}
	}

	p = w.drive("p", 200)
	if p.Status.Phase != v1alpha1.PhasePublished {
		t.Fatalf("after the retry: %s; want Published", describe(p))
	}
	h := p.Status.AttemptHistory
	if len(h) != 3 {
		t.Fatalf("after the retry: attemptHistory = %+v; want the 2 failed attempts and the accepted one", h)
	}
	for i := range failed {
		if h[i].Attempt != failed[i].Attempt || !h[i].StartTime.Equal(&failed[i].StartTime) || h[i].Outcome != failed[i].Outcome {
			t.Errorf("after the retry: entry %d = %+v; want the failed run's %+v kept", i, h[i], failed[i])
		}
	}
	last := h[2]
	if last.Attempt != 1 || last.Outcome != v1alpha1.AttemptOutcomeAccepted || last.Code != "" {
		t.Errorf("after the retry: newest entry attempt %d, outcome %q, code %q; want attempt 1 (numbering restarts), "+
			"Accepted, no code", last.Attempt, last.Outcome, last.Code)
	}
	if p.Status.Attempts != 1 {
		t.Errorf("after the retry: status.attempts = %d; want 1", p.Status.Attempts)
	}
	if p.Status.LastAttemptTime == nil || !p.Status.LastAttemptTime.Equal(&last.StartTime) {
		t.Errorf("after the retry: lastAttemptTime = %v; want the accepted attempt's start %v", p.Status.LastAttemptTime, last.StartTime)
	}
}
