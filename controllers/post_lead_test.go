package controllers

import (
	"testing"
	"time"
)

// TestIntentLead: no lead before enough intent writes were seen; then the median of the last 32, never
// more than MaxIntentLead; old writes drop out.
func TestIntentLead(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	tests := []struct {
		name   string
		writes []time.Duration
		want   time.Duration
	}{
		{"none", nil, 0},
		{"too few", []time.Duration{ms(5), ms(5), ms(5), ms(5), ms(5), ms(5), ms(5)}, 0},
		{"eight", []time.Duration{ms(8), ms(2), ms(3), ms(7), ms(5), ms(6), ms(1), ms(4)}, ms(5)},
		{"capped", []time.Duration{ms(90), ms(90), ms(90), ms(90), ms(90), ms(90), ms(90), ms(90)}, MaxIntentLead},
		{"a fast one does not count", []time.Duration{0, ms(6), ms(6), ms(6), ms(6), ms(6), ms(6), ms(6)}, ms(6)},
		{"a slow one does not count", []time.Duration{ms(400), ms(6), ms(6), ms(6), ms(6), ms(6), ms(6), ms(6)}, ms(6)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l intentLead
			for _, d := range tt.writes {
				l.observe(d)
			}
			if got := l.get(); got != tt.want {
				t.Errorf("lead %s, want %s", got, tt.want)
			}
		})
	}
	t.Run("the last 32", func(t *testing.T) {
		var l intentLead
		for range 32 {
			l.observe(ms(20))
		}
		for range 32 {
			l.observe(ms(3))
		}
		if got := l.get(); got != ms(3) {
			t.Errorf("lead %s after 32 writes of 3ms, want 3ms", got)
		}
	})
}
