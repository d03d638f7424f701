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
	sim := tiktoksim.New(s.simConfig(sc.realLimit))
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
