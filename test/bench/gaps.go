package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
)

// windowGaps explains a burst's makespan (BENCH_GAPS=1): for every account, each init that had to wait
// for a window (the 7th onwards with 6 a window) is compared with the init whose slot it took, one
// window earlier. The time lost at that window boundary splits into:
//   - answer: from TikTok's acceptance of the earlier init to the operator seeing the answer (the slot
//     is counted free only from the answer, since TikTok may have counted the call as late as that);
//   - wake: from the slot being free (answer + window) to the reservation of the next init;
//   - send: from that reservation to TikTok's acceptance (the intent's status write and the call).
//
// The median, 90th percentile and maximum over all boundaries are printed to w.
func windowGaps(ctx context.Context, w io.Writer, e *runEnv, ns string) error {
	var list v1alpha1.TikTokPostList
	if err := e.kube.client.List(ctx, &list, client.InNamespace(ns)); err != nil {
		return fmt.Errorf("listing posts: %w", err)
	}
	type call struct {
		reserved, answered, accepted time.Time
		name                         string
	}
	accepted := map[string]time.Time{}
	for _, p := range e.sim.Posts() {
		if _, dup := accepted[p.Title]; !dup {
			accepted[p.Title] = p.Time
		}
	}
	per := map[string][]call{}
	for i := range list.Items {
		p := &list.Items[i]
		at, ok := accepted[p.Name]
		if !ok {
			continue
		}
		for _, h := range p.Status.AttemptHistory {
			if h.Outcome == v1alpha1.AttemptOutcomeAccepted && h.EndTime != nil {
				per[p.Spec.AccountRef.Name] = append(per[p.Spec.AccountRef.Name], call{h.StartTime.Time, h.EndTime.Time, at, p.Name})
			}
		}
	}
	win, n := e.scale.window(), e.scenario.realLimit
	var answer, wake, send, total []time.Duration
	for _, cs := range per {
		sort.Slice(cs, func(i, j int) bool { return cs[i].accepted.Before(cs[j].accepted) })
		for k := n; k < len(cs); k++ {
			prev, cur := cs[k-n], cs[k]
			answer = append(answer, prev.answered.Sub(prev.accepted))
			wake = append(wake, cur.reserved.Sub(prev.answered.Add(win)))
			send = append(send, cur.accepted.Sub(cur.reserved))
			total = append(total, cur.accepted.Sub(prev.accepted.Add(win)))
		}
	}
	// The latest account (whose last init is furthest behind an ideal schedule: the k-th init at the
	// first + k/n windows + k%n minIntervals), at the last init of each window: what the first window's
	// spread costs against what each boundary adds. BENCH_GAPS=2 also lists its first two windows' inits.
	var worst []time.Duration
	var worstCalls []call
	for _, cs := range per {
		var lates []time.Duration
		for k := n - 1; k < len(cs); k += n {
			ideal := cs[0].accepted.Add(time.Duration(k/n)*win + time.Duration(k%n)*e.scale.minInterval())
			lates = append(lates, cs[k].accepted.Sub(ideal).Round(time.Millisecond))
		}
		if len(lates) > 0 && (len(worst) == 0 || lates[len(lates)-1] > worst[len(worst)-1]) {
			worst, worstCalls = lates, cs
		}
	}
	_, _ = fmt.Fprintf(w, "latest account: behind the ideal schedule at the end of each window: %v\n", worst)
	if os.Getenv("BENCH_GAPS") == "2" {
		for k := 0; k < 2*n && k < len(worstCalls); k++ {
			c, t0 := worstCalls[k], worstCalls[0].accepted
			_, _ = fmt.Fprintf(w, "  init %d (%s): reserved %s, accepted %s, answered %s after the first acceptance\n", k, c.name,
				c.reserved.Sub(t0).Round(time.Millisecond), c.accepted.Sub(t0).Round(time.Millisecond),
				c.answered.Sub(t0).Round(time.Millisecond))
		}
	}
	_, err := fmt.Fprintf(w, "window boundaries: %d; lost per boundary (median / p90 / max): total %s; answer %s; wake %s; send %s\n",
		len(total), dist(total), dist(answer), dist(wake), dist(send))
	return err
}

// dist is "median / p90 / max" of ds.
func dist(ds []time.Duration) string {
	if len(ds) == 0 {
		return "n/a"
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	q := func(f float64) time.Duration { return s[int(f*float64(len(s)-1))].Round(time.Millisecond) }
	return fmt.Sprintf("%s / %s / %s", q(0.5), q(0.9), q(1))
}
