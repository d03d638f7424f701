package controllers

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/pacing"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktok"
)

// The operator's metrics, on controller-runtime's registry (served with its own at /metrics). Labels
// never carry a token or a post's content: endpoint and code are fixed vocabularies (an error code TikTok
// does not document counts as "other": see callCode), namespace and account are object names.
// Every name starts with metricPrefix, so one `{__name__=~"tiktok_operator_.*"}` selects all of them
// (older releases named most of them without "operator_": docs/metrics.md lists the renames).
const metricPrefix = "tiktok_operator_"

// Label names.
const (
	labelEndpoint  = "endpoint"
	labelNamespace = "namespace"
	labelAccount   = "account"
)

var (
	apiRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: metricPrefix + "api_requests_total",
		Help: "Calls to TikTok, by endpoint and answer code (ok, a TikTok error code, http_NNN, or transport).",
	}, []string{labelEndpoint, "code"})
	apiDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    metricPrefix + "api_request_duration_seconds",
		Help:    "Time from sending a call to TikTok to its answer.",
		Buckets: prometheus.ExponentialBuckets(0.01, 2, 12),
	}, []string{labelEndpoint})
	rateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: metricPrefix + "rate_limited_total",
		Help: "Calls TikTok answered with a rate limit (429 / rate_limit_exceeded): each is a sign the pacing model was wrong.",
	}, []string{labelEndpoint})
	quotas = &quotaCollector{
		used: prometheus.NewDesc(metricPrefix+"quota_used",
			"Calls counted in the current window of each limit of an account (read from the pacing engine at scrape time).",
			[]string{labelNamespace, labelAccount, "limit"}, nil),
		limit: prometheus.NewDesc(metricPrefix+"quota_limit",
			"The effective limit of each window of an account, the number of calls per window the pacing engine allows now: "+
				"the configured spec.limits value, or the lower limit it learned from an unexpected 429 until probes raise it back "+
				"(see AccountQuota status.usage[].loweredAt and nextProbeAt).",
			[]string{labelNamespace, labelAccount, "limit"}, nil),
		sources: map[*quotaSource]struct{}{},
	}
	postsByPhase = &postsCollector{
		desc: prometheus.NewDesc(metricPrefix+"posts",
			"TikTokPosts by namespace and phase (counted from the cache at scrape time).", []string{labelNamespace, "phase"}, nil),
		waitingSince: prometheus.NewDesc(metricPrefix+"posts_waiting_since_timestamp_seconds",
			"The earliest time a post of the namespace still waiting to be sent (phase Pending or Queued) became due: "+
				"its spec.publishAt, or its creation when it has none; in seconds since the epoch, absent when none waits. "+
				"time() minus it is how overdue the oldest waiting post is. Read from the cache at scrape time.",
			[]string{labelNamespace}, nil),
	}
	accountStatus = &accountsCollector{
		ready: prometheus.NewDesc(metricPrefix+"account_ready",
			"1 when the account's Ready condition is True, 0 otherwise; reason is the Ready condition's reason "+
				"(empty before the operator first reconciles the account). Read from the cache at scrape time.",
			[]string{labelNamespace, labelAccount, "reason"}, nil),
		refreshExpiry: prometheus.NewDesc(metricPrefix+"refresh_token_expiration_timestamp_seconds",
			"When the account's refresh token expires (status.token.refreshTokenExpiresAt), in seconds since the "+
				"epoch; absent while unknown. Read from the cache at scrape time.",
			[]string{labelNamespace, labelAccount}, nil),
	}
	publishLatency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    metricPrefix + "publish_latency_seconds",
		Help:    "Time from a post's creation to TikTok's PUBLISH_COMPLETE (or SEND_TO_USER_INBOX).",
		Buckets: prometheus.ExponentialBuckets(1, 2, 18),
	})
	backoffSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    metricPrefix + "backoff_seconds",
		Help:    "The jittered delays chosen after failed attempts.",
		Buckets: prometheus.ExponentialBuckets(0.1, 2, 14),
	})
	statusWrites = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: metricPrefix + "status_writes_total",
		Help: "Status writes the operator made, by kind (the invariant bounded writes: a published post costs a handful).",
	}, []string{"kind"})
)

