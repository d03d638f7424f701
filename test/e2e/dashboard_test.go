package e2e

import (
	"encoding/json"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
)

const dashboardFile = "docs/grafana/tiktok-operator-dashboard.json"

// grafanaDashboard is the part of Grafana's dashboard model the test reads: the panels' queries (rows may
// nest panels) and the template variables' queries.
type grafanaDashboard struct {
	Inputs []struct {
		Name     string `json:"name"`
		Type     string `json:"type"`
		PluginID string `json:"pluginId"`
	} `json:"__inputs"`
	Title      string         `json:"title"`
	UID        string         `json:"uid"`
	Panels     []grafanaPanel `json:"panels"`
	Templating struct {
		List []struct {
			Name  string          `json:"name"`
			Type  string          `json:"type"`
			Query json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type grafanaPanel struct {
	Title   string         `json:"title"`
	Type    string         `json:"type"`
	Panels  []grafanaPanel `json:"panels"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

// TestDashboardQueriesUseRegisteredMetrics: the Grafana dashboard parses, every metric its queries name
// is one the running operator registers (a histogram's _bucket/_sum/_count count as the histogram), and
// every metric the operator defines appears on the dashboard.
func TestDashboardQueriesUseRegisteredMetrics(t *testing.T) {
	t.Parallel()
	raw, err := repoFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d grafanaDashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%s does not parse: %v", dashboardFile, err)
	}
	if d.Title == "" || d.UID == "" {
		t.Errorf("the dashboard has no title or uid")
	}
	checkDashboardVariables(t, &d, raw)
	exprs := dashboardQueries(t, &d)
	if len(exprs) < 10 {
		t.Fatalf("only %d queries found in the dashboard", len(exprs))
	}

	// A short run of the production manager: its metrics are registered, and a published post shows
	// they carry values.
	e := newEnv(t, nil)
	e.account("brand")
	e.post("one", "brand", nil)
	e.startManager(fastOptions())
	e.waitPosts(time.Minute, nil)
	if p := e.getPost("one"); p.Status.Phase != v1alpha1.PhasePublished {
		t.Fatalf("the post ended %s, want Published", p.Status.Phase)
	}
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	observed := map[string]bool{}
	for _, f := range families {
		observed[f.GetName()] = true
	}
	for _, name := range []string{"tiktok_operator_api_requests_total", "tiktok_operator_publish_latency_seconds", "tiktok_operator_quota_used",
		"tiktok_operator_status_writes_total", "controller_runtime_reconcile_total", "workqueue_depth"} {
		if !observed[name] {
			t.Errorf("after a published post the registry holds no %s", name)
		}
	}

	used := map[string]bool{}
	for _, expr := range exprs {
		for _, name := range promQLMetricNames(expr) {
			base, ok := registeredAs(name)
			if !ok {
				t.Errorf("the query %q uses %s, which the operator does not register", expr, name)
			}
			used[base] = true
		}
	}
	for _, name := range operatorMetricNames {
		if !used[name] {
			t.Errorf("the dashboard shows nothing of %s", name)
		}
	}
	if !slices.ContainsFunc(keys(used), func(n string) bool { return strings.HasPrefix(n, "controller_runtime_reconcile_") }) ||
		!slices.ContainsFunc(keys(used), func(n string) bool { return strings.HasPrefix(n, "workqueue_") }) {
		t.Errorf("the dashboard lacks controller-runtime's reconcile or workqueue metrics: %v", keys(used))
	}
}

// checkDashboardVariables: import asks for a Prometheus data source (an __inputs entry, which the data
// source variable starts from), and the cluster and job variables narrow every query, so one Grafana can
// show several clusters and several releases of the operator apart.
func checkDashboardVariables(t *testing.T, d *grafanaDashboard, raw []byte) {
	t.Helper()
	if len(d.Inputs) != 1 || d.Inputs[0].Type != "datasource" || d.Inputs[0].PluginID != "prometheus" {
		t.Errorf("__inputs = %+v, want one Prometheus data source input", d.Inputs)
	} else if !strings.Contains(string(raw), "${"+d.Inputs[0].Name+"}") {
		t.Errorf("nothing in the dashboard uses the input ${%s}", d.Inputs[0].Name)
	}
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
	}
	for _, want := range []string{"datasource", "cluster", "job", "namespace", "account"} {
		if !vars[want] {
			t.Errorf("the dashboard has no %q variable", want)
		}
	}
	var walk func([]grafanaPanel)
	walk = func(ps []grafanaPanel) {
		for _, p := range ps {
			for _, tg := range p.Targets {
				for _, v := range []string{`cluster=~"$cluster"`, `job=~"$job"`} {
					if !strings.Contains(tg.Expr, v) {
						t.Errorf("panel %q: query %q is not narrowed by %s", p.Title, tg.Expr, v)
					}
				}
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
}

// operatorMetricNames are the operator's own metrics (controllers/metrics.go), as registered.
var operatorMetricNames = []string{
	"tiktok_operator_api_requests_total", "tiktok_operator_api_request_duration_seconds", "tiktok_operator_rate_limited_total",
	"tiktok_operator_quota_used", "tiktok_operator_quota_limit", "tiktok_operator_posts", "tiktok_operator_publish_latency_seconds",
	"tiktok_operator_backoff_seconds", "tiktok_operator_status_writes_total",
	"tiktok_operator_account_ready", "tiktok_operator_refresh_token_expiration_timestamp_seconds",
	"tiktok_operator_posts_waiting_since_timestamp_seconds",
}

// dashboardQueries returns every PromQL expression of the dashboard: panel targets and the metric
// selector inside each template variable's label_values(...).
func dashboardQueries(t *testing.T, d *grafanaDashboard) []string {
	t.Helper()
	var out []string
	var walk func([]grafanaPanel)
	walk = func(ps []grafanaPanel) {
		for _, p := range ps {
			if p.Type != "row" && len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				out = append(out, tg.Expr)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	labelValues := regexp.MustCompile(`^label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\)$`)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct {
			Query string `json:"query"`
		}
		if err := json.Unmarshal(v.Query, &q); err != nil {
			t.Fatalf("variable %s: %v", v.Name, err)
		}
		m := labelValues.FindStringSubmatch(q.Query)
		if m == nil {
			t.Errorf("variable %s: query %q is not label_values(selector, label)", v.Name, q.Query)
			continue
		}
		out = append(out, m[1])
	}
	return out
}

var (
	grafanaVar   = regexp.MustCompile(`\$\{?[A-Za-z_][A-Za-z0-9_]*\}?`)
	promString   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'`)
	promMatchers = regexp.MustCompile(`\{[^}]*\}`)
	promRange    = regexp.MustCompile(`\[[^\]]*\]`)
	promGrouping = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promToken    = regexp.MustCompile(`[0-9][0-9A-Za-z_.]*|[A-Za-z_:][A-Za-z0-9_:]*\s*\(?`)
	promKeywords = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true,
		"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
		"inf": true, "nan": true, "Inf": true, "NaN": true}
)

