package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
)

// summary is how the demo ended: what became of the posts, what the simulator (the referee) saw, and
// how close to TikTok's minimum each account finished.
type summary struct {
	Posts, Published, Delivered int
	Failed                      []failure
	// Unexpected lists posts that ended otherwise than planned (empty when the operator did its job).
	Unexpected []string
	// RateLimited is the number of 429s the simulator answered, all accounts and endpoints.
	RateLimited int
	Accounts    []accountResult
	Elapsed     time.Duration

	// secrets are the credential values the demo handled; the test checks none reached the output.
	secrets []string
}

// failure is a Failed post and why, in its Ready condition's words.
type failure struct {
	Post, Reason, Message string
}

// accountResult is one account's pacing figures.
type accountResult struct {
	Account string
	// Inits per simulator endpoint (video_init, inbox_init, content_init).
	Inits map[string]int
	// MaxInWindow is the fullest window the simulator saw on any init endpoint; Limit the allowed number.
	MaxInWindow, Limit int
	// Makespan is from the account's first accepted init to its last; Minimum the least TikTok's windows,
	// minInterval and the posts' publishAt allow for the same inits.
	Makespan, Minimum time.Duration
}

// problems lists what went wrong: posts that ended otherwise than planned, and any 429.
func (s *summary) problems() []string {
	out := append([]string(nil), s.Unexpected...)
	if s.RateLimited > 0 {
		out = append(out, fmt.Sprintf("the simulator answered %d 429s (expected 0)", s.RateLimited))
	}
	for _, a := range s.Accounts {
		if a.MaxInWindow > a.Limit {
			out = append(out, fmt.Sprintf("%s: %d inits in one window, over the limit %d", a.Account, a.MaxInWindow, a.Limit))
		}
	}
	return out
}

// minimumMakespan is the least time n inits on one endpoint can span: the first call of the last
// window comes ceil(n/limit)-1 windows after the first call, and the rest of that window follows
// minInterval apart.
func minimumMakespan(n, limit int, window, minInterval time.Duration) time.Duration {
	if n <= 0 || limit <= 0 {
		return 0
	}
	return time.Duration((n+limit-1)/limit-1)*window + time.Duration((n-1)%limit)*minInterval
}

// initEndpoint names the simulator endpoint an accepted post's init went to: each has its own window.
func initEndpoint(p tiktoksim.AcceptedPost) string {
	switch {
	case p.Media == "PHOTO":
		return tiktoksim.EndpointContentInit
	case p.Mode == "MEDIA_UPLOAD":
		return tiktoksim.EndpointInboxInit
	}
	return tiktoksim.EndpointVideoInit
}

// summarize compares the posts' end states with the plan and reads the referee's figures.
func summarize(cfg config, plan []plannedPost, posts []v1alpha1.TikTokPost, accepted []tiktoksim.AcceptedPost,
	stats tiktoksim.Stats) *summary {
	s := &summary{Posts: len(posts)}
	want := map[string]expectation{}
	publishAt := map[string]time.Time{} // latest publishAt per account
	for _, p := range plan {
		want[p.Post.Name] = p.Expect
		if pa := p.Post.Spec.PublishAt; pa != nil && pa.After(publishAt[p.Post.Spec.AccountRef.Name]) {
			publishAt[p.Post.Spec.AccountRef.Name] = pa.Time
		}
	}
	sort.Slice(posts, func(i, j int) bool { return posts[i].Name < posts[j].Name })
	for i := range posts {
		p := &posts[i]
		reason := ""
		switch p.Status.Phase {
		case v1alpha1.PhasePublished:
			s.Published++
		case v1alpha1.PhaseDelivered:
			s.Delivered++
		case v1alpha1.PhaseFailed:
			f := failure{Post: p.Name}
			if c := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionReady); c != nil {
				f.Reason, f.Message = c.Reason, c.Message
			}
			reason = f.Reason
			s.Failed = append(s.Failed, f)
		}
		if exp := want[p.Name]; exp.Phase != p.Status.Phase || exp.Reason != reason {
			s.Unexpected = append(s.Unexpected, fmt.Sprintf("%s ended %s %s, expected %s %s",
				p.Name, p.Status.Phase, reason, exp.Phase, exp.Reason))
		}
	}
	if len(posts) != len(plan) {
		s.Unexpected = append(s.Unexpected, fmt.Sprintf("%d posts found, %d applied", len(posts), len(plan)))
	}
	for _, eps := range stats.Accounts {
		for _, ep := range eps {
			for _, n := range ep.RateLimited {
				s.RateLimited += n
			}
		}
	}
	byAccount := map[string][]tiktoksim.AcceptedPost{}
	for _, a := range accepted {
		byAccount[a.Account] = append(byAccount[a.Account], a)
	}
	for _, sa := range sampleAccounts {
		s.Accounts = append(s.Accounts, accountFigures(cfg, sa.Name, byAccount[sa.Name], stats, publishAt[sa.Name]))
	}
	return s
}

