package controllers

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	testclock "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/pacing"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktok"
)

// Every metric the operator exports carries one prefix, so users select, alert on and rename them as one
// family (docs/metrics.md lists the older names).
func TestMetricNamesShareThePrefix(t *testing.T) {
	fqName := regexp.MustCompile(`fqName: "([^"]*)"`)
	seen := 0
	for _, c := range operatorCollectors() {
		ch := make(chan *prometheus.Desc, 8)
		c.Describe(ch)
		close(ch)
		for d := range ch {
			m := fqName.FindStringSubmatch(d.String())
			if m == nil {
				t.Fatalf("cannot read the name of %s", d)
			}
			seen++
			if !strings.HasPrefix(m[1], metricPrefix) {
				t.Errorf("metric %s does not start with %s", m[1], metricPrefix)
			}
		}
	}
	if seen < 12 {
		t.Errorf("described %d metrics, want the 12 of docs/metrics.md", seen)
	}
}

// The quota metrics are read from the engine at scrape time: a call shows at once, a forgotten account
// disappears, an account the engine does not know is not reported, and two managers of one process that
// know the same account do not make the scrape fail with a duplicate series.
func TestQuotaMetricsReadTheEngine(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	clk := testclock.NewFakeClock(t0)
	engine := pacing.NewEngine(clk, func() float64 { return 0.5 })
	reg := newAccountRegistry(engine, nil, clk.Now)
	brand := accountKeyOf("ns", "brand")
	engine.Configure(brand.engine(), pacing.DefaultLimits(), pacing.DefaultBackoff())
	reg.runtime(brand)
	reg.runtime(accountKeyOf("ns", "unconfigured")) // prepared by nobody yet: the engine has no windows for it

	c := &quotaCollector{used: quotas.used, limit: quotas.limit, sources: map[*quotaSource]struct{}{}}
	first := &quotaSource{engine: engine, accounts: reg, now: clk.Now}
	c.add(first)
	c.add(&quotaSource{engine: engine, accounts: reg, now: clk.Now}) // a second manager knowing the same account
	registry := prometheus.NewPedanticRegistry()
	registry.MustRegister(c)

	gather := func() map[string]float64 { t.Helper(); return gaugeValues(t, registry) }
	const used = `tiktok_operator_quota_used{account="brand",limit="statusFetch",namespace="ns"}`
	const limit = `tiktok_operator_quota_limit{account="brand",limit="statusFetch",namespace="ns"}`

	got := gather()
	if got[used] != 0 || got[limit] != 30 {
		t.Fatalf("before any call: used %v, limit %v; want 0 and 30 (got %v)", got[used], got[limit], got)
	}
	for k := range got {
		if strings.Contains(k, `account="unconfigured"`) {
			t.Errorf("an account the engine does not know is reported: %s", k)
		}
	}
	d := engine.ReserveCall(brand.engine(), pacing.CallStatusFetch, clk.Now())
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
	reg.forget(brand)
	if got := gather(); len(got) != 0 {
		t.Errorf("after the account was forgotten: %v, want no series", got)
	}
}

// The account metrics are read from the cache at scrape time: a Ready account reports 1 and its reason, a
// stalled one 0 and why (its posts merely wait, so no post metric shows it), an account not yet reconciled
// 0 with no reason; the refresh token's expiry is reported only when known; accounts outside the manager's
// --account-selector are left to the manager that owns them; a status change shows at the next scrape.
func TestAccountMetricsReadTheCache(t *testing.T) {
	s := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	expiry := time.Date(2027, 6, 1, 12, 0, 0, 0, time.UTC)
	ready := func(status metav1.ConditionStatus, reason string) []metav1.Condition {
		return []metav1.Condition{{Type: v1alpha1.ConditionReady, Status: status, Reason: reason,
			LastTransitionTime: metav1.Now()}}
	}
	aq := func(name string, lbls map[string]string) *v1alpha1.AccountQuota {
		return &v1alpha1.AccountQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, Labels: lbls}}
	}
	brand, stalled, banned, fresh, other := aq("brand", nil), aq("stalled", nil), aq("banned", nil), aq("fresh", nil),
		aq("other", map[string]string{"shard": "b"})
	brand.Status.Conditions = ready(metav1.ConditionTrue, v1alpha1.ReasonAccountReady)
	brand.Status.Token = &v1alpha1.TokenStatus{RefreshTokenExpiresAt: &metav1.Time{Time: expiry}}
	stalled.Status.Conditions = ready(metav1.ConditionFalse, v1alpha1.ReasonCredentialsInvalid)
	stalled.Status.Token = &v1alpha1.TokenStatus{} // expiry unknown
	banned.Status.Conditions = ready(metav1.ConditionFalse, v1alpha1.ReasonAccountBanned)
	other.Status.Conditions = ready(metav1.ConditionTrue, v1alpha1.ReasonAccountReady)
	c := fake.NewClientBuilder().WithScheme(s).WithObjects(brand, stalled, banned, fresh, other).
		WithStatusSubresource(&v1alpha1.AccountQuota{}).Build()

	col := &accountsCollector{ready: accountStatus.ready, refreshExpiry: accountStatus.refreshExpiry}
	registry := prometheus.NewPedanticRegistry()
	registry.MustRegister(col)
	gather := func() map[string]float64 { t.Helper(); return gaugeValues(t, registry) }
	if got := gather(); len(got) != 0 {
		t.Fatalf("before the manager set a reader: %v, want no series", got)
	}

	sel, err := labels.Parse("shard!=b")
	if err != nil {
		t.Fatal(err)
	}
	col.set(c, sel)
	want := map[string]float64{
		`tiktok_operator_account_ready{account="brand",namespace="ns",reason="AccountReady"}`:         1,
		`tiktok_operator_account_ready{account="stalled",namespace="ns",reason="CredentialsInvalid"}`: 0,
		`tiktok_operator_account_ready{account="banned",namespace="ns",reason="AccountBanned"}`:       0,
		`tiktok_operator_account_ready{account="fresh",namespace="ns",reason=""}`:                     0,
		`tiktok_operator_refresh_token_expiration_timestamp_seconds{account="brand",namespace="ns"}`:  float64(expiry.Unix()),
	}
	got := gather()
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present: %v), want %v", k, g, ok, v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("series %v, want exactly %v (no expiry while unknown, no account of another shard)", got, want)
	}

	// The account recovers: the next scrape says so, with no series left behind for the old reason.
	stalled.Status.Conditions = ready(metav1.ConditionTrue, v1alpha1.ReasonAccountReady)
	if err := c.Status().Update(context.Background(), stalled); err != nil {
		t.Fatal(err)
	}
	got = gather()
	if v, ok := got[`tiktok_operator_account_ready{account="stalled",namespace="ns",reason="AccountReady"}`]; !ok || v != 1 {
		t.Errorf("after recovery: %v", got)
	}
	if _, ok := got[`tiktok_operator_account_ready{account="stalled",namespace="ns",reason="CredentialsInvalid"}`]; ok {
		t.Errorf("the old reason's series is still reported: %v", got)
	}
}

