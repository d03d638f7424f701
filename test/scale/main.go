// Command scale measures the operator at scale on the test control plane: for each size it creates
// posts spread over accounts (10 per account) all at once, and reports the time until every post is
// queued with a nextAttemptTime, the manager's peak RSS and Go heap, and the API-server requests per
// post while queueing and while the backlog merely waits. Then (-failover) it measures how long a new
// manager takes from its start to its first init with 1,000 and 10,000 posts queued, after the first one
// was stopped cleanly and after it was killed. With -floor it measures instead what the API
// server itself costs per create and per status write, without the operator. `make bench-scale` runs
// it; docs/scale.md holds the figures.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tiktok-operator/tiktok-operator/test/scale/fleet"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
}

func run() error {
	sizes := flag.String("sizes", "1000,5000,10000", "comma-separated post counts, one measurement each")
	perAccount := flag.Int("posts-per-account", 10, "posts per account (accounts = posts / this)")
	createWorkers := flag.Int("create-workers", 64, "how many of the program's creates are in flight at once")
	concurrent := flag.Int("max-concurrent-reconciles", 4, "the manager's --max-concurrent-reconciles")
	timeout := flag.Duration("timeout", 5*time.Minute, "give up on a size after this long")
	quiet := flag.Duration("quiet", 30*time.Second, "how long to watch the queued backlog")
	profile := flag.Duration("profile", 0, "when set, CPU-profile the kube-apiserver and the manager over "+
		"this much of the queueing phase (files in the run's directory)")
	shared := flag.Bool("shared-control-plane", false, "measure every size on one control plane (the later "+
		"sizes then start with the earlier sizes' objects in etcd and the API server's watch cache) instead "+
		"of a fresh one each")
	floor := flag.Int("floor", 0, "instead of the sizes: measure the API server's own cost per create and per "+
		"status write without the operator, in rounds of this many posts (alternating status writes with and "+
		"without managedFields)")
	floorRounds := flag.Int("floor-rounds", 4, "rounds of -floor")
	failover := flag.String("failover", "1000,10000", "after the sizes: comma-separated post counts at which to measure "+
		"a new manager's start to its first init, once per -failover-stops (empty: none)")
	failoverStops := flag.String("failover-stops", fleet.StopClean+","+fleet.StopRestart+","+fleet.StopKill, "how the first manager of a "+
		"failover measurement ends: clean (SIGTERM, Leases released), restart (SIGKILL, the same pod restarted: one --identity-file) "+
		"and/or kill (SIGKILL, a new pod)")
	failoverProfile := flag.Duration("failover-profile", 0, "when set, CPU-profile the new manager of each failover "+
		"measurement over this much of its start (file in the run's directory)")
	flag.Parse()

	dir, err := os.MkdirTemp("", "scale-")
	if err != nil {
		return fmt.Errorf("making a temp dir: %w", err)
	}
	if *floor > 0 {
		return runFloor(dir, *floor, *floorRounds)
	}
	fmt.Printf("manager logs in %s\n", dir)
	bin, err := fleet.BuildManager(dir)
	if err != nil {
		return err
	}
	// Each size gets a fresh kube-apiserver and etcd unless -shared-control-plane: a size is measured
	// on its own, not after the smaller sizes' thousands of objects.
	var cp *fleet.ControlPlane
	stopCP := func() {
		if cp != nil {
			_ = cp.Stop()
			cp = nil
		}
	}
	defer stopCP()

	var results []fleet.ScaleResult
	for _, s := range splitList(*sizes) {
		posts, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || posts < *perAccount {
			return fmt.Errorf("bad size %q", s)
		}
		spec := fleet.ScaleSpec{Accounts: posts / *perAccount, Posts: posts, MaxConcurrentReconciles: *concurrent, CreateWorkers: *createWorkers,
			Timeout: *timeout, Quiet: *quiet, Dir: dir, Profile: *profile}
		if cp == nil || !*shared {
			stopCP()
			if cp, err = fleet.StartControlPlane(dir); err != nil {
				return err
			}
		}
		fmt.Printf("measuring %d posts over %d accounts...\n", spec.Posts, spec.Accounts)
		r, err := fleet.RunScale(context.Background(), cp, bin, spec)
		if err != nil {
			return fmt.Errorf("%d posts: %w", posts, err)
		}
		report(r)
		results = append(results, r)
	}
	if len(results) > 0 {
		printScale(results)
	}
	var fos []fleet.FailoverResult
	for _, s := range splitList(*failover) {
		posts, err := strconv.Atoi(s)
		if err != nil || posts < *perAccount {
			return fmt.Errorf("bad -failover size %q", s)
		}
		for _, stop := range splitList(*failoverStops) {
			spec := fleet.FailoverSpec{Accounts: posts / *perAccount, Posts: posts, Stop: stop, MaxConcurrentReconciles: *concurrent,
				Timeout: *timeout, Dir: dir, Profile: *failoverProfile}
			stopCP()
			if cp, err = fleet.StartControlPlane(dir); err != nil {
				return err
			}
			fmt.Printf("failover, %s stop, %d posts over %d accounts...\n", stop, spec.Posts, spec.Accounts)
			r, err := fleet.RunFailover(context.Background(), cp, bin, spec)
			if err != nil {
				return fmt.Errorf("failover at %d posts (%s): %w", posts, stop, err)
			}
			fmt.Printf("  first manager: queued in %s, stopped in %s; new manager: starting %s, leading %s (waited %s), "+
				"informers %s, posts synced %s, accounts synced %s, first init %s, every account's init %s (%d accounts)\n",
				r.Queued.Round(time.Millisecond), r.Stopped.Round(time.Millisecond), r.Started.Round(time.Millisecond),
				r.Leading.Round(time.Millisecond), r.LeaderWait().Round(time.Millisecond), r.SourcesStarted.Round(time.Millisecond),
				r.PostsSynced.Round(time.Millisecond),
				r.AccountsSynced.Round(time.Millisecond), r.FirstInit.Round(time.Millisecond), r.AllInits.Round(time.Millisecond), r.Inits)
			fos = append(fos, r)
		}
	}
	if len(fos) > 0 {
		printFailover(fos)
	}
	return nil
}

