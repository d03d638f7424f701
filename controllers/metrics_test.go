package controllers

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	testclock "k8s.io/utils/clock/testing"

	"github.com/tiktok-operator/tiktok-operator/internal/pacing"
)

// The quota metrics are read from the engine at scrape time: a call shows at once, a forgotten account
// disappears, an account the engine does not know is not reported, and two managers of one process that
// know the same account do not make the scrape fail with a duplicate series.
func TestQuotaMetricsReadTheEngine(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	clk := testclock.NewFakeClock(t0)
	engine := pacing.NewEngine(clk, func() float64 { return 0.5 })
	reg := newAccountRegistry(engine, nil, clk.Now)
	engine.Configure("ns/brand", pacing.DefaultLimits(), pacing.DefaultBackoff())
	reg.runtime("ns/brand")
	reg.runtime("ns/unconfigured") // prepared by nobody yet: the engine has no windows for it

	c := &quotaCollector{used: quotas.used, limit: quotas.limit, sources: map[*quotaSource]struct{}{}}
	first := &quotaSource{engine: engine, accounts: reg, now: clk.Now}
	c.add(first)
	c.add(&quotaSource{engine: engine, accounts: reg, now: clk.Now}) // a second manager knowing the same account
	registry := prometheus.NewPedanticRegistry()
	registry.MustRegister(c)

	gather := func() map[string]float64 {
		t.Helper()
		mfs, err := registry.Gather()
		if err != nil {
			t.Fatalf("scrape failed: %v", err)
		}
		out := map[string]float64{}
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				out[mf.GetName()+labelsOfMetric(m)] = m.GetGauge().GetValue()
			}
		}
		return out
	}
	const used = `tiktok_quota_used{account="brand",limit="statusFetch",namespace="ns"}`
	const limit = `tiktok_quota_limit{account="brand",limit="statusFetch",namespace="ns"}`

	got := gather()
	if got[used] != 0 || got[limit] != 30 {
		t.Fatalf("before any call: used %v, limit %v; want 0 and 30 (got %v)", got[used], got[limit], got)
	}
	for k := range got {
		if strings.Contains(k, `account="unconfigured"`) {
			t.Errorf("an account the engine does not know is reported: %s", k)
		}
	}
	d := engine.ReserveCall("ns/brand", pacing.CallStatusFetch, clk.Now())
	if !d.Granted {
		t.Fatal("status fetch not granted on a fresh account")
	}
	engine.Complete(d.Reservation, clk.Now(), clk.Now(), pacing.Accepted)
	if got := gather(); got[used] != 1 {
		t.Errorf("after one status fetch: used %v, want 1", got[used])
	}
	clk.Step(61 * time.Second)
	if got := gather(); got[used] != 0 {
		t.Errorf("a window later: used %v, want 0 (read at scrape time, no reconcile needed)", got[used])
	}
	// A stopped manager's source leaves; the other still reports the account.
	c.remove(first)
	if got := gather(); got[limit] != 30 {
		t.Errorf("after one source left: limit %v, want 30 from the other", got[limit])
	}
	reg.forget("ns/brand")
	if got := gather(); len(got) != 0 {
		t.Errorf("after the account was forgotten: %v, want no series", got)
	}
}

func labelsOfMetric(m *dto.Metric) string {
	s := "{"
	for i, l := range m.GetLabel() {
		if i > 0 {
			s += ","
		}
		s += l.GetName() + `="` + l.GetValue() + `"`
	}
	return s + "}"
}
