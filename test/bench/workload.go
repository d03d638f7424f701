package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"
)

// The two workloads.
const (
	kindBurst  = "burst"
	kindSteady = "steady"
)

// workload is what every contender is asked to publish: the same posts, the same arrival offsets.
type workload struct {
	kind     string // "burst" or "steady"
	accounts []string
	// posts per account, in arrival order.
	posts map[string][]plannedPost
	// arrivalsEnd is when the last arrival may come (0 for a burst: everything arrives at once).
	arrivalsEnd time.Duration
}

// plannedPost is one post of the workload: a unique name (also its title, which is how the
// simulator's accepted posts are matched back) and when it arrives, from the start of the run.
type plannedPost struct {
	name    string
	account string
	at      time.Duration
}

func (w workload) total() int {
	n := 0
	for _, a := range w.accounts {
		n += len(w.posts[a])
	}
	return n
}

func accountNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("acct-%02d", i)
	}
	return out
}

// burstWorkload: every account gets perAccount posts at once.
func burstWorkload(accounts, perAccount int) workload {
	w := workload{kind: kindBurst, accounts: accountNames(accounts), posts: map[string][]plannedPost{}}
	for _, a := range w.accounts {
		for i := range perAccount {
			w.posts[a] = append(w.posts[a], plannedPost{name: fmt.Sprintf("%s-b%03d", a, i), account: a})
		}
	}
	return w
}

// steadyWorkload: on every account, posts arrive as a Poisson process of rate load*perWindow per window
// for the given duration. The seed makes every contender meet the very same arrival times.
func steadyWorkload(accounts, perWindow int, window, duration time.Duration, load float64, seed uint64) workload {
	w := workload{kind: kindSteady, accounts: accountNames(accounts), posts: map[string][]plannedPost{}, arrivalsEnd: duration}
	rnd := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	meanGap := float64(window) / (load * float64(perWindow))
	for _, a := range w.accounts {
		t := 0.0
		for i := 0; ; i++ {
			t += -math.Log(1-rnd.Float64()) * meanGap // exponential inter-arrival gap
			if t >= float64(duration) {
				break
			}
			w.posts[a] = append(w.posts[a], plannedPost{name: fmt.Sprintf("%s-s%03d", a, i), account: a, at: time.Duration(t)})
		}
	}
	return w
}

// arrivalOrder is every post of the workload sorted by arrival time (then name).
func (w workload) arrivalOrder() []plannedPost {
	var all []plannedPost
	for _, a := range w.accounts {
		all = append(all, w.posts[a]...)
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].at != all[j].at {
			return all[i].at < all[j].at
		}
		return all[i].name < all[j].name
	})
	return all
}