// splitList splits a comma-separated flag value, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// printFailover prints the failover measurements as a markdown table; every time is from the new
// manager's process start.
func printFailover(rs []fleet.FailoverResult) {
	fmt.Println()
	fmt.Println("| posts queued | accounts | first manager stopped by | manager started | leading (waited) | caches synced, " +
		"controllers started | post workers started | first init | cache sync share of it | every account's init |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rs {
		fmt.Printf("| %d | %d | %s | %.2f s | %.2f s (%.2f s) | %.2f s | %.2f s | %.2f s | %.0f%% | %.2f s (%d) |\n", r.Spec.Posts,
			r.Spec.Accounts, r.Spec.Stop, r.Started.Seconds(), r.Leading.Seconds(), r.LeaderWait().Seconds(),
			r.SourcesStarted.Seconds(), r.PostsSynced.Seconds(), r.FirstInit.Seconds(), 100*r.CacheSyncShare(),
			r.AllInits.Seconds(), r.Inits)
	}
}

func printScale(results []fleet.ScaleResult) {
	fmt.Println()
	fmt.Println("| posts | accounts | accounts ready | all queued | creates took | peak RSS | peak heap | " +
		"requests/post (queueing) | requests/post/min (waiting) |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|")
	for _, r := range results {
		fmt.Printf("| %d | %d | %.1f s | %.1f s | %.1f s | %.0f MiB | %.0f MiB | %.2f | %.3f |\n",
			r.Spec.Posts, r.Spec.Accounts, r.AccountsReady.Seconds(), r.Queued.Seconds(), r.CreateTook.Seconds(),
			mib(r.PeakRSS), mib(r.PeakHeap), r.RequestsPerPost(), r.QuietRequestsPerPostMinute())
	}
}

func report(r fleet.ScaleResult) {
	fmt.Printf("  accounts ready %s, all queued %s (creates %s), %d past the queue\n",
		r.AccountsReady.Round(time.Millisecond), r.Queued.Round(time.Millisecond), r.CreateTook.Round(time.Millisecond), r.Published)
	fmt.Printf("  peak RSS %.1f MiB, peak heap in use %.1f MiB\n", mib(r.PeakRSS), mib(r.PeakHeap))
	fmt.Printf("  API-server requests while queueing: %.0f (%.2f per post)\n", r.Requests.Total(), r.RequestsPerPost())
	printRequests(r.Requests)
	fmt.Printf("  queued every 5 s: %v\n", r.Progress)
	fmt.Printf("  the manager's post work queue then: %v\n", r.Backlog)
	fmt.Printf("  reconciles until all were queued: %v\n", r.Reconciles)
	fmt.Printf("  the program's informer sent %d list(s) and %d watch(es) of the posts (its first list may be a watch)\n",
		r.WatchLists, r.Watches)
	fmt.Printf("  CPU while queueing:")
	for _, k := range []string{"kube-apiserver", "etcd", "manager", "bench"} {
		fmt.Printf(" %s %.1f s", k, r.CPU[k].Seconds())
	}
	fmt.Println()
	fmt.Printf("  while waiting %s: %.0f (%.3f per post per minute)\n", r.Spec.Quiet, r.QuietRequests.Total(), r.QuietRequestsPerPostMinute())
	printRequests(r.QuietRequests)
}

func printRequests(rq fleet.Requests) {
	keys := make([]string, 0, len(rq))
	for k := range rq {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Printf("    %-36s %8.0f\n", k, rq[k])
	}
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// runFloor prints the API server's own cost per create and per status write (-floor).
func runFloor(dir string, n, rounds int) error {
	cp, err := fleet.StartControlPlane(dir)
	if err != nil {
		return err
	}
	defer func() { _ = cp.Stop() }()
	fmt.Printf("the API server's floor: %d rounds of %d posts created, then one status write each (16 writers, no manager)...\n", rounds, n)
	rs, err := fleet.RunFloor(context.Background(), cp, n, rounds, 16)
	if err != nil {
		return err
	}
	fmt.Println()
	fmt.Println("| round | status PUT carries managedFields | creates took | API-server CPU / create | " +
		"status writes took | API-server CPU / write | etcd CPU / write |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for i, r := range rs {
		fmt.Printf("| %d | %v | %.1f s | %.2f ms | %.1f s | %.2f ms | %.2f ms |\n", i+1, r.ManagedFields,
			r.CreateTook.Seconds(), ms(r.CreateCPU), r.WriteTook.Seconds(), ms(r.WriteCPU), ms(r.EtcdCPU))
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
