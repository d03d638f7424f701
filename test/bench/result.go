package main

import (
	"sort"
	"time"

	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
)

// result is one contender's figures for one run. Counts of calls, 429s and lockout extensions come from
// the simulator (the referee), never from the contender.
type result struct {
	contender, scenario, workload string
	posts                         int // posts in the workload
	published                     int // distinct posts the simulator accepted
	duplicates                    int // accepted inits beyond the first of a post (a post published twice)
	lost                          int
	unfinished                    int
	// makespan is, over the accounts, the longest time from the first to the last accepted init of an
	// account; minimum is the least TikTok allows for that account's posts (burst only).
	makespan, minimum time.Duration
	calls             int // init calls the simulator received
	rateLimited       int // of which answered 429 (any reason)
	lockoutExt        int // lockout extensions the simulator applied
	capRefused        int // init calls refused for the daily cap (spam_risk_too_many_posts)
	// lastInit is when the last accepted init came, from the run's start (the cap section's figure).
	lastInit time.Duration
	accounts int
	seen429  int // 429s as the contender counted them
	writes   int // API-server writes (-1: no API server involved)
	// Steady stream only.
	meanLatency, maxLatency time.Duration // arrival to acceptance, over the accepted posts
	arrivedByEnd            int           // posts that arrived before the arrivals ended
	acceptedByEnd           int           // of the posts that arrived, accepted before the arrivals ended
	window                  time.Duration
}

func (r result) ratio() float64 {
	if r.minimum <= 0 {
		return 0
	}
	return float64(r.makespan) / float64(r.minimum)
}

func (r result) writesPerPost() float64 {
	if r.writes < 0 || r.posts == 0 {
		return -1
	}
	return float64(r.writes) / float64(r.posts)
}

// measure turns a contender's outcome and its simulator's record into a result.
func measure(name string, e *runEnv, out outcome) result {
	r := result{contender: name, scenario: e.scenario.name, workload: e.work.kind, posts: e.work.total(),
		lost: len(out.lost), unfinished: out.unfinished, seen429: out.seen429, writes: out.writes, window: e.scale.window()}
	stats := e.sim.Stats()
	for _, a := range e.work.accounts {
		st := stats.Get(a, tiktoksim.EndpointVideoInit)
		r.calls += st.Calls
		r.lockoutExt += st.LockoutExtensions
		r.capRefused += st.Errors["spam_risk_too_many_posts"]
		for _, n := range st.RateLimited {
			r.rateLimited += n
		}
	}
	accepted := map[string]time.Time{}
	perAccount := map[string][]time.Time{}
	for _, p := range e.sim.Posts() {
		if _, dup := accepted[p.Title]; dup {
			r.duplicates++
			continue
		}
		accepted[p.Title] = p.Time
		perAccount[p.Account] = append(perAccount[p.Account], p.Time)
	}
	r.published = len(accepted)
	r.accounts = len(e.work.accounts)
	for _, at := range accepted {
		r.lastInit = max(r.lastInit, at.Sub(out.start))
	}
	if e.work.kind == kindBurst {
		for _, a := range e.work.accounts {
			ts := perAccount[a]
			sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
			if len(ts) > 1 {
				r.makespan = max(r.makespan, ts[len(ts)-1].Sub(ts[0]))
			}
			r.minimum = max(r.minimum, minimum(len(e.work.posts[a]), e.scenario.realLimit, e.scale.window(), e.scale.minInterval()))
		}
		return r
	}
	end := out.start.Add(e.work.arrivalsEnd)
	var sum time.Duration
	n := 0
	for _, p := range e.work.arrivalOrder() {
		arrived, ok := out.arrived[p.name]
		if !ok {
			continue
		}
		r.arrivedByEnd++
		at, ok := accepted[p.name]
		if !ok {
			continue
		}
		if !at.After(end) {
			r.acceptedByEnd++
		}
		lat := max(at.Sub(arrived), 0)
		sum += lat
		n++
		r.maxLatency = max(r.maxLatency, lat)
	}
	if n > 0 {
		r.meanLatency = sum / time.Duration(n)
	}
	return r
}
