package fleet

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
)

// ScaleSpec is one scale measurement: posts spread evenly over accounts, all created at once.
type ScaleSpec struct {
	Accounts, Posts int
	// MaxConcurrentReconciles is the manager's --max-concurrent-reconciles.
	MaxConcurrentReconciles int
	// Timeout bounds the wait for every post to be queued (and for every account to be ready).
	Timeout time.Duration
	// Quiet is how long the backlog is watched once queued, to measure the cost of merely waiting.
	Quiet time.Duration
	// Dir receives the manager's log.
	Dir string
}

// ScaleResult is what one measurement found.
type ScaleResult struct {
	Spec ScaleSpec
	// AccountsReady is the time from the manager's start until every AccountQuota was Ready (each after
	// its creator_info call).
	AccountsReady time.Duration
	// Queued is the time from the first post's create until every post was Queued with a
	// nextAttemptTime (or already past the queue: Publishing, Processing, Published).
	Queued time.Duration
	// CreateTook is how long the parallel creates took (inside Queued).
	CreateTook time.Duration
	// PeakRSS is the manager's VmHWM; PeakHeap the largest go_memstats_heap_inuse_bytes sampled.
	PeakRSS, PeakHeap int64
	// Requests are the API-server requests made while the posts were queued, the benchmark's own
	// creates and lists taken out; QuietRequests those made during the quiet period after.
	Requests, QuietRequests Requests
	// Published counts posts that got past the queue (each account's first, with one init per hour).
	Published int
}

// RequestsPerPost is the operator's API-server requests per post while queueing.
func (r ScaleResult) RequestsPerPost() float64 { return r.Requests.Total() / float64(r.Spec.Posts) }

// QuietRequestsPerPostMinute is the cost of a waiting backlog, per post per minute.
func (r ScaleResult) QuietRequestsPerPostMinute() float64 {
	return r.QuietRequests.Total() / float64(r.Spec.Posts) / r.Spec.Quiet.Minutes()
}

// RunScale creates spec.Accounts accounts (simulator creator, labelled Secret, AccountQuota with one
// post init per hour, so each account publishes one post and queues the rest), starts the manager
// binary on their namespace, waits for the accounts to be ready, creates spec.Posts posts at once and
// measures until every one is queued, then watches the quiet backlog.
func RunScale(ctx context.Context, cp *ControlPlane, managerBin string, spec ScaleSpec) (ScaleResult, error) {
	res := ScaleResult{Spec: spec}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "scale-"}}
	if err := cp.Client.Create(ctx, ns); err != nil {
		return res, fmt.Errorf("creating the namespace: %w", err)
	}
	lim := Limits{PostInit: 1, Window: time.Hour, MinInterval: 100 * time.Millisecond}
	sim := tiktoksim.New(SimConfig(lim))
	srv := httptest.NewServer(sim)
	defer srv.Close()
	acct := func(i int) string { return fmt.Sprintf("acct-%04d", i) }
	if err := Parallel(spec.Accounts, 32, func(i int) error {
		return CreateAccount(ctx, cp.Client, sim, srv.URL, ns.Name, acct(i), lim)
	}); err != nil {
		return res, err
	}

	port, err := freePort()
	if err != nil {
		return res, err
	}
	metricsURL := fmt.Sprintf("http://127.0.0.1:%d/metrics", port)
	m, err := StartManager(managerBin, cp.Kubeconfig, filepath.Join(spec.Dir, ns.Name+"-manager.log"),
		"--namespaces="+ns.Name, "--metrics-bind-address=127.0.0.1:"+strconv.Itoa(port), "--metrics-secure=false",
		"--health-probe-bind-address=0", "--max-concurrent-reconciles="+strconv.Itoa(spec.MaxConcurrentReconciles))
	if err != nil {
		return res, err
	}
	defer func() { _ = m.Stop() }()
	heap := &peak{}
	stopSampling := heap.sample(ctx, metricsURL)
	defer stopSampling()

	deadline := time.Now().Add(spec.Timeout)
	for {
		n, err := readyAccounts(ctx, cp.Client, ns.Name)
		if err != nil {
			return res, err
		}
		if n == spec.Accounts {
			break
		}
		if time.Now().After(deadline) {
			return res, fmt.Errorf("%d of %d accounts ready after %s", n, spec.Accounts, spec.Timeout)
		}
		time.Sleep(500 * time.Millisecond)
	}
	res.AccountsReady = time.Since(m.Started)

	before, err := cp.APIServerRequests(ctx)
	if err != nil {
		return res, err
	}
	t0 := time.Now()
	if err := Parallel(spec.Posts, 64, func(i int) error {
		a := i % spec.Accounts
		return cp.Client.Create(ctx, Post(ns.Name, fmt.Sprintf("%s-%04d", acct(a), i/spec.Accounts), acct(a)))
	}); err != nil {
		return res, fmt.Errorf("creating posts: %w", err)
	}
	res.CreateTook = time.Since(t0)
	lists := 0
	deadline = t0.Add(spec.Timeout)
	for {
		queued, published, err := queuedPosts(ctx, cp.Client, ns.Name)
		lists++
		if err != nil {
			return res, err
		}
		if queued == spec.Posts {
			res.Queued, res.Published = time.Since(t0), published
			break
		}
		if time.Now().After(deadline) {
			return res, fmt.Errorf("%d of %d posts queued after %s", queued, spec.Posts, spec.Timeout)
		}
		time.Sleep(time.Second)
	}
	after, err := cp.APIServerRequests(ctx)
	if err != nil {
		return res, err
	}
	res.Requests = after.Sub(before)
	res.Requests["POST tiktokposts"] -= float64(spec.Posts) // the benchmark's own creates
	res.Requests["LIST tiktokposts"] -= float64(lists)      // and its own polls
	clean(res.Requests)

	time.Sleep(spec.Quiet)
	quiet, err := cp.APIServerRequests(ctx)
	if err != nil {
		return res, err
	}
	res.QuietRequests = quiet.Sub(after)
	if res.PeakRSS, err = m.PeakRSS(); err != nil {
		return res, err
	}
	stopSampling()
	if res.PeakHeap = heap.max(); res.PeakHeap == 0 {
		return res, fmt.Errorf("never read go_memstats_heap_inuse_bytes from %s: %v", metricsURL, heap.lastErr())
	}
	return res, nil
}

