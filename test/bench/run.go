package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
)

// scenario is one pairing of the simulator's real limit with the limit the contenders are told.
type scenario struct {
	name            string
	realLimit       int // inits per window the simulator allows
	configuredLimit int // inits per window in the operator's AccountQuota (the retry loops know none)
	// burstRule turns on the simulator's sub-second burst throttle (off by default: TikTok publishes no
	// figure), at burstCalls calls per token within TikTok's 1 s, compressed.
	burstRule bool
	// dailyCap, when set, replaces benchDailyCap with TikTok's own cap on a compressed day (in the
	// simulator and the AccountQuotas alike), and foreignPosts of it were already used by another app
	// of the creator foreignAgo (uncompressed) before the run starts: the "cap half used elsewhere" row.
	dailyCap     int
	foreignPosts int
	foreignAgo   time.Duration
}

// burstCalls is the simulator's sub-second rule when a scenario turns it on (its default: 5 calls a
// token within 1 s, any endpoint; TikTok publishes no figure).
const burstCalls = 5

// capFreesAfter is how long after the run's start the foreign posts of a cap scenario leave the
// simulator's (compressed) day.
func (sc scenario) capFreesAfter(s scale) time.Duration {
	if sc.foreignPosts == 0 {
		return 0
	}
	return s.d(24*time.Hour - sc.foreignAgo)
}

// runEnv is one contender's world for one run: its own fresh simulator (same config for everyone),
// the workload, and the shared API server for the operators.
type runEnv struct {
	scale    scale
	scenario scenario
	work     workload
	sim      *tiktoksim.Server
	simURL   string
	http     *http.Client
	accounts map[string]tiktoksim.Account // by account name, with the tokens the simulator issued
	kube     *kube                        // nil when no API server is needed
	// adaptivePenalty is the spec.adaptive.penalty of the operators' AccountQuotas (0: the default).
	adaptivePenalty time.Duration
}

// outcome is what a contender reports of its own run; everything else is read from the simulator.
type outcome struct {
	// start is the run's origin: post i arrives at start + its offset.
	start time.Time
	// arrived is when each post actually arrived (was handed to the contender), by name.
	arrived map[string]time.Time
	// lost are the posts the contender gave up on (the retry loop after 5 attempts, an operator's
	// Failed posts).
	lost map[string]bool
	// unfinished counts the operators' posts neither Published nor Failed when the run's time ran out.
	unfinished int
	// seen429 is the contender's own count of 429 answers (a cross-check of the simulator's stats).
	seen429 int
	// writes to the API server (operators only; -1 when not applicable).
	writes int
}

// contender is one way of publishing the workload.
type contender interface {
	name() string
	needsKube() bool
	run(ctx context.Context, e *runEnv) (outcome, error)
}

// newRunEnv makes a fresh simulator, served over loopback HTTP, with the workload's accounts.
func newRunEnv(s scale, sc scenario, w workload, k *kube) (*runEnv, func(), error) {
	sim := tiktoksim.New(s.simConfig(sc))
	srv := httptest.NewServer(sim)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	e := &runEnv{scale: s, scenario: sc, work: w, sim: sim, simURL: srv.URL,
		http: &http.Client{Transport: tr}, accounts: map[string]tiktoksim.Account{}, kube: k}
	for _, name := range w.accounts {
		a, err := sim.AddAccount(tiktoksim.Account{Name: name, Creator: tiktoksim.CreatorInfo{Username: name}})
		if err != nil {
			srv.Close()
			return nil, nil, fmt.Errorf("adding account %s to the simulator: %w", name, err)
		}
		e.accounts[name] = a
		if sc.foreignPosts > 0 {
			if err := sim.RecordForeignPosts(name, sc.foreignPosts, time.Now().Add(-s.d(sc.foreignAgo)), false); err != nil {
				srv.Close()
				return nil, nil, fmt.Errorf("recording another app's posts on %s: %w", name, err)
			}
		}
	}
	return e, func() { tr.CloseIdleConnections(); srv.Close() }, nil
}

// runOne runs one contender on a fresh simulator and measures it.
func runOne(ctx context.Context, c contender, s scale, sc scenario, w workload, k *kube) (result, error) {
	if !c.needsKube() {
		k = nil
	}
	e, closeEnv, err := newRunEnv(s, sc, w, k)
	if err != nil {
		return result{}, err
	}
	defer closeEnv()
	out, err := c.run(ctx, e)
	if err != nil {
		return result{}, fmt.Errorf("%s on %s/%s: %w", c.name(), w.kind, sc.name, err)
	}
	return measure(c.name(), e, out), nil
}
