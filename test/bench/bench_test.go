package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/tiktok-operator/tiktok-operator/internal/testenv"
)

// testKube is the API server the test's operator runs share (started by TestMain).
var testKube *kube

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	assets, err := testenv.Assets("")
	if err != nil {
		fmt.Fprintln(os.Stderr, "test/bench:", err)
		return 1
	}
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctrl.SetLogger(logr.Discard())
	if testKube, err = startKube(root, assets, logr.Discard()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = testKube.stop() }()
	return m.Run()
}

// TestContenders runs a tiny burst (2 accounts x 12 posts, factor 60: a 1 s window) through every
// contender with matching limits and checks what the benchmark's table rests on: tiktok-operator
// publishes everything without a 429 and no faster than physics allows, and every contender's
// figures agree with the simulator's own record.
func TestContenders(t *testing.T) {
	s := scale{factor: 60}
	sc := scenario{name: "limits match", realLimit: tiktokPerWindow, configuredLimit: tiktokPerWindow}
	w := burstWorkload(2, 12)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for _, c := range contenders(1, 0) {
		t.Run(c.name(), func(t *testing.T) {
			r, err := runOne(ctx, c, s, sc, w, testKube)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%+v", r)
			checkAccounting(t, r)
			switch c.(type) {
			case tiktokOperator:
				checkOperator(t, r)
			case retryLoop:
				checkRetryLoop(t, r)
			case naiveOperator:
				if r.lost != 0 {
					t.Errorf("the naive operator retries forever, yet %d posts are lost", r.lost)
				}
				if r.writes < r.published {
					t.Errorf("%d API writes for %d published posts: each publication is one status write", r.writes, r.published)
				}
			}
		})
	}
}

// checkAccounting holds for every contender: the posts are published, lost or unfinished, none twice,
// and every init call the simulator saw was either accepted or refused with a 429.
func checkAccounting(t *testing.T, r result) {
	t.Helper()
	if r.published+r.lost+r.unfinished != r.posts {
		t.Errorf("published %d + lost %d + unfinished %d != %d posts", r.published, r.lost, r.unfinished, r.posts)
	}
	if r.duplicates != 0 {
		t.Errorf("%d posts were published twice", r.duplicates)
	}
	if r.calls != r.published+r.rateLimited+r.capRefused {
		t.Errorf("the simulator saw %d init calls, but %d were accepted, %d refused with 429 and %d for the daily cap",
			r.calls, r.published, r.rateLimited, r.capRefused)
	}
}

func checkOperator(t *testing.T, r result) {
	t.Helper()
	if r.published != r.posts || r.lost != 0 || r.unfinished != 0 {
		t.Errorf("tiktok-operator published %d of %d posts (lost %d, unfinished %d)", r.published, r.posts, r.lost, r.unfinished)
	}
	if r.rateLimited != 0 || r.lockoutExt != 0 {
		t.Errorf("tiktok-operator was answered %d 429s (%d lockout extensions) with limits matching the simulator's",
			r.rateLimited, r.lockoutExt)
	}
	// No schedule can beat the minimum; a makespan below it means the measurement is wrong.
	if r.minimum <= 0 || float64(r.makespan) < 0.999*float64(r.minimum) {
		t.Errorf("makespan %s below the theoretical minimum %s", r.makespan, r.minimum)
	}
	if r.writes <= 0 {
		t.Errorf("no API-server write counted (%d) for %d published posts", r.writes, r.published)
	}
}

func checkRetryLoop(t *testing.T, r result) {
	t.Helper()
	// 12 posts an account through a window of 6 at once: the loop cannot help hitting the limit.
	if r.rateLimited == 0 {
		t.Errorf("the retry loop sent %d posts an account at once and was never answered 429", r.posts/2)
	}
	if r.seen429 != r.rateLimited {
		t.Errorf("the retry loop counted %d 429s, the simulator answered %d", r.seen429, r.rateLimited)
	}
	if r.unfinished != 0 || r.writes != -1 {
		t.Errorf("a retry loop has no unfinished posts (%d) and no API server (%d writes)", r.unfinished, r.writes)
	}
	// A post is lost only after its fifth 429.
	if r.rateLimited < retryAttempts*r.lost {
		t.Errorf("%d posts lost after only %d 429s: each needs %d", r.lost, r.rateLimited, retryAttempts)
	}
}

// TestMinimum pins the formula: 60 inits at 6 per 2 s window, 1/30 s apart, need 9 windows and 5 gaps.
func TestMinimum(t *testing.T) {
	s := scale{factor: 30}
	cases := []struct {
		n, per int
		want   time.Duration
	}{
		{1, 6, 0},
		{6, 6, 5 * s.minInterval()},
		{7, 6, s.window()},
		{60, 6, 9*s.window() + 5*s.minInterval()},
		{60, 4, 14*s.window() + 3*s.minInterval()},
	}
	for _, c := range cases {
		if got := minimum(c.n, c.per, s.window(), s.minInterval()); got != c.want {
			t.Errorf("minimum(%d, %d) = %s, want %s", c.n, c.per, got, c.want)
		}
	}
}

