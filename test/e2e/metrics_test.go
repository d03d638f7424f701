package e2e

import (
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// gathered is a snapshot of the operator's metrics registry (shared by every manager of this process:
// tests that run in parallel add to the same counters, so assertions use lower bounds or their own
// namespace's labels).
type gathered map[string][]*dto.Metric

func gatherMetrics(t *testing.T) gathered {
	t.Helper()
	mfs, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := gathered{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf.GetMetric()
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if tokenPattern.MatchString(l.GetValue()) {
					t.Errorf("metric %s carries a token in label %s", mf.GetName(), l.GetName())
				}
			}
		}
	}
	return out
}

// sum adds the values of the series whose labels include every pair in match.
func (g gathered) sum(name string, match map[string]string) float64 {
	total := 0.0
	for _, m := range g[name] {
		ok := true
		for k, v := range match {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			ok = ok && found
		}
		if !ok {
			continue
		}
		switch {
		case m.Counter != nil:
			total += m.Counter.GetValue()
		case m.Gauge != nil:
			total += m.Gauge.GetValue()
		case m.Histogram != nil:
			total += float64(m.Histogram.GetSampleCount())
		}
	}
	return total
}

// assertThrottleMetrics checks what a run with throttled inits left in the metrics.
func assertThrottleMetrics(t *testing.T, e *env, account string, throttled int) {
	t.Helper()
	g := gatherMetrics(t)
	if got := g.sum("tiktok_operator_rate_limited_total", map[string]string{"endpoint": "video_init"}); got < float64(throttled) {
		t.Errorf("tiktok_operator_rate_limited_total{endpoint=video_init} = %v, want at least the %d 429s of this test", got, throttled)
	}
	if got := g.sum("tiktok_operator_api_requests_total", map[string]string{"endpoint": "video_init", "code": "rate_limit_exceeded"}); got < float64(throttled) {
		t.Errorf("tiktok_operator_api_requests_total{code=rate_limit_exceeded} = %v, want at least %d", got, throttled)
	}
	if got := g.sum("tiktok_operator_backoff_seconds", nil); got < float64(throttled) {
		t.Errorf("tiktok_operator_backoff_seconds has %v observations, want at least %d", got, throttled)
	}
	if got := g.sum("tiktok_operator_publish_latency_seconds", nil); got == 0 {
		t.Errorf("tiktok_operator_publish_latency_seconds has no observation after posts published")
	}
	own := map[string]string{"namespace": e.ns, "account": account, "limit": "postInit/video"}
	if got := g.sum("tiktok_operator_quota_limit", own); got < 1 || got > 6 {
		t.Errorf("tiktok_operator_quota_limit%v = %v, want the effective limit (1..6)", own, got)
	}
	if got := g.sum("tiktok_operator_status_writes_total", map[string]string{"kind": "TikTokPost"}); got == 0 {
		t.Errorf("no status write counted")
	}
	names := make([]string, 0, len(g))
	for n := range g {
		if strings.HasPrefix(n, "tiktok_") {
			names = append(names, n)
		}
	}
	t.Logf("operator metrics present: %v", names)
}