// promQLMetricNames returns the metric names a PromQL expression selects: what is left once strings,
// label matchers, ranges, grouping clauses, function calls, keywords and numbers are set aside.
func promQLMetricNames(expr string) []string {
	s := grafanaVar.ReplaceAllString(expr, "")
	s = promString.ReplaceAllString(s, `""`)
	s = promMatchers.ReplaceAllString(s, " ")
	s = promRange.ReplaceAllString(s, " ")
	s = promGrouping.ReplaceAllString(s, " ")
	seen := map[string]bool{}
	var out []string
	for _, tok := range promToken.FindAllString(s, -1) {
		if strings.HasSuffix(tok, "(") {
			continue // a function or an aggregation
		}
		tok = strings.TrimSpace(tok)
		if tok[0] >= '0' && tok[0] <= '9' || promKeywords[tok] || seen[tok] {
			continue
		}
		seen[tok] = true
		out = append(out, tok)
	}
	sort.Strings(out)
	return out
}

// registeredAs says whether name is registered on controller-runtime's registry, directly or as a
// series of a histogram (name_bucket, name_sum, name_count), and returns the registered name. It asks
// the registry itself: registering a probe under a name already taken fails, whether or not the
// metric has been observed yet (a vector without children is absent from Gather).
func registeredAs(name string) (string, bool) {
	candidates := []string{name}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			candidates = append(candidates, base)
		}
	}
	for _, c := range candidates {
		probe := prometheus.NewGauge(prometheus.GaugeOpts{Name: c, Help: "probe"})
		if err := ctrlmetrics.Registry.Register(probe); err != nil {
			return c, true
		}
		ctrlmetrics.Registry.Unregister(probe)
	}
	return name, false
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestPromQLMetricNames pins the extractor the dashboard test relies on.
func TestPromQLMetricNames(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		expr string
		want []string
	}{
		{`tiktok_operator_posts`, []string{"tiktok_operator_posts"}},
		{`sum by (phase) (max by (namespace, phase) (tiktok_operator_posts{namespace=~"$namespace"}))`, []string{"tiktok_operator_posts"}},
		{`histogram_quantile(0.95, sum by (le, endpoint) (rate(tiktok_operator_api_request_duration_seconds_bucket[$__rate_interval])))`,
			[]string{"tiktok_operator_api_request_duration_seconds_bucket"}},
		{`max by (a) (tiktok_operator_quota_used{x="y,z}"}) / max by (a) (tiktok_operator_quota_limit > 0)`, []string{"tiktok_operator_quota_limit", "tiktok_operator_quota_used"}},
		{`sum(rate(a_sum[5m])) / sum(rate(a_count[5m])) > 1e3 and on (job) up offset 1h`, []string{"a_count", "a_sum", "up"}},
		{`rate(x_total{code!="ok"}[1m]) * 2.5`, []string{"x_total"}},
	} {
		if got := promQLMetricNames(tc.expr); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.expr, got, tc.want)
		}
	}
}
