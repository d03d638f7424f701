package pacing

import (
	"fmt"
	"testing"
	"time"
)

// TestLearnFromOneRefusal: configured 6/min, the model server really allows realN/min. One refusal
// teaches the engine the real limit (the window held realN others), and it paces at it: refusals at most
// 1 + 1 per 10 windows of the run (the probes), makespan within 1.10x of the ideal at the real limit. When
// the real limit is the configured one nothing changes: no refusal at all.
func TestLearnFromOneRefusal(t *testing.T) {
	for _, realN := range []int{6, 5, 4, 3, 2} {
		t.Run(fmt.Sprintf("real%d", realN), func(t *testing.T) {
			const m = 300
			calls, refused, makespan := runAdaptive(t, realN, JitterFull, m)
			ideal := time.Duration(m/realN) * time.Minute
			windows := int(makespan / time.Minute)
			ratio := float64(makespan) / float64(ideal)
			t.Logf("%d calls, %d refused, makespan %s = %.3fx the ideal %s", calls, refused, makespan, ratio, ideal)
			if realN == 6 && refused != 0 {
				t.Fatalf("real = configured: %d refusals, want 0", refused)
			}
			if maxRefused := 1 + windows/10; refused > maxRefused {
				t.Fatalf("%d refusals over %d windows, want <= %d", refused, windows, maxRefused)
			}
			if ratio > 1.10 {
				t.Fatalf("makespan %.3fx the ideal at the real limit, want <= 1.10x", ratio)
			}
		})
	}
}