// TestIdealMatchesMinimum: the computed ideal pacer, given a burst, finishes each account exactly at
// the theoretical minimum, and a stream's arrivals are reproducible and at the asked load.
func TestIdealMatchesMinimum(t *testing.T) {
	s := scale{factor: 30}
	sc := scenario{name: "limits match", realLimit: 6, configuredLimit: 6}
	w := burstWorkload(1, 60)
	w.kind, w.arrivalsEnd = "steady", time.Hour
	r := idealSteady(w, sc, s)
	if want := minimum(60, 6, s.window(), s.minInterval()); r.maxLatency != want {
		t.Errorf("the ideal pacer's last post of a burst of 60 goes after %s, want the minimum %s", r.maxLatency, want)
	}
	a := steadyWorkload(4, 6, s.window(), 100*s.window(), 0.9, 7)
	b := steadyWorkload(4, 6, s.window(), 100*s.window(), 0.9, 7)
	if fmt.Sprint(a.arrivalOrder()) != fmt.Sprint(b.arrivalOrder()) {
		t.Error("the same seed gave different arrivals")
	}
	// 4 accounts x 100 windows x 5.4 posts: 2160 expected, standard deviation about 46.
	if n := a.total(); n < 1900 || n > 2400 {
		t.Errorf("%d arrivals at 90%% of 6 per window over 4 x 100 windows, want about 2160", n)
	}
}

// The repeated bursts' summary: the median and range of the ratio, how many runs are within 2 %, and
// a run that left posts unpublished is named, not averaged in.
func TestRepeatsText(t *testing.T) {
	run := func(ratio float64, published int) result {
		return result{posts: 10, published: published, minimum: time.Second,
			makespan: time.Duration(ratio * float64(time.Second)), calls: 10}
	}
	got := repeatsText([]result{run(1.025, 10), run(1.010, 10), run(1.019, 10), run(1.020, 10), run(1.030, 10)})
	for _, want := range []string{"over 5 runs", "1.025, 1.010, 1.019, 1.020, 1.030", "Median 1.020, 1.010 to 1.030",
		"3 of 5 runs within 2 %", "429s: 0 of 50 init calls"} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
	got = repeatsText([]result{run(1.01, 10), run(1.5, 9)})
	if !strings.Contains(got, "1.010, never done") || strings.Contains(got, "Median") {
		t.Errorf("a run with unpublished posts must be named and leave no median:\n%s", got)
	}
}

// The scenarios' simulator configurations: the burst rule stays off unless a scenario turns it on (then
// TikTok's 1 s compressed), and the daily cap is the benchmark's unreachable one over a real day unless a
// scenario keeps TikTok's own over a compressed day, in which case another app's posts made foreignAgo
// before the start leave it 24 h - foreignAgo (compressed) after the start.
func TestScenarioConfig(t *testing.T) {
	s := scale{factor: 30}
	day := s.d(24 * time.Hour)
	cases := []struct {
		name       string
		sc         scenario
		burst      bool
		capPosts   int
		capWindow  time.Duration
		capFreesIn time.Duration
	}{
		{"limits match", matchingScenario(), false, benchDailyCap, 24 * time.Hour, 0},
		{"burst rule on", scenario{realLimit: 6, configuredLimit: 6, burstRule: true}, true, benchDailyCap, 24 * time.Hour, 0},
		{"cap half used elsewhere", scenario{realLimit: 6, configuredLimit: 6, dailyCap: tiktokDailyCap,
			foreignPosts: capForeignPosts, foreignAgo: capForeignAgo}, false, tiktokDailyCap, day, s.d(30 * time.Minute)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := s.simConfig(c.sc)
			if cfg.Burst.Enabled != c.burst || (c.burst && (cfg.Burst.Calls != burstCalls || cfg.Burst.Within.D() != s.d(time.Second))) {
				t.Errorf("burst rule %+v, want enabled=%v (%d calls within %s)", cfg.Burst, c.burst, burstCalls, s.d(time.Second))
			}
			if cfg.DailyPosts.Requests != c.capPosts || cfg.DailyPosts.Window.D() != c.capWindow {
				t.Errorf("daily cap %d per %s, want %d per %s", cfg.DailyPosts.Requests, cfg.DailyPosts.Window.D(), c.capPosts, c.capWindow)
			}
			if got := c.sc.capFreesAfter(s); got != c.capFreesIn {
				t.Errorf("the cap frees %s after the start, want %s", got, c.capFreesIn)
			}
			if err := cfg.Validate(); err != nil {
				t.Errorf("the simulator refuses the configuration: %v", err)
			}
		})
	}
}
