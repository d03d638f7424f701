package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/testenv"
)

// testConfig is the demo shrunk for a test: 12 posts, 6 inits per 3 s windows, 100 ms apart, with the
// real control plane (KUBEBUILDER_ASSETS, set by make test) and a tiktok-sim built for the test.
func testConfig(t *testing.T) config {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	assets, err := testenv.Assets("")
	if err != nil {
		t.Fatal(err)
	}
	sim := filepath.Join(t.TempDir(), "tiktok-sim")
	build := exec.Command("go", "build", "-o", sim, "./cmd/tiktok-sim")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building tiktok-sim: %v\n%s", err, out)
	}
	cfg := compressedConfig()
	cfg.Assets, cfg.CRDDir, cfg.SimBinary = assets, filepath.Join(root, "config", "crd", "bases"), sim
	cfg.Window, cfg.MinInterval, cfg.ProcessingDelay = 3*time.Second, 100*time.Millisecond, 300*time.Millisecond
	cfg.Posts = minPosts
	cfg.PlainEvery = time.Second
	plain := false
	cfg.Terminal = &plain
	return cfg
}

// syncWriter collects the demo's output; onLine, when set, sees every write.
type syncWriter struct {
	mu     sync.Mutex
	b      bytes.Buffer
	onLine func(string)
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.onLine != nil {
		w.onLine(string(p))
	}
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

var (
	kubeconfigLine = regexp.MustCompile(`kubeconfig: (\S+)`)
	simLine        = regexp.MustCompile(`tiktok-sim listening on http://(127\.0\.0\.1:\d+)`)
)

// TestDemoRunsToTheEnd runs the demo's main logic with a small fast configuration to completion and
// checks its summary: every post ended as planned, the two bad posts failed with their reasons, the
// simulator answered no 429, and nothing secret or left over remains. It then runs the demo again and
// interrupts it once the posts are applied (Ctrl-C): a second run must start clean, and an interrupted
// one must stop everything and remove its folder.
func TestDemoRunsToTheEnd(t *testing.T) {
	cfg := testConfig(t)
	out := &syncWriter{}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sum, err := run(ctx, cfg, out)
	t.Logf("demo output:\n%s", out.String())
	if err != nil {
		t.Fatalf("the demo failed: %v", err)
	}

	if sum.Posts != minPosts {
		t.Errorf("%d posts in the summary, want %d", sum.Posts, minPosts)
	}
	if len(sum.Unexpected) != 0 {
		t.Errorf("posts ended otherwise than planned: %v", sum.Unexpected)
	}
	reasons := map[string]string{}
	for _, f := range sum.Failed {
		reasons[f.Post] = f.Reason
		if f.Message == "" {
			t.Errorf("failed post %s has no message", f.Post)
		}
	}
	wantFailed := map[string]string{"main-bad-media-url": v1alpha1.ReasonMediaURLNotAllowed,
		"jo-bad-privacy": v1alpha1.ReasonPrivacyLevelNotAllowed}
	if len(reasons) != len(wantFailed) {
		t.Errorf("failed posts %v, want exactly %v", reasons, wantFailed)
	}
	for name, r := range wantFailed {
		if reasons[name] != r {
			t.Errorf("%s failed with %q, want %q", name, reasons[name], r)
		}
	}
	if got := sum.Published + sum.Delivered + len(sum.Failed); got != minPosts {
		t.Errorf("published %d + delivered %d + failed %d = %d, want every one of %d posts ended",
			sum.Published, sum.Delivered, len(sum.Failed), got, minPosts)
	}
	if sum.Delivered != 2 {
		t.Errorf("%d inbox drafts delivered, want 2", sum.Delivered)
	}
	if sum.RateLimited != 0 {
		t.Errorf("the simulator answered %d 429s, want 0", sum.RateLimited)
	}
	for _, a := range sum.Accounts {
		t.Logf("%s: inits %v, makespan %s, minimum %s, fullest window %d/%d", a.Account, a.Inits, a.Makespan, a.Minimum, a.MaxInWindow, a.Limit)
		if a.MaxInWindow > a.Limit || len(a.Inits) == 0 {
			t.Errorf("%s: fullest window %d (limit %d), inits %v", a.Account, a.MaxInWindow, a.Limit, a.Inits)
		}
		// The simulator stamps a call when it reads it, so stamps can be a little closer than the
		// operator's send times; far below the minimum would mean the figures are wrong.
		if a.Makespan < a.Minimum*9/10 {
			t.Errorf("%s: makespan %s below the minimum %s", a.Account, a.Makespan, a.Minimum)
		}
	}
	if len(sum.problems()) != 0 {
		t.Errorf("the summary lists problems: %v", sum.problems())
	}

	text := out.String()
	for _, want := range []string{"kubeconfig: ", "kubectl get tiktok -A -w", "Summary after", "429s answered by the simulator: 0",
		"PrivacyLevelNotAllowed", "MediaURLNotAllowed", "every post ended as planned"} {
		if !strings.Contains(text, want) {
			t.Errorf("the output lacks %q", want)
		}
	}
	// The demo ends with the plugin's status of every account (the last part of the output).
	_, status, found := strings.Cut(text, "kubectl tiktok status -A\n")
	if !found {
		t.Errorf("the output does not end with kubectl tiktok status -A")
	}
	for _, a := range sampleAccounts {
		if !strings.Contains(status, "ACCOUNT  "+namespace+"/"+a.Name) {
			t.Errorf("kubectl tiktok status -A does not show account %s", a.Name)
		}
	}
	if n := len(regexp.MustCompile(`(?m)^Ready +True \(AccountReady\)$`).FindAllString(status, -1)); n != len(sampleAccounts) {
		t.Errorf("kubectl tiktok status -A shows %d accounts Ready, want %d", n, len(sampleAccounts))
	}
	for _, want := range []string{"QUEUE: empty", "IN FLIGHT: none", "MediaURLNotAllowed", "PrivacyLevelNotAllowed"} {
		if !strings.Contains(status, want) {
			t.Errorf("kubectl tiktok status -A lacks %q", want)
		}
	}
	if strings.Contains(text, "\x1b[") {
		t.Errorf("plain output contains terminal escapes")
	}
	if len(sum.secrets) != 3*len(sampleAccounts) {
		t.Errorf("%d credential values recorded, want %d", len(sum.secrets), 3*len(sampleAccounts))
	}
	for _, s := range sum.secrets {
		if s == "" || strings.Contains(text, s) {
			t.Errorf("a credential value is empty or appears in the demo's output")
		}
	}
	checkCleanedUp(t, text)

	// Second run, interrupted like Ctrl-C once the posts are applied.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel2()
	out2 := &syncWriter{onLine: func(s string) {
		if strings.Contains(s, "applied ") {
			cancel2()
		}
	}}
	_, err = run(ctx2, cfg, out2)
	t.Logf("interrupted run output:\n%s", out2.String())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("the interrupted run returned %v, want context.Canceled", err)
	}
	if kubeconfigLine.FindStringSubmatch(out2.String())[1] == kubeconfigLine.FindStringSubmatch(text)[1] {
		t.Errorf("the second run reused the first run's folder")
	}
	checkCleanedUp(t, out2.String())
}

