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
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/controllers"
	"github.com/tiktok-operator/tiktok-operator/internal/plugin"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
	"github.com/tiktok-operator/tiktok-operator/test/fixture"
)

const (
	appKey    = "ck-desktop-app"
	appSecret = "cs.DESKTOP-APP-CLIENT-SECRET"
	creator   = "dana"
)

// world is one test's namespace, a tiktok-sim over real HTTP (real clock: the operator runs on it too)
// with a desktop app, and, when started, the production controllers in this process.
type world struct {
	t   *testing.T
	ns  string
	sim *tiktoksim.Server
	srv *httptest.Server
}

func newWorld(t *testing.T, registered string) *world {
	t.Helper()
	useCluster(t)
	scfg := tiktoksim.DefaultConfig()
	scfg.Apps = []tiktoksim.App{{ClientKey: appKey, ClientSecret: appSecret, RedirectURIs: []string{registered},
		Creators: []string{creator}}}
	w := &world{t: t, sim: tiktoksim.New(scfg)}
	w.srv = httptest.NewServer(w.sim)
	t.Cleanup(w.srv.Close)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "connect-"}}
	if err := k8sClient.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	w.ns = ns.Name
	return w
}

// startOperator runs controllers.Setup in this process, watching the test's namespace, allowed to call
// the simulator. The function it returns stops the operator (the test's cleanup does too).
func (w *world) startOperator() (stop func()) {
	w.t.Helper()
	allowed, err := controllers.ParseAllowedEndpoints(w.srv.URL)
	if err != nil {
		w.t.Fatal(err)
	}
	logs := &fixture.SyncBuffer{}
	stopErr, err := plugin.StartTestOperator(cfg, scheme.Scheme, w.ns, controllers.Options{AllowedEndpoints: allowed,
		AccountStatusInterval: 500 * time.Millisecond, CallTimeout: 5 * time.Second,
		TokenRefreshMinInterval: 300 * time.Millisecond, AccountLeaseDuration: 3 * time.Second}, logs)
	if err != nil {
		w.t.Fatal(err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			if err := stopErr(); err != nil {
				w.t.Errorf("the manager stopped with an error: %v", err)
			}
		})
	}
	w.t.Cleanup(func() {
		stop()
		for _, s := range w.secrets() {
			if strings.Contains(logs.String(), s) {
				w.t.Errorf("the operator's log shows a secret")
			}
		}
	})
	return stop
}

// secrets are the app's client secret and the creator's newest tokens.
func (w *world) secrets() []string {
	out := []string{appSecret}
	if access, refresh, err := w.sim.Tokens(creator); err == nil {
		for _, tok := range []string{access, refresh} {
			if tok != "" { // an account that was never issued tokens has none
				out = append(out, tok)
			}
		}
	}
	return out
}

// connectRun is a `kubectl tiktok connect` running in the background.
type connectRun struct {
	out  *fixture.SyncBuffer
	done chan error
}

// connect starts `kubectl tiktok --kubeconfig K -n NS connect ACCOUNT ... --no-browser` with the client
// secret on stdin.
func (w *world) connect(account string, extra ...string) *connectRun {
	w.t.Helper()
	r := &connectRun{out: &fixture.SyncBuffer{}, done: make(chan error, 1)}
	root := plugin.NewRootCommand(genericiooptions.IOStreams{In: strings.NewReader(appSecret + "\n"), Out: r.out, ErrOut: r.out})
	args := []string{"--kubeconfig", kubeconfig, "-n", w.ns, "connect", account, "--client-key", appKey,
		"--endpoint", w.srv.URL, "--no-browser"}
	if !slicesContains(extra, "--timeout") {
		args = append(args, "--timeout", "60s")
	}
	root.SetArgs(append(args, extra...))
	go func() { r.done <- root.Execute() }()
	return r
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

var authURLRe = regexp.MustCompile(`(?m)^\s+(http://127\.0\.0\.1:\d+/v2/auth/authorize/\?\S+)$`)

// authorizeURL waits for the URL connect prints.
func (r *connectRun) authorizeURL(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := authURLRe.FindStringSubmatch(r.out.String()); m != nil {
			return m[1]
		}
		select {
		case err := <-r.done:
			t.Fatalf("connect ended before printing the URL: %v\n%s", err, r.out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("connect printed no authorize URL:\n%s", r.out.String())
	return ""
}

// wait returns connect's result.
func (r *connectRun) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		return err
	case <-time.After(90 * time.Second):
		t.Fatalf("connect did not end:\n%s", r.out.String())
		return nil
	}
}

var consentIDRe = regexp.MustCompile(`name="consent_id" value="([^"]+)"`)

// noFollow is an HTTP client that shows redirects instead of following them.
var noFollow = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// consent plays the creator on the consent page at authURL: it fetches the page, submits its form with
// decision (authorize or deny) and returns where TikTok redirects (not followed).
func consent(t *testing.T, authURL, decision string) *url.URL {
	t.Helper()
	status, page := get(t, authURL)
	m := consentIDRe.FindStringSubmatch(page)
	if status != http.StatusOK || m == nil || !strings.Contains(page, "@"+creator) {
		t.Fatalf("consent page: HTTP %d\n%s", status, page)
	}
	u, _ := url.Parse(authURL)
	action := u.Scheme + "://" + u.Host + tiktoksim.AuthorizePath
	resp, err := noFollow.PostForm(action, url.Values{"consent_id": {m[1]}, "creator": {creator}, "decision": {decision}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if resp.StatusCode != http.StatusFound || err != nil {
		t.Fatalf("consent form: HTTP %d, location %v", resp.StatusCode, err)
	}
	return loc
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := noFollow.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// nothingWritten checks that the namespace holds neither the account's Secret nor its AccountQuota.
func (w *world) nothingWritten(account string) {
	w.t.Helper()
	ctx := context.Background()
	if err := k8sClient.Get(ctx, types.NamespacedName{Namespace: w.ns, Name: account + "-tiktok"}, &corev1.Secret{}); !apierrors.IsNotFound(err) {
		w.t.Errorf("Secret %s-tiktok: %v, want NotFound", account, err)
	}
	if err := k8sClient.Get(ctx, types.NamespacedName{Namespace: w.ns, Name: account}, &v1alpha1.AccountQuota{}); !apierrors.IsNotFound(err) {
		w.t.Errorf("AccountQuota %s: %v, want NotFound", account, err)
	}
}
