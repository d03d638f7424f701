package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
)

// phaseOrder is the order a post goes through its phases, for the progress line.
var phaseOrder = []v1alpha1.Phase{
	v1alpha1.PhasePending, v1alpha1.PhaseScheduled, v1alpha1.PhaseQueued, v1alpha1.PhasePublishing,
	v1alpha1.PhaseProcessing, v1alpha1.PhasePublished, v1alpha1.PhaseDelivered, v1alpha1.PhaseFailed,
}

// windowLabels shortens the usage names the operator writes into AccountQuota.status.usage.
var windowLabels = map[string]string{
	"postInit/video": "video-init", "postInit/inbox": "inbox-init", "postInit/photo": "photo-init",
	"statusFetch": "status", "creatorInfo": "creator", "dailyPosts": "daily", "pendingShares": "shares",
}

// ANSI escapes for the in-place view.
const (
	ansiUp        = "\x1b[%dA" // cursor up n lines
	ansiClearLine = "\x1b[2K"  // clear the whole line
)

// progressView shows the demo's progress: redrawn in place on a terminal, or a block of plain lines
// every few seconds when stdout is a file or a pipe (CI logs stay readable).
type progressView struct {
	out       io.Writer
	tty       bool
	start     time.Time
	every     time.Duration // plain mode: the least time between two blocks
	drawn     int           // terminal mode: lines drawn last time, to move back over
	lastPlain time.Time
}

// isTerminal reports whether out is a character device (a terminal), as golang.org/x/term would.
func isTerminal(out io.Writer) bool {
	f, ok := out.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// update draws the snapshot: in place on a terminal, else at most once every v.every (force draws
// anyway, for the last state).
func (v *progressView) update(s snapshot, now time.Time, force bool) {
	lines := renderProgress(s, now, now.Sub(v.start))
	if v.tty {
		var b strings.Builder
		if v.drawn > 0 {
			fmt.Fprintf(&b, ansiUp, v.drawn)
		}
		for _, l := range lines {
			b.WriteString(ansiClearLine + l + "\n")
		}
		// A shorter frame than the last leaves old lines below: clear them.
		for i := len(lines); i < v.drawn; i++ {
			b.WriteString(ansiClearLine + "\n")
		}
		if v.drawn > len(lines) {
			fmt.Fprintf(&b, ansiUp, v.drawn-len(lines))
		}
		v.drawn = len(lines)
		_, _ = io.WriteString(v.out, b.String())
		return
	}
	if !force && now.Sub(v.lastPlain) < v.every {
		return
	}
	v.lastPlain = now
	_, _ = io.WriteString(v.out, strings.Join(lines, "\n")+"\n")
}

// renderProgress is the view's text: a line of posts per phase, then per account its queue and every
// window's used/limit with the time its next slot frees (relative to now).
func renderProgress(s snapshot, now time.Time, elapsed time.Duration) []string {
	counts := map[v1alpha1.Phase]int{}
	for i := range s.Posts {
		ph := s.Posts[i].Status.Phase
		if ph == "" {
			ph = v1alpha1.PhasePending
		}
		counts[ph]++
	}
	parts := make([]string, 0, len(phaseOrder))
	for _, ph := range phaseOrder {
		parts = append(parts, fmt.Sprintf("%s %d", ph, counts[ph]))
	}
	lines := make([]string, 0, 1+2*len(s.Accounts))
	lines = append(lines, fmt.Sprintf("[%s] %d posts: %s", clock(elapsed), len(s.Posts), strings.Join(parts, " · ")))
	accts := append([]v1alpha1.AccountQuota(nil), s.Accounts...)
	sort.Slice(accts, func(i, j int) bool { return accts[i].Name < accts[j].Name })
	for i := range accts {
		lines = append(lines, renderAccount(&accts[i], now)...)
	}
	return lines
}

// renderAccount is one account's two lines: queue figures, then windows.
func renderAccount(aq *v1alpha1.AccountQuota, now time.Time) []string {
	st := aq.Status
	q := v1alpha1.QueueStatus{}
	if st.Queue != nil {
		q = *st.Queue
	}
	state := "not ready"
	for _, c := range st.Conditions {
		if c.Type == v1alpha1.ConditionReady && c.Status == "True" {
			state = "ready"
		}
	}
	if st.ThrottledUntil != nil && st.ThrottledUntil.After(now) {
		state = "COOLING DOWN until " + st.ThrottledUntil.Format(time.TimeOnly)
	}
	head := fmt.Sprintf("  %-11s %-9s queue %3d  in flight %2d  published %3d  failed %2d",
		aq.Name, state, q.Waiting, q.InFlight, q.PublishedLast24h, q.FailedLast24h)
	wins := make([]string, 0, len(st.Usage))
	for _, u := range st.Usage {
		label := windowLabels[u.Name]
		if label == "" {
			label = u.Name
		}
		limit := u.Limit
		if u.EffectiveLimit > 0 && u.EffectiveLimit < u.Limit {
			limit = u.EffectiveLimit // lowered after an unexpected 429
		}
		w := fmt.Sprintf("%s %d/%d", label, u.Used, limit)
		if u.NextSlotAt != nil && u.NextSlotAt.After(now) {
			w += fmt.Sprintf(" (next %s)", until(now, u.NextSlotAt.Time))
		}
		wins = append(wins, w)
	}
	return []string{head, "      " + strings.Join(wins, "  ")}
}

// clock formats an elapsed time as m:ss.
func clock(d time.Duration) string {
	d = d.Round(time.Second)
	return fmt.Sprintf("%d:%02d", int(d/time.Minute), int(d%time.Minute/time.Second))
}

// until is "+3s" from now to t.
func until(now, t time.Time) string {
	return "+" + t.Sub(now).Round(time.Second).String()
}
