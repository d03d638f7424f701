package controllers

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"

	"github.com/tiktok-operator/tiktok-operator/internal/tiktok"
)

// The operator's metrics, on controller-runtime's registry (served with its own at /metrics). Labels
// never carry a token or a post's content: endpoint and code are TikTok's fixed vocabularies, namespace
// and account are object names.
// Label names.
const (
	labelEndpoint  = "endpoint"
	labelNamespace = "namespace"
	labelAccount   = "account"
)

var (
	apiRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tiktok_api_requests_total",
		Help: "Calls to TikTok, by endpoint and answer code (ok, a TikTok error code, http_NNN, or transport).",
	}, []string{labelEndpoint, "code"})
	apiDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "tiktok_api_request_duration_seconds",
		Help:    "Time from sending a call to TikTok to its answer.",
		Buckets: prometheus.ExponentialBuckets(0.01, 2, 12),
	}, []string{labelEndpoint})
	rateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tiktok_rate_limited_total",
		Help: "Calls TikTok answered with a rate limit (429 / rate_limit_exceeded): each is a sign the pacing model was wrong.",
	}, []string{labelEndpoint})
	quotaUsed = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "tiktok_quota_used",
		Help: "Calls counted in the current window of each limit of an account.",
	}, []string{labelNamespace, labelAccount, "limit"})
	quotaLimit = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "tiktok_quota_limit",
		Help: "The effective limit of each window of an account (below the configured one while adapting after a 429).",
	}, []string{labelNamespace, labelAccount, "limit"})
	postsByPhase = &postsCollector{desc: prometheus.NewDesc("tiktok_posts",
		"TikTokPosts by namespace and phase (counted from the cache at scrape time).", []string{labelNamespace, "phase"}, nil)}
	publishLatency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "tiktok_publish_latency_seconds",
		Help:    "Time from a post's creation to TikTok's PUBLISH_COMPLETE (or SEND_TO_USER_INBOX).",
		Buckets: prometheus.ExponentialBuckets(1, 2, 18),
	})
	backoffSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "tiktok_backoff_seconds",
		Help:    "The jittered delays chosen after failed attempts.",
		Buckets: prometheus.ExponentialBuckets(0.1, 2, 14),
	})
	statusWrites = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tiktok_operator_status_writes_total",
		Help: "Status writes the operator made, by kind (invariant 5: a published post costs a handful).",
	}, []string{"kind"})
)

var registerOnce sync.Once

// postsCollector counts posts by phase when Prometheus scrapes, from the manager's cache: no state to
// keep in step with every transition, and no API call.
type postsCollector struct {
	desc   *prometheus.Desc
	reader atomic.Pointer[client.Reader]
}

func (c *postsCollector) set(r client.Reader) { c.reader.Store(&r) }

func (c *postsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

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
	for i := range list.Items {
		p := string(list.Items[i].Status.Phase)
		if p == "" {
			p = string(v1alpha1.PhasePending)
		}
		counts[k{list.Items[i].Namespace, p}]++
	}
	for key, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), key.ns, key.phase)
	}
}

// registerMetrics adds the metrics to controller-runtime's registry once per process (tests start
// several managers in one process).
func registerMetrics() {
	registerOnce.Do(func() {
		for _, c := range []prometheus.Collector{apiRequests, apiDuration, rateLimited, quotaUsed, quotaLimit,
			postsByPhase, publishLatency, backoffSeconds, statusWrites} {
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

// callCode is a bounded label value: TikTok's code, "ok", or the HTTP status / transport failure.
func callCode(info tiktok.CallInfo) string {
	switch {
	case info.Code != "":
		return truncate(info.Code, 64)
	case info.HTTPStatus == 0:
		return "transport"
	case info.HTTPStatus >= 200 && info.HTTPStatus < 300:
		return "ok"
	default:
		return "http_" + strconv.Itoa(info.HTTPStatus)
	}
}

// deleteQuotaMetrics drops a deleted account's series.
func deleteQuotaMetrics(namespace, account string) {
	quotaUsed.DeletePartialMatch(prometheus.Labels{labelNamespace: namespace, labelAccount: account})
	quotaLimit.DeletePartialMatch(prometheus.Labels{labelNamespace: namespace, labelAccount: account})
}
