package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/controllers"
	"github.com/tiktok-operator/tiktok-operator/internal/pacing"
)

// tiktokOperator is the product: the production controllers (controllers.Setup) on their own manager,
// with every duration of its options compressed like the rest of the benchmark.
type tiktokOperator struct {
	workers int // MaxConcurrentReconciles; 0: the production default
	// penaltyGuess sets every AccountQuota's spec.adaptive.penalty to the simulator's lockout penalty
	// (window/4): the operator told the rule it otherwise meets blind (the default guess is 0s).
	penaltyGuess bool
}

func (t tiktokOperator) name() string {
	if t.penaltyGuess {
		return "tiktok-operator, adaptive.penalty = the lockout penalty"
	}
	return "tiktok-operator"
}
func (tiktokOperator) needsKube() bool { return true }

func (t tiktokOperator) run(ctx context.Context, e *runEnv) (outcome, error) {
	if t.penaltyGuess {
		e.adaptivePenalty = e.scale.window() / 4
	}
	opts := operatorOptions(e.scale)
	opts.MaxConcurrentReconciles = t.workers
	opts.AllowedEndpoints = controllers.MustParseAllowedEndpoints(e.simURL) // the run's simulator, on loopback
	return runOperator(ctx, e, "tiktok-operator", func(mgr ctrl.Manager) error {
		return controllers.Setup(mgr, opts)
	})
}

// operatorOptions are the production defaults with every duration compressed. CallTimeout is kept at
// 2 s or more: it guards against a hung connection, and loopback latency on a loaded machine does not
// shrink with the factor (a timed-out init is an uncertain outcome, i.e. a Failed post).
func operatorOptions(s scale) controllers.Options {
	return controllers.Options{
		AccountStatusInterval: s.d(5 * time.Second),
		AccountStatusQPS:      10 * s.factor, // the budget compressed like every duration
		StatusPollInitial:     s.d(2 * time.Second),
		StatusPollMax:         s.d(time.Minute),
		CreatorInfoTTL:        s.d(6 * time.Hour),
		CapRetryInterval:      s.d(time.Hour),
		CallTimeout:           max(s.d(30*time.Second), 2*time.Second),
		RefusalMargin:         s.d(pacing.DefaultRefusalMargin), // clocks' skew compressed like the rest
	}
}

// runOperator runs one operator (whatever setup registers on the manager) on the workload in a fresh
// namespace: accounts first; a burst's posts are all created before the manager starts (a backlog
// applied at once), a stream's posts are created at their arrival times once the manager runs. It
// waits until every post is Published or Failed, or the run's deadline passes.
func runOperator(ctx context.Context, e *runEnv, prefix string, setup func(ctrl.Manager) error) (outcome, error) {
	k := e.kube
	out := outcome{arrived: map[string]time.Time{}, lost: map[string]bool{}}
	ns, err := k.namespace(ctx, "bench-"+prefix)
	if err != nil {
		return out, err
	}
	for _, a := range e.work.accounts {
		if err := k.createAccount(ctx, ns, e.simURL, e.accounts[a], e.scale, e.scenario, e.adaptivePenalty); err != nil {
			return out, err
		}
	}
	wc := &writeCounter{}
	mgr, err := k.newManager(ns, wc)
	if err != nil {
		return out, err
	}
	if err := setup(mgr); err != nil {
		return out, fmt.Errorf("setting up the controllers: %w", err)
	}
	burst := e.work.kind == kindBurst
	if burst {
		out.start = time.Now()
		posts := e.work.arrivalOrder()
		if err := k.createPosts(ctx, ns, posts); err != nil {
			return out, err
		}
		for _, p := range posts {
			out.arrived[p.name] = out.start
		}
	}
	stop := runManager(mgr)
	runErr := func() error {
		if !burst {
			if err := streamPosts(ctx, e, ns, prefix == "tiktok-operator", &out); err != nil {
				return err
			}
		}
		if err := waitEnded(ctx, e, ns, deadlineOf(e, out.start), &out); err != nil {
			return err
		}
		if burst && os.Getenv("BENCH_GAPS") != "" && prefix == "tiktok-operator" {
			return windowGaps(ctx, os.Stderr, e, ns)
		}
		return nil
	}()
	out.writes = int(wc.n.Load())
	stopErr := stop()
	return out, errors.Join(runErr, stopErr, k.clean(ctx, ns))
}

// deadlineOf bounds an operator's run: three times the least time the workload needs plus ten windows
// (burst; with a cap held elsewhere, counted from when the cap frees, plus two cap retry intervals), or
// the end of the arrivals plus ten windows (stream). Posts not ended by then are unfinished.
func deadlineOf(e *runEnv, start time.Time) time.Time {
	w := e.scale.window()
	if e.work.kind != kindBurst {
		return start.Add(e.work.arrivalsEnd + 10*w)
	}
	var least time.Duration
	for _, a := range e.work.accounts {
		least = max(least, minimum(len(e.work.posts[a]), e.scenario.realLimit, w, e.scale.minInterval()))
	}
	if f := e.scenario.capFreesAfter(e.scale); f > 0 {
		// The cap frees at f; the operator's hold ends at most one CapRetryInterval after a refusal.
		return start.Add(f + 2*e.scale.d(time.Hour) + 3*least + 10*w)
	}
	return start.Add(3*least + 10*w)
}

// streamPosts waits for the accounts to be Ready (when the operator has an account controller), then
// creates each post at its arrival time.
func streamPosts(ctx context.Context, e *runEnv, ns string, waitReady bool, out *outcome) error {
	k := e.kube
	for waitReady {
		ok, err := k.accountsReady(ctx, ns, len(e.work.accounts))
		if err != nil {
			return err
		}
		if ok {
			break
		}
		if !sleepUntil(ctx, time.Now().Add(50*time.Millisecond)) {
			return ctx.Err()
		}
	}
	out.start = time.Now()
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, len(e.work.accounts))
	for _, a := range e.work.accounts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, p := range e.work.posts[a] {
				if !sleepUntil(ctx, out.start.Add(p.at)) {
					errs <- ctx.Err()
					return
				}
				now := time.Now()
				if err := k.createPost(ctx, ns, p); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				out.arrived[p.name] = now
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// waitEnded polls until every post is Published or Failed (first the simulator, cheaply, for the
// inits; then the API server for the phases), or deadline. It records Failed posts as lost and the
// rest as unfinished.
func waitEnded(ctx context.Context, e *runEnv, ns string, deadline time.Time, out *outcome) error {
	total := e.work.total()
	poll := max(e.scale.window()/8, 100*time.Millisecond)
	for i := 1; ; i++ {
		accepted := map[string]bool{}
		for _, p := range e.sim.Posts() {
			accepted[p.Title] = true
		}
		last := time.Now().After(deadline)
		// Failed posts never reach the simulator's list: look at the phases now and then regardless.
		if len(accepted) >= total || last || i%20 == 0 {
			posts, err := e.kube.posts(ctx, ns)
			if err != nil {
				return err
			}
			ended, failed := 0, map[string]bool{}
			for name, p := range posts {
				switch p.Status.Phase {
				case v1alpha1.PhasePublished, v1alpha1.PhaseDelivered:
					ended++
				case v1alpha1.PhaseFailed:
					ended++
					failed[name] = true
				}
			}
			if ended == total || last {
				out.lost = failed
				out.unfinished = total - ended
				return nil
			}
		}
		if !sleepUntil(ctx, time.Now().Add(poll)) {
			return ctx.Err()
		}
	}
}