// gaugeValues scrapes registry and returns each gauge series' value by its name and labels, as
// `name{label="value",...}` (labels in the order the registry sorts them: by name).
func gaugeValues(t *testing.T, registry prometheus.Gatherer) map[string]float64 {
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

// The post metrics are read from the cache at scrape time: posts by namespace and phase (no phase yet
// counts as Pending), and per namespace the earliest due time of a post still waiting to be sent (its
// publishAt, else its creation), the figure the overdue-posts alert reads; a namespace where nothing waits
// has no such series. The reader is controller-runtime's fake client: a scrape-time read of a list, no API
// server behaviour involved (the e2e tests scrape the real cache).
func TestPostMetricsReadTheCache(t *testing.T) {
	s := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	post := func(ns, name string, phase v1alpha1.Phase, created time.Time, publishAt *time.Time) *v1alpha1.TikTokPost {
		p := &v1alpha1.TikTokPost{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
			CreationTimestamp: metav1.Time{Time: created}}}
		p.Status.Phase = phase
		if publishAt != nil {
			p.Spec.PublishAt = &metav1.Time{Time: *publishAt}
		}
		return p
	}
	earlier, later := t0.Add(-3*time.Hour), t0.Add(time.Hour)
	objs := []client.Object{
		post("a", "queued", v1alpha1.PhaseQueued, t0.Add(-time.Hour), nil),
		post("a", "new", "", t0, &earlier),                                            // no phase yet: Pending, due at publishAt
		post("a", "scheduled", v1alpha1.PhaseScheduled, t0.Add(-9*time.Hour), &later), // not due yet: not waiting
		post("a", "failed", v1alpha1.PhaseFailed, t0.Add(-48*time.Hour), nil),
		post("b", "done", v1alpha1.PhasePublished, t0.Add(-48*time.Hour), nil),
	}
	c := fake.NewClientBuilder().WithScheme(s).WithObjects(objs...).Build()
	col := &postsCollector{desc: postsByPhase.desc, waitingSince: postsByPhase.waitingSince}
	registry := prometheus.NewPedanticRegistry()
	registry.MustRegister(col)
	if got := gaugeValues(t, registry); len(got) != 0 {
		t.Fatalf("before the manager set a reader: %v, want no series", got)
	}
	col.set(c)
	want := map[string]float64{
		`tiktok_operator_posts{namespace="a",phase="Queued"}`:                  1,
		`tiktok_operator_posts{namespace="a",phase="Pending"}`:                 1,
		`tiktok_operator_posts{namespace="a",phase="Scheduled"}`:               1,
		`tiktok_operator_posts{namespace="a",phase="Failed"}`:                  1,
		`tiktok_operator_posts{namespace="b",phase="Published"}`:               1,
		`tiktok_operator_posts_waiting_since_timestamp_seconds{namespace="a"}`: float64(earlier.Unix()),
	}
	got := gaugeValues(t, registry)
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present: %v), want %v", k, g, ok, v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("series %v, want exactly %v", got, want)
	}
}

// Each endpoint's rate-limit counter exists at 0 once the metrics are registered, so the alert on its
// increase sees the first 429 after a restart.
func TestRateLimitedCountersStartAtZero(t *testing.T) {
	registerMetrics()
	mfs, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, mf := range mfs {
		if mf.GetName() != metricPrefix+"rate_limited_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == labelEndpoint {
					found[l.GetValue()] = true
				}
			}
		}
	}
	for _, ep := range tiktok.Endpoints {
		if !found[string(ep)] {
			t.Errorf("no %srate_limited_total{endpoint=%q} series before any 429", metricPrefix, ep)
		}
	}
}
