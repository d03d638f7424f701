package fleet

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"path/filepath"
	"strconv"
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
	// CreateWorkers is how many creates are in flight at once (64 when zero).
	CreateWorkers int
	// Timeout bounds the wait for every post to be queued (and for every account to be ready).
	Timeout time.Duration
	// Quiet is how long the backlog is watched once queued, to measure the cost of merely waiting.
	Quiet time.Duration
	// Dir receives the manager's log.
	Dir string
	// Profile, when positive, takes CPU profiles of the kube-apiserver and the manager over the first
	// Profile of the queueing phase and writes them into Dir.
	Profile time.Duration
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
	// CPU is the CPU time each process used while the posts were queued.
	CPU CPUTimes
	// Progress is how many posts were queued at each 5 s sample after the first create (until all
	// were), and Backlog the depth of the manager's post work queue at the same times (-1: not read).
	Progress, Backlog []int
	// Reconciles is how many reconciles each controller ran from the manager's start until every post was
	// queued (controller_runtime_reconcile_total; nil when not read).
	Reconciles map[string]int
	// WatchLists is how many times the program's informer listed the posts (1 unless its watch fell
	// too far behind); Watches how many watches it started (more than 1 when the API server ended one,
	// as it does with a watcher that does not keep up).
	WatchLists, Watches int
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
	args := []string{"--namespaces=" + ns.Name, "--allowed-endpoints=" + srv.URL, "--metrics-bind-address=127.0.0.1:" + strconv.Itoa(port),
		"--metrics-secure=false", "--health-probe-bind-address=0",
		"--max-concurrent-reconciles=" + strconv.Itoa(spec.MaxConcurrentReconciles)}
	pprofPort := 0
	if spec.Profile > 0 {
		if pprofPort, err = freePort(); err != nil {
			return res, err
		}
		args = append(args, "--pprof-bind-address=127.0.0.1:"+strconv.Itoa(pprofPort))
	}
	m, err := StartManager(managerBin, cp.Kubeconfig, filepath.Join(spec.Dir, ns.Name+"-manager.log"), args...)
	if err != nil {
		return res, err
	}
	defer func() { _ = m.Stop() }()
	samples := startSampler(ctx, metricsURL)
	defer samples.stop()

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
	cpuBefore, err := ReadCPU(m.PID())
	if err != nil {
		return res, err
	}
	profiled := startProfiles(ctx, cp, spec, ns.Name, pprofPort)
	// The posts are followed with an informer (not by listing them all again and again, which would
	// cost the API server more than the operator's own writes do).
	qw, err := watchQueued(ctx, cp, ns.Name, spec.Posts)
	if err != nil {
		return res, err
	}
	defer qw.stop()
	t0 := time.Now()
	samples.follow(qw)
	if spec.CreateWorkers <= 0 {
		spec.CreateWorkers = 64
	}
	if err := Parallel(spec.Posts, spec.CreateWorkers, func(i int) error {
		a := i % spec.Accounts
		return cp.Client.Create(ctx, Post(ns.Name, fmt.Sprintf("%s-%04d", acct(a), i/spec.Accounts), acct(a)))
	}); err != nil {
		return res, fmt.Errorf("creating posts: %w", err)
	}
	res.CreateTook = time.Since(t0)
	select {
	case <-qw.allQueued:
		_, published := qw.counts()
		res.Queued, res.Published = qw.at.Sub(t0), published
		res.Progress, res.Backlog = samples.progress()
		res.Reconciles = reconciles(ctx, metricsURL)
	case err := <-qw.failed:
		return res, err
	case <-time.After(time.Until(t0.Add(spec.Timeout))):
		q, _ := qw.counts()
		return res, fmt.Errorf("%d of %d posts queued after %s", q, spec.Posts, spec.Timeout)
	}
	cpuAfter, err := ReadCPU(m.PID())
	if err != nil {
		return res, err
	}
	res.CPU = cpuAfter.Sub(cpuBefore)
	if spec.Profile > 0 {
		for range 2 {
			if err := <-profiled; err != nil {
				return res, err
			}
		}
	}
	after, err := cp.APIServerRequests(ctx)
	if err != nil {
		return res, err
	}
	res.Requests = after.Sub(before)
	res.Requests["POST tiktokposts"] -= float64(spec.Posts) // the benchmark's own creates
	qw.stop()
	res.WatchLists, res.Watches = int(qw.requests.lists.Load()), int(qw.requests.watches.Load())
	res.Requests["LIST tiktokposts"] -= float64(res.WatchLists) // and its informer's lists and watches
	res.Requests["WATCH tiktokposts"] -= float64(res.Watches)
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
	samples.stop()
	if res.PeakHeap = samples.peakHeap(); res.PeakHeap == 0 {
		return res, fmt.Errorf("never read go_memstats_heap_inuse_bytes from %s: %v", metricsURL, samples.lastErr())
	}
	return res, nil
}

// startProfiles starts the CPU profiles of the kube-apiserver and the manager when spec asks for them;
// each sends its outcome on the channel returned.
func startProfiles(ctx context.Context, cp *ControlPlane, spec ScaleSpec, ns string, pprofPort int) chan error {
	profiled := make(chan error, 2)
	if spec.Profile <= 0 {
		return profiled
	}
	go func() {
		profiled <- cp.ProfileAPIServer(ctx, spec.Profile, filepath.Join(spec.Dir, ns+"-apiserver.pprof"))
	}()
	go func() {
		url := fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/profile?seconds=%d", pprofPort, int(spec.Profile.Seconds()))
		profiled <- saveURL(ctx, url, filepath.Join(spec.Dir, ns+"-manager.pprof"))
	}()
	return profiled
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

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// reconciles reads controller_runtime_reconcile_total per controller from the manager's metrics (nil if
// it cannot: the figure is informative, the run does not depend on it).
func reconciles(ctx context.Context, url string) map[string]int {
	body, err := fetch(ctx, url)
	if err != nil {
		return nil
	}
	out := map[string]int{}
	for _, c := range []string{"tiktokpost", "accountquota"} {
		if v, err := sum(body, "controller_runtime_reconcile_total", `controller="`+c+`"`); err == nil {
			out[c] = int(v)
		}
	}
	return out
}
