/*
Copyright 2026 The tiktok-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package fleet

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
)

// How the first manager of a failover measurement ends.
const (
	// StopClean is SIGTERM: the manager drains its reconciles and releases its per-account Leases.
	StopClean = "clean"
	// StopKill is SIGKILL, and the new manager is another pod (a new name): nothing is released; the
	// Leases lapse after their duration.
	StopKill = "kill"
	// StopRestart is SIGKILL, and the new manager is the same pod's container restarted (OOMKilled, a
	// failed liveness probe): both run with one --identity-file, so the new one takes its dead
	// predecessor's name and Leases over at once.
	StopRestart = "restart"
)

// FailoverSpec is one failover measurement: a manager queues Posts posts over Accounts accounts, is
// stopped (Stop), and a new manager (a new identity, as a restarted pod or a new leader has) takes over.
type FailoverSpec struct {
	Accounts, Posts int
	// Stop is StopClean or StopKill.
	Stop string
	// MaxConcurrentReconciles is the managers' --max-concurrent-reconciles.
	MaxConcurrentReconciles int
	// Timeout bounds each phase (accounts ready, all queued, the new manager's inits).
	Timeout time.Duration
	// Dir receives the managers' logs.
	Dir string
	// Profile, when positive, CPU-profiles the new manager over its first Profile (file in Dir).
	Profile time.Duration
}

// FailoverResult is what one failover measurement found. Every duration of the new manager is counted
// from the moment its process was started.
type FailoverResult struct {
	Spec FailoverSpec
	// Queued is how long the first manager took to queue every post (from the first create).
	Queued time.Duration
	// Stopped is how long the first manager took to end once signalled.
	Stopped time.Duration
	// Started is when the new manager logged "starting manager" (flags parsed, the manager built: its
	// Start begins); SourcesStarted its first "Starting EventSource" (controller-runtime starts the
	// controllers once the manager's caches, whose informers the controllers' indexes and watches created
	// at set-up, have synced: this is the cache sync); PostsSynced and AccountsSynced its "Starting
	// workers" of the post and AccountQuota controllers (their sources synced too: the workers start).
	Started, SourcesStarted, PostsSynced, AccountsSynced time.Duration
	// LeadAsked and Leading are when the new manager began to ask for the leader-election Lease and when
	// it got it (controller-runtime starts the controllers once it leads; the caches sync meanwhile).
	LeadAsked, Leading time.Duration
	// FirstInit is the new manager's first accepted init (the simulator's timestamp); AllInits the last
	// of the first init of every account (each account had one slot free).
	FirstInit, AllInits time.Duration
	// Inits counts the accounts that made their init before the timeout.
	Inits int
}

// CacheSyncShare is the part of the time to the first init spent from the manager's Start to its post
// workers' start, less the wait for the leader-election Lease: the caches' lists and sync (controller-
// runtime starts no controller before them; they sync while the manager waits to lead).
func (r FailoverResult) CacheSyncShare() float64 {
	if r.FirstInit <= 0 || r.PostsSynced <= 0 {
		return math.NaN()
	}
	return float64(r.PostsSynced-r.Started-r.LeaderWait()) / float64(r.FirstInit)
}

// LeaderWait is how long the new manager waited for the leader-election Lease.
func (r FailoverResult) LeaderWait() time.Duration {
	if r.Leading <= 0 || r.LeadAsked <= 0 {
		return 0
	}
	return r.Leading - r.LeadAsked
}

// failoverWindow is the accounts' post-init window: one init per account per window, so the first
// manager publishes each account's first post and queues the rest with the head due within the window.
// It is below ten account-lease durations (10 x 30 s), so the first manager holds the Leases with the
// short duration (30 s) a backlog due soon gets, not the long one of a backlog that merely waits.
const failoverWindow = 4 * time.Minute

// RunFailover measures how long a new manager takes from its start to its first init with a backlog of
// spec.Posts queued posts. The first manager queues them (one init per account per failoverWindow: each
// account publishes one post), then is stopped (spec.Stop); while no manager runs, every AccountQuota's
// post-init limit is raised from 1 to 2 a window, so each account has a slot free the moment a manager
// takes it over. Then the new manager starts and the simulator's record says when its inits came.
func RunFailover(ctx context.Context, cp *ControlPlane, managerBin string, spec FailoverSpec) (FailoverResult, error) {
	res := FailoverResult{Spec: spec}
	if spec.Stop != StopClean && spec.Stop != StopKill && spec.Stop != StopRestart {
		return res, fmt.Errorf("failover: stop %q is not %q, %q or %q", spec.Stop, StopClean, StopKill, StopRestart)
	}
	ns, err := newNamespace(ctx, cp, "failover-")
	if err != nil {
		return res, err
	}
	lim := Limits{PostInit: 1, Window: failoverWindow, MinInterval: 100 * time.Millisecond}
	// The simulator allows far more than the AccountQuotas say: the measurement is of the operator's
	// start, never of a refusal.
	sim := tiktoksim.New(SimConfig(Limits{PostInit: 100, Window: failoverWindow}))
	srv := httptest.NewServer(sim)
	defer srv.Close()
	acct := func(i int) string { return fmt.Sprintf("acct-%04d", i) }
	if err := Parallel(spec.Accounts, 32, func(i int) error {
		return CreateAccount(ctx, cp.Client, sim, srv.URL, ns, acct(i), lim)
	}); err != nil {
		return res, err
	}
	args := failoverArgs(spec, ns, srv.URL)

	first, err := StartManager(managerBin, cp.Kubeconfig, filepath.Join(spec.Dir, ns+"-first.log"), args...)
	if err != nil {
		return res, err
	}
	defer func() { _ = first.Stop() }()
	if err := waitReady(ctx, cp, ns, spec.Accounts, spec.Timeout); err != nil {
		return res, err
	}
	qw, err := watchQueued(ctx, cp, ns, spec.Posts)
	if err != nil {
		return res, err
	}
	defer qw.stop()
	t0 := time.Now()
	if err := Parallel(spec.Posts, 64, func(i int) error {
		a := i % spec.Accounts
		return cp.Client.Create(ctx, Post(ns, fmt.Sprintf("%s-%04d", acct(a), i/spec.Accounts), acct(a)))
	}); err != nil {
		return res, fmt.Errorf("creating posts: %w", err)
	}
	select {
	case <-qw.allQueued:
		res.Queued = qw.at.Sub(t0)
	case err := <-qw.failed:
		return res, err
	case <-time.After(time.Until(t0.Add(spec.Timeout))):
		q, _ := qw.counts()
		return res, fmt.Errorf("%d of %d posts queued after %s", q, spec.Posts, spec.Timeout)
	}
	qw.stop()
	// Every account's first post was accepted before the stop (the window's one slot), so that what
	// the new manager sends is the second.
	if err := waitInits(ctx, sim, spec.Accounts, time.Time{}, spec.Timeout); err != nil {
		return res, fmt.Errorf("before the stop: %w", err)
	}

	stopAt := time.Now()
	if spec.Stop == StopKill || spec.Stop == StopRestart {
		_, err = first.Kill()
	} else {
		err = first.Stop()
	}
	if err != nil {
		return res, err
	}
	res.Stopped = time.Since(stopAt)
	if err := Parallel(spec.Accounts, 32, func(i int) error {
		return raisePostInit(ctx, cp.Client, ns, acct(i), 2)
	}); err != nil {
		return res, err
	}

	pprofPort := 0
	if spec.Profile > 0 {
		if pprofPort, err = freePort(); err != nil {
			return res, err
		}
		args = append(args, "--pprof-bind-address=127.0.0.1:"+strconv.Itoa(pprofPort))
	}
	logPath := filepath.Join(spec.Dir, ns+"-second.log")
	second, err := StartManager(managerBin, cp.Kubeconfig, logPath, args...)
	if err != nil {
		return res, err
	}
	defer func() { _ = second.Stop() }()
	profiled := make(chan error, 1)
	if spec.Profile > 0 {
		go func() {
			url := fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/profile?seconds=%d", pprofPort, int(spec.Profile.Seconds()))
			time.Sleep(300 * time.Millisecond) // the pprof listener starts with the manager
			profiled <- saveURL(ctx, url, filepath.Join(spec.Dir, ns+"-second.pprof"))
		}()
	}
	since := second.Started
	times, err := initsAfter(ctx, sim, spec.Accounts, since, spec.Timeout)
	if err != nil {
		return res, err
	}
	res.Inits = len(times)
	for _, t := range times {
		d := t.Sub(since)
		if res.FirstInit == 0 || d < res.FirstInit {
			res.FirstInit = d
		}
		res.AllInits = max(res.AllInits, d)
	}
	if spec.Profile > 0 {
		if err := <-profiled; err != nil {
			return res, err
		}
	}
	if err := second.Stop(); err != nil {
		return res, err
	}
	if err := readMilestones(logPath, since, &res); err != nil {
		return res, err
	}
	return res, nil
}

// failoverArgs are both managers' flags: leader election on, as the chart has it (the new manager must
// lead before it acts), and for StopRestart one identity file, as the chart's emptyDir gives a restarted
// container.
func failoverArgs(spec FailoverSpec, ns, simURL string) []string {
	args := []string{"--namespaces=" + ns, "--allowed-endpoints=" + simURL, "--metrics-bind-address=0",
		"--health-probe-bind-address=0", "--zap-time-encoding=rfc3339nano",
		"--max-concurrent-reconciles=" + strconv.Itoa(spec.MaxConcurrentReconciles),
		"--leader-elect", "--leader-election-namespace=" + ns, "--leader-election-id=failover"}
	if spec.Stop == StopRestart {
		args = append(args, "--identity-file="+filepath.Join(spec.Dir, ns+".identity"))
	}
	return args
}

func newNamespace(ctx context.Context, cp *ControlPlane, prefix string) (string, error) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix}}
	if err := cp.Client.Create(ctx, ns); err != nil {
		return "", fmt.Errorf("creating the namespace: %w", err)
	}
	return ns.Name, nil
}

func waitReady(ctx context.Context, cp *ControlPlane, ns string, want int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		n, err := readyAccounts(ctx, cp.Client, ns)
		if err != nil {
			return err
		}
		if n == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d accounts ready after %s", n, want, timeout)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// raisePostInit sets the AccountQuota's post-init limit to n a window.
func raisePostInit(ctx context.Context, c client.Client, ns, name string, n int32) error {
	var aq v1alpha1.AccountQuota
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &aq); err != nil {
		return fmt.Errorf("reading AccountQuota %s: %w", name, err)
	}
	patch := client.MergeFrom(aq.DeepCopy())
	aq.Spec.Limits.PostInit.Requests = n
	if err := c.Patch(ctx, &aq, patch); err != nil {
		return fmt.Errorf("raising the post-init limit of %s: %w", name, err)
	}
	return nil
}

// waitInits waits until want accounts have an accepted init after since.
func waitInits(ctx context.Context, sim *tiktoksim.Server, want int, since time.Time, timeout time.Duration) error {
	_, err := initsAfter(ctx, sim, want, since, timeout)
	return err
}

// initsAfter polls the simulator until want accounts have an accepted init after since, or timeout
// passes (then it returns what it has and no error, unless there is none at all), and returns each
// account's first such init.
func initsAfter(ctx context.Context, sim *tiktoksim.Server, want int, since time.Time,
	timeout time.Duration) (map[string]time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		first := map[string]time.Time{}
		for _, p := range sim.Posts() {
			if !p.Time.After(since) {
				continue
			}
			if t, ok := first[p.Account]; !ok || p.Time.Before(t) {
				first[p.Account] = p.Time
			}
		}
		if len(first) >= want {
			return first, nil
		}
		if time.Now().After(deadline) {
			if len(first) == 0 {
				return nil, fmt.Errorf("no init after %s within %s", since.Format(time.RFC3339Nano), timeout)
			}
			return first, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// logLine is what readMilestones reads of the manager's JSON log (ts in RFC 3339 with nanoseconds:
// the managers run with --zap-time-encoding=rfc3339nano).
type logLine struct {
	TS         string `json:"ts"`
	Msg        string `json:"msg"`
	Controller string `json:"controller"`
}

// readMilestones finds the manager's start-up milestones in its log, as durations since since.
func readMilestones(path string, since time.Time, r *FailoverResult) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("reading the manager's log: %w", err)
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var ts time.Time
	at := func(logLine) time.Duration { return ts.Sub(since) }
	for sc.Scan() {
		var l logLine
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			continue
		}
		if ts, err = time.Parse(time.RFC3339Nano, l.TS); err != nil {
			continue
		}
		switch {
		case l.Msg == "starting manager" && r.Started == 0: // logged just before mgr.Start
			r.Started = at(l)
		case l.Msg == "Attempting to acquire leader lease..." && r.LeadAsked == 0:
			r.LeadAsked = at(l)
		case l.Msg == "Successfully acquired lease" && r.Leading == 0:
			r.Leading = at(l)
		case l.Msg == "Starting EventSource" && r.SourcesStarted == 0:
			r.SourcesStarted = at(l)
		case l.Msg == "Starting workers" && l.Controller == "tiktokpost":
			r.PostsSynced = at(l)
		case l.Msg == "Starting workers" && l.Controller == "accountquota":
			r.AccountsSynced = at(l)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading the manager's log: %w", err)
	}
	if r.SourcesStarted == 0 || r.PostsSynced == 0 {
		return fmt.Errorf("no \"Starting EventSource\" / \"Starting workers\" (tiktokpost) line in %s", path)
	}
	return nil
}