var registerOnce sync.Once

// postsCollector counts posts by phase when Prometheus scrapes, from the manager's cache: no state to
// keep in step with every transition, and no API call.
type postsCollector struct {
	desc, waitingSince *prometheus.Desc
	reader             atomic.Pointer[client.Reader]
}

func (c *postsCollector) set(r client.Reader) { c.reader.Store(&r) }

func (c *postsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc; ch <- c.waitingSince }

func (c *postsCollector) Collect(ch chan<- prometheus.Metric) {
	r := c.reader.Load()
	if r == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var list v1alpha1.TikTokPostList
	// Read-only: counting the cache's own objects, not copies of every post at every scrape.
	if err := (*r).List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		return
	}
	type k struct{ ns, phase string }
	counts := map[k]int{}
	waiting := map[string]time.Time{} // namespace -> earliest due time of a waiting post
	for i := range list.Items {
		post := &list.Items[i]
		p := post.Status.Phase
		if p == "" {
			p = v1alpha1.PhasePending
		}
		counts[k{post.Namespace, string(p)}]++
		if p == v1alpha1.PhasePending || p == v1alpha1.PhaseQueued {
			due := post.CreationTimestamp.Time
			if post.Spec.PublishAt != nil {
				due = post.Spec.PublishAt.Time
			}
			if earliest, ok := waiting[post.Namespace]; !ok || due.Before(earliest) {
				waiting[post.Namespace] = due
			}
		}
	}
	for key, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), key.ns, key.phase)
	}
	for ns, due := range waiting {
		ch <- prometheus.MustNewConstMetric(c.waitingSince, prometheus.GaugeValue, float64(due.Unix()), ns)
	}
}

// accountsCollector reports each AccountQuota's readiness and refresh-token expiry when Prometheus
// scrapes, from the manager's cache, like postsCollector: an account that cannot post (CredentialsInvalid,
// AccountBanned) shows at once, although its posts merely wait. Only the accounts of this manager's
// --account-selector are reported, so shards of one fleet never report an account twice.
type accountsCollector struct {
	ready, refreshExpiry *prometheus.Desc
	source               atomic.Pointer[accountsSource]
}

type accountsSource struct {
	reader   client.Reader
	selector labels.Selector
}

func (c *accountsCollector) set(r client.Reader, sel labels.Selector) {
	if sel == nil {
		sel = labels.Everything()
	}
	c.source.Store(&accountsSource{reader: r, selector: sel})
}

func (c *accountsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.ready
	ch <- c.refreshExpiry
}

func (c *accountsCollector) Collect(ch chan<- prometheus.Metric) {
	src := c.source.Load()
	if src == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var list v1alpha1.AccountQuotaList
	// Read-only, as in postsCollector.
	if err := src.reader.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		return
	}
	for i := range list.Items {
		aq := &list.Items[i]
		if !src.selector.Matches(labels.Set(aq.Labels)) {
			continue
		}
		value, reason := 0.0, ""
		if cond := meta.FindStatusCondition(aq.Status.Conditions, v1alpha1.ConditionReady); cond != nil {
			reason = cond.Reason
			if cond.Status == metav1.ConditionTrue {
				value = 1
			}
		}
		ch <- prometheus.MustNewConstMetric(c.ready, prometheus.GaugeValue, value, aq.Namespace, aq.Name, reason)
		if t := aq.Status.Token; t != nil && t.RefreshTokenExpiresAt != nil && !t.RefreshTokenExpiresAt.IsZero() {
			ch <- prometheus.MustNewConstMetric(c.refreshExpiry, prometheus.GaugeValue,
				float64(t.RefreshTokenExpiresAt.Unix()), aq.Namespace, aq.Name)
		}
	}
}