// accountFigures computes one account's makespan and its minimum. The minimum is the largest of: each
// init endpoint's minimumMakespan (they have separate windows), minInterval between all of the
// account's inits, and the wait for its latest publishAt.
func accountFigures(cfg config, name string, inits []tiktoksim.AcceptedPost, stats tiktoksim.Stats, lastPublishAt time.Time) accountResult {
	r := accountResult{Account: name, Inits: map[string]int{}, Limit: cfg.InitLimit}
	if len(inits) == 0 {
		return r
	}
	first, last := inits[0].Time, inits[0].Time
	for _, a := range inits {
		r.Inits[initEndpoint(a)]++
		if a.Time.Before(first) {
			first = a.Time
		}
		if a.Time.After(last) {
			last = a.Time
		}
	}
	r.Makespan = last.Sub(first)
	r.Minimum = time.Duration(len(inits)-1) * cfg.MinInterval
	for ep, n := range r.Inits {
		r.Minimum = max(r.Minimum, minimumMakespan(n, cfg.InitLimit, cfg.Window, cfg.MinInterval))
		r.MaxInWindow = max(r.MaxInWindow, stats.Get(name, ep).MaxAcceptedInWindow)
	}
	if d := lastPublishAt.Sub(first); d > r.Minimum {
		r.Minimum = d
	}
	return r
}

// print writes the summary for a human.
func (s *summary) print(out io.Writer, cfg config) {
	p := func(format string, a ...any) { _, _ = fmt.Fprintf(out, format+"\n", a...) }
	p("")
	p("Summary after %s", s.Elapsed.Round(100*time.Millisecond))
	p("  posts %d: published %d, delivered %d (creator inboxes), failed %d", s.Posts, s.Published, s.Delivered, len(s.Failed))
	for _, f := range s.Failed {
		p("    failed %-20s %s: %s", f.Post, f.Reason, f.Message)
	}
	p("  429s answered by the simulator: %d (expected 0)", s.RateLimited)
	p("  makespan per account, from its first init call to its last, against the least TikTok allows:")
	p("    (per init endpoint (ceil(n/%d)-1) x %s + ((n-1) mod %d) x %s; and never before a scheduled post's publishAt)",
		cfg.InitLimit, cfg.Window, cfg.InitLimit, cfg.MinInterval)
	for _, a := range s.Accounts {
		eps := make([]string, 0, len(a.Inits))
		total := 0
		for ep, n := range a.Inits {
			eps = append(eps, fmt.Sprintf("%s %d", ep, n))
			total += n
		}
		sort.Strings(eps)
		ratio := "-" // one init: nothing to compare
		if a.Minimum > 0 {
			ratio = fmt.Sprintf("%.3f", float64(a.Makespan)/float64(a.Minimum))
		}
		p("    %-11s %2d inits (%s): makespan %s, minimum %s, ratio %s; fullest window %d/%d",
			a.Account, total, strings.Join(eps, ", "), a.Makespan.Round(10*time.Millisecond),
			a.Minimum.Round(10*time.Millisecond), ratio, a.MaxInWindow, a.Limit)
	}
	if probs := s.problems(); len(probs) > 0 {
		p("  PROBLEMS:")
		for _, pr := range probs {
			p("    %s", pr)
		}
		return
	}
	p("  every post ended as planned; TikTok's quota was never crossed.")
}
