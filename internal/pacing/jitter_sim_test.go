package pacing

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// The jitter comparison: K clients that only react to 429s (no pacing) each need one call accepted by a
// resource that takes n calls per sliding window W (TikTok's 6/min). All start within the same second
// (a thundering herd: a restart, a batch of posts applied at once). On a 429 a client sleeps
// Backoff.Delay(attempt, prev, u, 0) and tries again. Virtual time; we count calls and the time until
// the last client is through.

type simEvent struct {
	at     time.Duration
	client int
}
type simHeap []simEvent

func (h simHeap) Len() int { return len(h) }
func (h simHeap) Less(i, j int) bool {
	return h[i].at < h[j].at || (h[i].at == h[j].at && h[i].client < h[j].client)
}
func (h simHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *simHeap) Push(x any)   { *h = append(*h, x.(simEvent)) }
func (h *simHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func simulateJitter(j Jitter, k int, seed uint64) (calls int, finish time.Duration) {
	rng := rand.New(rand.NewPCG(seed, uint64(k)))
	b := Backoff{Initial: time.Second, Max: 10 * time.Minute, Jitter: j}
	const n, window = 6, time.Minute
	var accepted []time.Duration
	attempt := make([]int, k)
	prev := make([]time.Duration, k)
	h := &simHeap{}
	for c := range k {
		heap.Push(h, simEvent{at: time.Duration(rng.Int64N(int64(time.Second))), client: c})
	}
	for h.Len() > 0 {
		ev := heap.Pop(h).(simEvent)
		calls++
		inWindow := 0
		for _, a := range accepted {
			if ev.at-a < window {
				inWindow++
			}
		}
		if inWindow < n {
			accepted = append(accepted, ev.at)
			finish = max(finish, ev.at)
			continue
		}
		attempt[ev.client]++
		d := b.Delay(attempt[ev.client], prev[ev.client], rng.Float64(), 0)
		prev[ev.client] = d
		heap.Push(h, simEvent{at: ev.at + d, client: ev.client})
	}
	return calls, finish
}

var jitters = []Jitter{JitterNone, JitterFull, JitterEqual, JitterDecorrelated}

// jitterTable runs seeds per strategy and K and returns medians.
func jitterTable(ks []int, seeds int) map[Jitter]map[int][2]float64 {
	out := map[Jitter]map[int][2]float64{}
	for _, j := range jitters {
		out[j] = map[int][2]float64{}
		for _, k := range ks {
			var cs, fs []float64
			for s := range seeds {
				c, f := simulateJitter(j, k, uint64(s))
				cs, fs = append(cs, float64(c)), append(fs, f.Minutes())
			}
			slices.Sort(cs)
			slices.Sort(fs)
			out[j][k] = [2]float64{cs[len(cs)/2], fs[len(fs)/2]}
		}
	}
	return out
}

// TestJitterSimulation checks the properties that justify the default (Full): against a rate limit,
// any jitter finishes a herd far sooner than none; Full finishes no later than Equal and needs far fewer
// calls than Decorrelated, within a few percent of the fewest.
func TestJitterSimulation(t *testing.T) {
	ks := []int{10, 50, 100}
	seeds := 21
	if testing.Short() {
		seeds = 7
	}
	tab := jitterTable(ks, seeds)
	for _, k := range ks {
		row := fmt.Sprintf("K=%3d", k)
		for _, j := range jitters {
			row += fmt.Sprintf(" | %-12s %6.0f calls %6.1f min", j, tab[j][k][0], tab[j][k][1])
		}
		t.Log(row)
		if k < 50 {
			continue
		}
		calls := func(j Jitter) float64 { return tab[j][k][0] }
		mins := func(j Jitter) float64 { return tab[j][k][1] }
		for _, j := range []Jitter{JitterFull, JitterEqual, JitterDecorrelated} {
			if mins(j) > mins(JitterNone)/2 {
				t.Errorf("K=%d: %s took %.1f min, no jitter %.1f", k, j, mins(j), mins(JitterNone))
			}
		}
		if mins(JitterFull) > mins(JitterEqual) {
			t.Errorf("K=%d: Full took longer (%.1f min) than Equal (%.1f)", k, mins(JitterFull), mins(JitterEqual))
		}
		if calls(JitterFull) > 0.8*calls(JitterDecorrelated) {
			t.Errorf("K=%d: Full made %v calls, Decorrelated %v", k, calls(JitterFull), calls(JitterDecorrelated))
		}
		if fewest := min(calls(JitterEqual), calls(JitterDecorrelated), calls(JitterNone)); calls(JitterFull) > 1.1*fewest {
			t.Errorf("K=%d: Full made %v calls, the fewest %v", k, calls(JitterFull), fewest)
		}
	}
}

// BenchmarkJitterSimulation reports, per strategy and K, the calls and minutes to finish of one
// simulated herd (each iteration a new seed); take medians over -count runs:
//
//	go test -run '^$' -bench JitterSimulation -count 5 ./internal/pacing/
func BenchmarkJitterSimulation(b *testing.B) {
	for _, k := range []int{10, 50, 100} {
		for _, j := range jitters {
			b.Run(fmt.Sprintf("K=%d/%s", k, j), func(b *testing.B) {
				var calls, mins float64
				for i := 0; i < b.N; i++ {
					c, f := simulateJitter(j, k, uint64(i))
					calls += float64(c)
					mins += f.Minutes()
				}
				b.ReportMetric(calls/float64(b.N), "calls")
				b.ReportMetric(mins/float64(b.N), "minutes")
			})
		}
	}
}
