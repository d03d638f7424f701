package main

import "time"

// idealSteady is the reference row of the steady stream, computed rather than run: a perfect pacer
// that sends every post first come, first served at the earliest instant the simulator accepts it
// (at most perWindow inits in any window, spacing m), with no latency of its own. Its latencies are
// what the arrivals themselves impose; a contender's excess over them is how far it falls behind.
func idealSteady(w workload, sc scenario, s scale) result {
	r := result{contender: "ideal pacer (computed)", scenario: sc.name, workload: w.kind, posts: w.total(),
		writes: -1, window: s.window()}
	win, m := s.window(), s.minInterval()
	var sum time.Duration
	for _, a := range w.accounts {
		sends := make([]time.Duration, 0, len(w.posts[a]))
		for _, p := range w.posts[a] {
			t := p.at
			if k := len(sends); k > 0 {
				t = max(t, sends[k-1]+m)
			}
			if k := len(sends); k >= sc.realLimit {
				t = max(t, sends[k-sc.realLimit]+win)
			}
			sends = append(sends, t)
			lat := t - p.at
			sum += lat
			r.maxLatency = max(r.maxLatency, lat)
			r.arrivedByEnd++
			if t <= w.arrivalsEnd {
				r.acceptedByEnd++
			}
		}
	}
	r.published, r.calls = r.arrivedByEnd, r.arrivedByEnd
	if r.published > 0 {
		r.meanLatency = sum / time.Duration(r.published)
	}
	return r
}