func clean(r Requests) {
	for k, v := range r {
		if v == 0 {
			delete(r, k)
		}
	}
}

func readyAccounts(ctx context.Context, c client.Client, ns string) (int, error) {
	var l v1alpha1.AccountQuotaList
	if err := c.List(ctx, &l, client.InNamespace(ns)); err != nil {
		return 0, fmt.Errorf("listing accounts: %w", err)
	}
	n := 0
	for i := range l.Items {
		if meta.IsStatusConditionTrue(l.Items[i].Status.Conditions, v1alpha1.ConditionReady) && l.Items[i].Status.Creator != nil {
			n++
		}
	}
	return n, nil
}

// queuedPosts counts posts Queued with a nextAttemptTime, or past the queue.
func queuedPosts(ctx context.Context, c client.Client, ns string) (queued, published int, err error) {
	var l v1alpha1.TikTokPostList
	if err := c.List(ctx, &l, client.InNamespace(ns)); err != nil {
		return 0, 0, fmt.Errorf("listing posts: %w", err)
	}
	for i := range l.Items {
		st := l.Items[i].Status
		switch st.Phase {
		case v1alpha1.PhaseQueued:
			if st.NextAttemptTime != nil {
				queued++
			}
		case v1alpha1.PhasePublishing, v1alpha1.PhaseProcessing, v1alpha1.PhasePublished:
			queued++
			published++
		}
	}
	return queued, published, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// peak samples the manager's heap every 500 ms and keeps the largest value.
type peak struct {
	mu   sync.Mutex
	v    int64
	err  error
	once sync.Once
}

func (p *peak) sample(ctx context.Context, url string) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			v, err := GaugeFromURL(ctx, url, "go_memstats_heap_inuse_bytes")
			p.mu.Lock()
			if err == nil && int64(v) > p.v {
				p.v = int64(v)
			}
			if err != nil && ctx.Err() == nil {
				p.err = err
			}
			p.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() { p.once.Do(func() { cancel(); <-done }) }
}

func (p *peak) max() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.v
}

func (p *peak) lastErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}
