package main

import (
	"context"
	"fmt"
	"io"
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
	type call struct{ reserved, answered, accepted time.Time }
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
				per[p.Spec.AccountRef.Name] = append(per[p.Spec.AccountRef.Name], call{h.StartTime.Time, h.EndTime.Time, at})
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
