package main

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"
)

// notApplicable fills a cell that has no meaning for a contender.
const notApplicable = "n/a"

// report renders the results as markdown: the machine, the configuration, then one table per run.
type report struct {
	command  string
	factor   float64
	cfg      benchConfig
	machine  string
	loadAvgs []string
	took     time.Duration
	sections []section
	// repeats are tiktok-operator's runs of the burst with matching limits (-repeat), the suite's first.
	repeats []result
}

type section struct {
	title   string
	minimum time.Duration
	// capFreesAfter is when, after the start, another app's posts left the daily cap (0: not a cap section).
	capFreesAfter time.Duration
	results       []result
}

func (r report) markdown() string {
	var b strings.Builder
	w := time.Duration(float64(time.Minute) / r.factor)
	fmt.Fprintf(&b, "Command: `%s`\n\n", r.command)
	fmt.Fprintf(&b, "Machine: %s; load average %s (start, end); the run took %s.\n\n",
		r.machine, strings.Join(r.loadAvgs, " / "), r.took.Round(time.Second))
	fmt.Fprintf(&b, "Time compression %g: one minute is %s, TikTok's 1 s spacing is %s, the lockout penalty is %s a call; "+
		"burst: %d accounts x %d posts at once; steady stream: %d accounts, Poisson arrivals at %.0f%% of the quota for %d windows.\n",
		r.factor, w, time.Duration(float64(time.Second)/r.factor).Round(time.Microsecond), w/4,
		r.cfg.burstAccounts, r.cfg.burstPosts, r.cfg.steadyAccounts, 100*r.cfg.load, r.cfg.steadyWindows)
	for _, s := range r.sections {
		fmt.Fprintf(&b, "\n### %s\n\n", s.title)
		if s.capFreesAfter > 0 {
			fmt.Fprintf(&b, "Another app's posts leave the (compressed) day %s after the start; the operator's cap retry "+
				"interval is %s.\n\n", s.capFreesAfter.Round(time.Millisecond), time.Duration(float64(time.Hour)/r.factor))
			b.WriteString(capTable(s.results))
		} else if len(s.results) > 0 && s.results[0].workload == kindBurst {
			fmt.Fprintf(&b, "Theoretical minimum (first to last init of the busiest account): %s.\n\n", s.minimum.Round(time.Millisecond))
			b.WriteString(burstTable(s.results))
		} else {
			b.WriteString(steadyTable(s.results))
		}
	}
	if len(r.repeats) > 0 {
		b.WriteString(repeatsText(r.repeats))
	}
	return b.String()
}

// repeatsText summarises tiktok-operator's repeated bursts: the median and range of the makespan ratio,
// and the 429s, losses and unfinished posts over all of them.
func repeatsText(rs []result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n### Burst, limits match: tiktok-operator over %d runs\n\n", len(rs))
	var ratios []float64
	var done []string
	calls, limited, lost, unfinished := 0, 0, 0, 0
	for _, r := range rs {
		calls += r.calls
		limited += r.rateLimited
		lost += r.lost
		unfinished += r.unfinished
		if r.published < r.posts {
			done = append(done, "never done")
			continue
		}
		ratios = append(ratios, r.ratio())
		done = append(done, fmt.Sprintf("%.3f", r.ratio()))
	}
	fmt.Fprintf(&b, "Makespan / minimum, run by run (the first is the table's): %s.\n\n", strings.Join(done, ", "))
	if len(ratios) == len(rs) {
		sort.Float64s(ratios)
		fmt.Fprintf(&b, "Median %.3f, %.3f to %.3f; %d of %d runs within 2 %% of the minimum. ", median(ratios), ratios[0],
			ratios[len(ratios)-1], countAtMost(ratios, 1.02), len(ratios))
	}
	fmt.Fprintf(&b, "429s: %d of %d init calls; lost: %d; unfinished: %d.\n", limited, calls, lost, unfinished)
	return b.String()
}

// median of sorted values.
func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

func countAtMost(vs []float64, limit float64) int {
	n := 0
	for _, v := range vs {
		if v <= limit+1e-9 {
			n++
		}
	}
	return n
}

func burstTable(rs []result) string {
	var b strings.Builder
	b.WriteString("| contender | published | lost | unfinished | makespan / minimum | init calls | 429s (of calls) | " +
		"lockout extensions | API writes / post |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		fmt.Fprintf(&b, "| %s | %d / %d | %d | %d | %s | %d | %d (%s) | %d | %s |\n",
			r.contender, r.published, r.posts, r.lost, r.unfinished, ratioCell(r), r.calls, r.rateLimited,
			percent(r.rateLimited, r.calls), r.lockoutExt, writesCell(r))
	}
	return b.String()
}

// capTable shows the daily-cap rows: the refusals the cap cost and when the last post went, which can
// be no sooner than the cap frees.
func capTable(rs []result) string {
	var b strings.Builder
	b.WriteString("| contender | published | lost | unfinished | cap refusals (per account) | 429s | last init after the start |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		per := 0.0
		if r.accounts > 0 {
			per = float64(r.capRefused) / float64(r.accounts)
		}
		fmt.Fprintf(&b, "| %s | %d / %d | %d | %d | %d (%.1f) | %d | %s |\n", r.contender, r.published, r.posts, r.lost,
			r.unfinished, r.capRefused, per, r.rateLimited, r.lastInit.Round(10*time.Millisecond))
	}
	return b.String()
}

func steadyTable(rs []result) string {
	var b strings.Builder
	b.WriteString("| contender | accepted by the end of arrivals | mean latency | max latency | lost | unfinished | init calls | " +
		"429s (of calls) | lockout extensions | API writes / post |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		fmt.Fprintf(&b, "| %s | %d / %d (%s) | %s | %s | %d | %d | %d | %d (%s) | %d | %s |\n",
			r.contender, r.acceptedByEnd, r.arrivedByEnd, percent(r.acceptedByEnd, r.arrivedByEnd),
			latencyCell(r.meanLatency, r.window), latencyCell(r.maxLatency, r.window), r.lost, r.unfinished,
			r.calls, r.rateLimited, percent(r.rateLimited, r.calls), r.lockoutExt, writesCell(r))
	}
	return b.String()
}

func ratioCell(r result) string {
	if r.published < r.posts {
		// The makespan of a backlog that never got published is unbounded; the span of the few that did
		// (often one window's worth, at once) would read as a record.
		return fmt.Sprintf("never done: %d unpublished", r.posts-r.published)
	}
	return fmt.Sprintf("%.3f (%s)", r.ratio(), r.makespan.Round(10*time.Millisecond))
}

// latencyCell shows a latency in compressed seconds and in windows (which is scale-free).
func latencyCell(d, w time.Duration) string {
	return fmt.Sprintf("%.2f s (%.2f W)", d.Seconds(), float64(d)/float64(w))
}

func writesCell(r result) string {
	if wp := r.writesPerPost(); wp >= 0 {
		return fmt.Sprintf("%.2f", wp)
	}
	return notApplicable
}

func percent(n, of int) string {
	if of == 0 {
		return notApplicable
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(of))
}

// machine describes where the benchmark ran.
func machine() string {
	cpu := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if name, ok := strings.CutPrefix(line, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
				break
			}
		}
	}
	return fmt.Sprintf("%d CPUs (%s), %s/%s, %s", runtime.NumCPU(), cpu, runtime.GOOS, runtime.GOARCH, runtime.Version())
}

// loadAvg is the 1-minute load average (the machine is shared: it says how busy it was).
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return notApplicable
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return notApplicable
	}
	return f[0]
}