// checkCleanedUp checks that a finished run removed its folder and stopped its simulator.
func checkCleanedUp(t *testing.T, text string) {
	t.Helper()
	m := kubeconfigLine.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no kubeconfig path in the output")
	}
	if _, err := os.Stat(filepath.Dir(m[1])); !os.IsNotExist(err) {
		t.Errorf("the demo's folder %s is still there (stat: %v)", filepath.Dir(m[1]), err)
	}
	s := simLine.FindStringSubmatch(text)
	if s == nil {
		t.Fatalf("no simulator address in the output")
	}
	if conn, err := net.DialTimeout("tcp", s[1], time.Second); err == nil {
		_ = conn.Close()
		t.Errorf("the simulator at %s still answers after the demo ended", s[1])
	}
}

// TestPlanPosts checks the sample plan without a cluster: the requested count, unique names, both bad
// posts, every kind present, and no FileUpload post without a media server.
func TestPlanPosts(t *testing.T) {
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, n := range []int{minPosts, 40} {
		for _, media := range []string{"https://127.0.0.1:4443", ""} {
			plan := planPosts(n, media, start, 10*time.Second)
			if len(plan) != n {
				t.Fatalf("n=%d: %d posts planned", n, len(plan))
			}
			names := map[string]bool{}
			kinds := map[string]int{}
			perAccount := map[string]int{}
			for _, p := range plan {
				s := p.Post.Spec
				if names[p.Post.Name] {
					t.Errorf("n=%d: name %s twice", n, p.Post.Name)
				}
				names[p.Post.Name] = true
				perAccount[s.AccountRef.Name]++
				switch {
				case s.Photo != nil:
					kinds["photo"]++
				case s.Video.Transfer == v1alpha1.TransferFileUpload:
					kinds["upload"]++
				default:
					kinds["url"]++
				}
				if s.Mode == v1alpha1.ModeUpload {
					kinds["inbox"]++
				}
				if s.PublishAt != nil {
					kinds["scheduled"]++
					if !s.PublishAt.After(start) {
						t.Errorf("%s is scheduled at %s, not after the start", p.Post.Name, s.PublishAt)
					}
				}
				if p.Expect.Phase == v1alpha1.PhaseFailed {
					kinds["fail:"+p.Expect.Reason]++
				}
			}
			for _, k := range []string{"photo", "url", "inbox", "scheduled", "fail:" + v1alpha1.ReasonPrivacyLevelNotAllowed,
				"fail:" + v1alpha1.ReasonMediaURLNotAllowed} {
				if kinds[k] == 0 {
					t.Errorf("n=%d media=%q: no %s post (%v)", n, media, k, kinds)
				}
			}
			if (kinds["upload"] > 0) != (media != "") {
				t.Errorf("n=%d media=%q: %d FileUpload posts", n, media, kinds["upload"])
			}
			for _, a := range sampleAccounts {
				if perAccount[a.Name] < 3 {
					t.Errorf("n=%d: account %s has %d posts", n, a.Name, perAccount[a.Name])
				}
			}
		}
	}
}