// operatorCollectors are every metric the operator exports (the tests check their names share metricPrefix).
func operatorCollectors() []prometheus.Collector {
	return []prometheus.Collector{apiRequests, apiDuration, rateLimited, quotas,
		postsByPhase, accountStatus, publishLatency, backoffSeconds, statusWrites}
}

// registerMetrics adds the metrics to controller-runtime's registry once per process (tests start
// several managers in one process).
func registerMetrics() {
	registerOnce.Do(func() {
		// Every endpoint's 429 counter exists from the start at 0, so the first 429 after a restart is an
		// increase() the rate-limit alert sees, not a series appearing at 1 (which increase() reads as 0).
		for _, ep := range tiktok.Endpoints {
			rateLimited.WithLabelValues(string(ep))
		}
		for _, c := range operatorCollectors() {
			if err := ctrlmetrics.Registry.Register(c); err != nil {
				var are prometheus.AlreadyRegisteredError
				if !errors.As(err, &are) {
					panic(err)
				}
			}
		}
	})
}

// observeCall is the TikTok client's hook: every exchange, failed ones included, lands in the metrics.
func observeCall(info tiktok.CallInfo) {
	ep := string(info.Endpoint)
	apiRequests.WithLabelValues(ep, callCode(info)).Inc()
	if !info.Answered.IsZero() && !info.Sent.IsZero() {
		apiDuration.WithLabelValues(ep).Observe(info.Answered.Sub(info.Sent).Seconds())
	}
	if info.Class == tiktok.RateLimited {
		rateLimited.WithLabelValues(ep).Inc()
	}
}

// quotaCollector reads every account's windows from the pacing engine when Prometheus scrapes, like
// postsCollector: the figures are exact at the scrape, and no account is reconciled merely to refresh
// them (with 1,000 accounts, refreshing gauges every AccountStatusInterval took 200 reconciles a
// second). A deleted account leaves the engine and so the metrics. Tests run several managers in one
// process, so there is one source per manager, dropped when the manager stops.
type quotaCollector struct {
	used, limit *prometheus.Desc

	mu      sync.Mutex
	sources map[*quotaSource]struct{}
}

// quotaSource is one manager's engine and the accounts it prepared.
type quotaSource struct {
	engine   *pacing.Engine
	accounts *accountRegistry
	now      func() time.Time
}

func (c *quotaCollector) add(s *quotaSource) {
	c.mu.Lock()
	c.sources[s] = struct{}{}
	c.mu.Unlock()
}

func (c *quotaCollector) remove(s *quotaSource) {
	c.mu.Lock()
	delete(c.sources, s)
	c.mu.Unlock()
}

func (c *quotaCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.used; ch <- c.limit }

func (c *quotaCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	sources := make([]*quotaSource, 0, len(c.sources))
	for s := range c.sources {
		sources = append(sources, s)
	}
	c.mu.Unlock()
	seen := map[accountKey]bool{} // two managers of one process never report the same series twice
	for _, s := range sources {
		now := s.now()
		for _, acct := range s.accounts.keys() {
			if seen[acct] {
				continue
			}
			seen[acct] = true
			ns, name := acct.Namespace(), acct.Name()
			for _, u := range s.engine.Usage(acct.engine(), now) {
				ch <- prometheus.MustNewConstMetric(c.used, prometheus.GaugeValue, float64(u.Used), ns, name, u.Name)
				ch <- prometheus.MustNewConstMetric(c.limit, prometheus.GaugeValue, float64(u.Effective), ns, name, u.Name)
			}
		}
	}
}

// quotaMetrics adds a manager's engine to the quota metrics while the manager runs.
type quotaMetrics struct{ src *quotaSource }

func (q quotaMetrics) Start(ctx context.Context) error {
	quotas.add(q.src)
	<-ctx.Done()
	quotas.remove(q.src)
	return nil
}

// NeedLeaderElection is false: a manager that does not lead has configured no account, and reports none.
func (quotaMetrics) NeedLeaderElection() bool { return false }
