/*
Copyright 2026 The tiktok-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package plugin_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath finds the Chromium binary; the test fails without one, saying how to install it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no chromium on PATH: install it with `apt-get install -y chromium` (Debian; .ci/run does)")
	return ""
}

// TestConnectWithARealBrowser: headless Chromium opens the URL connect prints, presses Authorize on the
// consent page, follows TikTok's redirect to connect's loopback listener and shows its page; connect
// finishes with the account Ready.
func TestConnectWithARealBrowser(t *testing.T) {
	exe := chromiumPath(t)
	w := newWorld(t, desktopRedirect)
	w.startOperator()
	run := w.connect("dana", "--client-secret-from-file", "-")
	authURL := run.authorizeURL(t)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.UserDataDir(t.TempDir()))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses to run its sandbox as root (CI containers)
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	bctx, cancel = context.WithTimeout(bctx, 60*time.Second)
	defer cancel()
	fail := func(step string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("chromium, %s: %v\nconnect's output:\n%s", step, err, run.out.String())
		}
	}
	fail("consent page", chromedp.Do(bctx, chromedp.Navigate(authURL), chromedp.WaitVisible(chromedp.ID("authorize"))))
	handle, err := chromedp.Run(bctx, chromedp.Text(chromedp.ID("creator")))
	fail("creator", err)
	fail("Authorize", chromedp.Do(bctx, chromedp.Click(chromedp.ID("authorize")), chromedp.WaitVisible(chromedp.ID("title"))))
	title, err := chromedp.Run(bctx, chromedp.Text(chromedp.ID("title")))
	fail("title", err)
	message, err := chromedp.Run(bctx, chromedp.Text(chromedp.ID("message")))
	fail("message", err)
	finalURL, err := chromedp.Run(bctx, chromedp.Location())
	fail("location", err)
	if !strings.Contains(handle, "@"+creator) {
		t.Errorf("the consent page shows %q, want @%s", handle, creator)
	}
	if title != "Authorized" || !strings.Contains(message, "You may close this tab") || !strings.HasPrefix(finalURL, "http://127.0.0.1:") ||
		!strings.Contains(finalURL, "/callback/?") {
		t.Fatalf("the browser ended on %s: %q %q", finalURL, title, message)
	}
	if err := run.wait(t); err != nil {
		t.Fatalf("connect: %v\n%s", err, run.out.String())
	}
	if !strings.Contains(run.out.String(), "creator @"+creator) {
		t.Fatalf("connect's output lacks the creator:\n%s", run.out.String())
	}
}