// TestMinimumMakespan pins the formula on the figures the README quotes.
func TestMinimumMakespan(t *testing.T) {
	w, mi := 3*time.Second, 100*time.Millisecond
	for _, c := range []struct {
		n    int
		want time.Duration
	}{{0, 0}, {1, 0}, {6, 500 * time.Millisecond}, {7, 3 * time.Second}, {30, 12*time.Second + 500*time.Millisecond}} {
		if got := minimumMakespan(c.n, 6, w, mi); got != c.want {
			t.Errorf("minimumMakespan(%d) = %s, want %s", c.n, got, c.want)
		}
	}
}

// TestViewRedrawsInPlace checks the terminal mode moves the cursor back over the last frame and the
// plain mode prints whole frames, no more often than asked.
func TestViewRedrawsInPlace(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s := snapshot{Accounts: []v1alpha1.AccountQuota{{}}, Posts: []v1alpha1.TikTokPost{{}, {}}}
	s.Accounts[0].Name = "brand-main"
	s.Accounts[0].Status.Usage = []v1alpha1.LimitUsage{{Name: "postInit/video", Limit: 6, Used: 6,
		NextSlotAt: &metav1.Time{Time: now.Add(3 * time.Second)}}}
	var tty bytes.Buffer
	v := &progressView{out: &tty, tty: true, start: now}
	v.update(s, now, false)
	if strings.Contains(tty.String(), "\x1b[3A") {
		t.Errorf("the first frame moves up: %q", tty.String())
	}
	if !strings.Contains(tty.String(), "video-init 6/6 (next +3s)") || !strings.Contains(tty.String(), "Pending 2") {
		t.Errorf("the frame lacks the window or the phases: %q", tty.String())
	}
	tty.Reset()
	v.update(s, now.Add(time.Second), false)
	if !strings.HasPrefix(tty.String(), "\x1b[3A\x1b[2K") {
		t.Errorf("the second frame does not move up over the 3 lines of the first: %q", tty.String())
	}

	var plain bytes.Buffer
	p := &progressView{out: &plain, start: now, every: 5 * time.Second}
	p.update(s, now, false)
	p.update(s, now.Add(time.Second), false)
	if n := strings.Count(plain.String(), "posts:"); n != 1 {
		t.Errorf("plain mode printed %d frames in a second, want 1", n)
	}
	p.update(s, now.Add(2*time.Second), true)
	if n := strings.Count(plain.String(), "posts:"); n != 2 || strings.Contains(plain.String(), "\x1b[") {
		t.Errorf("plain mode: %d frames after a forced one, or escapes: %q", n, plain.String())
	}
}
