package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/controllers"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
)

// listener is a server that must hear nothing: it counts what reaches it (by path) and keeps the
// bodies, and answers like TikTok saying "ok", so that an operator that did call it would carry on.
type listener struct {
	srv    *httptest.Server
	mu     sync.Mutex
	paths  []string
	bodies strings.Builder
}

func newListener(t *testing.T, tls bool) *listener {
	t.Helper()
	l := &listener{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		l.mu.Lock()
		l.paths = append(l.paths, r.Method+" "+r.URL.Path)
		l.bodies.WriteString(r.Header.Get("Authorization") + " " + string(b) + "\n")
		l.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"data":{"creator_username":"stolen","privacy_level_options":["PUBLIC_TO_EVERYONE"],`+
			`"publish_id":"p.stolen","status":"PUBLISH_COMPLETE","access_token":"act.stolen","expires_in":86400},"error":{"code":"ok"}}`)
	})
	if tls {
		l.srv = httptest.NewTLSServer(h)
	} else {
		l.srv = httptest.NewServer(h)
	}
	t.Cleanup(l.srv.Close)
	return l
}

// heard is what reached the listener: the number of requests, their count by method and path, and the
// secrets (cut to their prefix) that their headers and bodies carried.
func (l *listener) heard(secrets ...string) (n int, paths map[string]int, leaked []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range secrets {
		if s != "" && strings.Contains(l.bodies.String(), s) {
			leaked = append(leaked, s[:min(len(s), 6)]+"...")
		}
	}
	paths = map[string]int{}
	for _, p := range l.paths {
		paths[p]++
	}
	return len(l.paths), paths, leaked
}

func (e *env) getAccount(name string) *v1alpha1.AccountQuota {
	e.t.Helper()
	aq := &v1alpha1.AccountQuota{}
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: e.ns, Name: name}, aq); err != nil {
		e.t.Fatal(err)
	}
	return aq
}

// accountSecrets are the credentials the simulator issued to the account (they must never reach a host
// the manager does not admit).
func (e *env) accountSecrets(name string) []string {
	e.t.Helper()
	sec := &corev1.Secret{}
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: e.ns, Name: name + "-tiktok"}, sec); err != nil {
		e.t.Fatal(err)
	}
	return []string{string(sec.Data[v1alpha1.SecretKeyClientSecret]), string(sec.Data[v1alpha1.SecretKeyAccessToken]),
		string(sec.Data[v1alpha1.SecretKeyRefreshToken])}
}

// warningEvents lists the Warning Events of the namespace with the reason about the named object.
func (e *env) warningEvents(reason, regarding string) []eventsv1.Event {
	e.t.Helper()
	var evs eventsv1.EventList
	if err := k8sClient.List(context.Background(), &evs, client.InNamespace(e.ns)); err != nil {
		e.t.Fatal(err)
	}
	var out []eventsv1.Event
	for _, ev := range evs.Items {
		if ev.Type == corev1.EventTypeWarning && ev.Reason == reason && ev.Regarding.Name == regarding {
			out = append(out, ev)
		}
	}
	return out
}

// accountReady is the account's Ready condition (nil before the first reconcile).
func (e *env) accountReady(name string) *readyView {
	aq := e.getAccount(name)
	c := meta.FindStatusCondition(aq.Status.Conditions, v1alpha1.ConditionReady)
	if c == nil {
		return nil
	}
	return &readyView{status: string(c.Status), reason: c.Reason, message: c.Message,
		stalled: meta.IsStatusConditionTrue(aq.Status.Conditions, v1alpha1.ConditionStalled)}
}

type readyView struct {
	status, reason, message string
	stalled                 bool
}

// published says whether every post whose name starts with prefix is Published.
func published(prefix string, n int) func([]v1alpha1.TikTokPost) bool {
	return func(ps []v1alpha1.TikTokPost) bool {
		got := 0
		for _, p := range ps {
			if strings.HasPrefix(p.Name, prefix) && p.Status.Phase == v1alpha1.PhasePublished {
				got++
			}
		}
		return got == n
	}
}

// TestEndpointNotAdmittedIsNeverCalled: a namespace user points an AccountQuota at an https server of
// theirs. The manager's transport trusts that server's certificate, so TLS would not stop it: only
// --allowed-endpoints does. Not one request reaches it (no token refresh, although one is due at once, no
// creator_info, no init), the account reports EndpointNotAllowed (Stalled, a Warning Event naming the
// flag), its post waits, and the namespace's other account, on the admitted simulator, publishes as usual.
func TestEndpointNotAdmittedIsNeverCalled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	foreign := newListener(t, true)
	e.account("brand")
	e.account("taken", func(aq *v1alpha1.AccountQuota) { aq.Spec.Endpoint = foreign.srv.URL })
	for i := range 8 {
		e.post(fmt.Sprintf("brand-%d", i), "brand", nil)
	}
	e.post("taken-1", "taken", nil)

	opts := fastOptions()
	opts.APITransport = foreign.srv.Client().Transport
	opts.AllowedEndpoints = controllers.MustParseAllowedEndpoints(e.simURL)
	e.startManager(opts)
	secrets := e.accountSecrets("taken")
	defer func() { // also when a wait below gives up
		if n, paths, leaked := foreign.heard(secrets...); n != 0 {
			t.Errorf("%d requests reached the endpoint the manager does not admit (%v); they carried %v", n, paths, leaked)
		}
	}()

	e.waitPosts(time.Minute, published("brand-", 8))
	waitFor(t, 30*time.Second, "AccountQuota taken to report EndpointNotAllowed", func() bool {
		r := e.accountReady("taken")
		return r != nil && r.reason == v1alpha1.ReasonEndpointNotAllowed
	})
	if r := e.accountReady("taken"); r.status != "False" || !r.stalled || !strings.Contains(r.message, "--allowed-endpoints") ||
		!strings.Contains(r.message, foreign.srv.URL) {
		t.Errorf("taken: Ready %+v; want False, Stalled, naming the endpoint and --allowed-endpoints", r)
	}
	waitFor(t, 10*time.Second, "a Warning Event EndpointNotAllowed on AccountQuota taken", func() bool {
		return len(e.warningEvents(v1alpha1.ReasonEndpointNotAllowed, "taken")) > 0
	})
	if evs := e.warningEvents(v1alpha1.ReasonEndpointNotAllowed, "taken"); !strings.Contains(evs[0].Note, "--allowed-endpoints") {
		t.Errorf("the Event says %q; want it to name --allowed-endpoints", evs[0].Note)
	}
	time.Sleep(2 * e.window) // what a refresh or a creator_info retry would take
	p := e.getPost("taken-1")
	if p.Status.Phase == v1alpha1.PhaseFailed || readyReason(p) != v1alpha1.ReasonAccountNotReady ||
		!meta.IsStatusConditionTrue(p.Status.Conditions, v1alpha1.ConditionStalled) {
		t.Errorf("taken-1: phase %s, Ready reason %s, conditions %+v; want it waiting, Stalled on AccountNotReady",
			p.Status.Phase, readyReason(p), p.Status.Conditions)
	}
	st := e.sim.Stats()
	for _, ep := range []string{tiktoksim.EndpointOAuthToken, tiktoksim.EndpointCreatorInfo, tiktoksim.EndpointVideoInit} {
		if n := st.Get(e.ns+"-taken", ep).Calls; n != 0 {
			t.Errorf("the simulator got %d %s calls for taken", n, ep)
		}
	}
	assertAllPublishedOnce(t, e, onlyPrefix(e.posts(), "brand-"))
}

func onlyPrefix(ps []v1alpha1.TikTokPost, prefix string) []v1alpha1.TikTokPost {
	var out []v1alpha1.TikTokPost
	for _, p := range ps {
		if strings.HasPrefix(p.Name, prefix) {
			out = append(out, p)
		}
	}
	return out
}

// redirector answers every request with a 307 to target (same path and query): an admitted endpoint
// that sends the operator elsewhere. It counts what it answered, by path.
type redirector struct {
	srv *httptest.Server
	mu  sync.Mutex
	got map[string]int
}

func newRedirector(t *testing.T, target string) *redirector {
	t.Helper()
	r := &redirector{got: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.got[req.URL.Path]++
		r.mu.Unlock()
		http.Redirect(w, req, target+req.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *redirector) count(path string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got[path]
}

// uploadMover serves the simulator, but moves the upload_url of every init answer to another host (the
// path and the upload token kept): an admitted endpoint whose answer names a host the operator does not
// trust for uploads.
func uploadMover(t *testing.T, sim http.Handler, to string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		var m map[string]any
		if json.Unmarshal(body, &m) == nil {
			if d, ok := m["data"].(map[string]any); ok {
				if u, ok := d["upload_url"].(string); ok {
					if pu, err := url.Parse(u); err == nil {
						d["upload_url"] = to + pu.RequestURI()
						body, _ = json.Marshal(m)
					}
				}
			}
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		_, _ = io.Copy(w, bytes.NewReader(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestRedirectsAndForeignUploadURLsGoNowhere: admitted endpoints that misbehave. One answers every call
// with a 307 to an internal http server: the token refresh (due at once for one account: its Secret
// records no expiry) and creator_info (for another, whose token is fresh) are not followed there, so
// neither the client secret nor the tokens reach it; both accounts stall and their posts wait. Another
// endpoint serves TikTok (the simulator) but names an upload_url on a host the operator does not trust:
// the FileUpload post fails with UploadURLNotAllowed and nothing reaches that host, while a post by URL of
// the same account publishes. A third account, on the simulator itself, publishes as usual.
func TestRedirectsAndForeignUploadURLsGoNowhere(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	internal := newListener(t, false)
	untrusted := newListener(t, false)
	redir := newRedirector(t, internal.srv.URL)
	mover := uploadMover(t, e.sim, untrusted.srv.URL)
	media, _ := mediaServer(t, 1<<20)

	e.account("brand")
	e.account("refresh", func(aq *v1alpha1.AccountQuota) { aq.Spec.Endpoint = redir.srv.URL })
	e.account("creator", func(aq *v1alpha1.AccountQuota) { aq.Spec.Endpoint = redir.srv.URL })
	sec := &corev1.Secret{}
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: e.ns, Name: "creator-tiktok"}, sec); err != nil {
		t.Fatal(err)
	}
	sec.Data[v1alpha1.SecretKeyAccessTokenExpiresAt] = []byte(time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339))
	if err := k8sClient.Update(context.Background(), sec); err != nil {
		t.Fatal(err)
	}
	e.account("moved", func(aq *v1alpha1.AccountQuota) {
		aq.Spec.Endpoint = mover.URL
		aq.Spec.AllowedMediaPrefixes = append(aq.Spec.AllowedMediaPrefixes, media.URL+"/")
	})
	for i := range 8 {
		e.post(fmt.Sprintf("brand-%d", i), "brand", nil)
	}
	e.post("refresh-1", "refresh", nil)
	e.post("creator-1", "creator", nil)
	e.post("moved-upload", "moved", func(s *v1alpha1.TikTokPostSpec) {
		s.Video.URL = media.URL + "/clip.mp4"
		s.Video.Transfer = v1alpha1.TransferFileUpload
	})
	e.post("moved-byurl", "moved", nil)

	opts := fastOptions()
	opts.MediaClient = media.Client()
	opts.AllowedEndpoints = controllers.MustParseAllowedEndpoints(e.simURL + "," + redir.srv.URL + "," + mover.URL)
	e.startManager(opts)
	secrets := append(e.accountSecrets("refresh"), e.accountSecrets("creator")...)
	defer func() { // also when a wait below gives up
		if n, paths, leaked := internal.heard(secrets...); n != 0 {
			t.Errorf("%d requests reached the redirect's internal target (%v); they carried %v", n, paths, leaked)
		}
		if n, paths, leaked := untrusted.heard(e.accountSecrets("moved")...); n != 0 {
			t.Errorf("%d requests reached the untrusted upload host (%v); they carried %v", n, paths, leaked)
		}
	}()

	e.waitPosts(time.Minute, published("brand-", 8))
	e.waitPosts(time.Minute, func(ps []v1alpha1.TikTokPost) bool {
		return phaseOf(ps, "moved-upload") == v1alpha1.PhaseFailed && phaseOf(ps, "moved-byurl") == v1alpha1.PhasePublished
	})
	up := e.getPost("moved-upload")
	c := meta.FindStatusCondition(up.Status.Conditions, v1alpha1.ConditionReady)
	host := strings.TrimPrefix(untrusted.srv.URL, "http://")
	if c == nil || c.Reason != v1alpha1.ReasonUploadURLNotAllowed || !strings.Contains(c.Message, host) ||
		!strings.Contains(c.Message, "--allowed-upload-hosts") || strings.Contains(c.Message, "upload_token") {
		t.Errorf("moved-upload: Ready %+v; want UploadURLNotAllowed naming %s and --allowed-upload-hosts, not the token", c, host)
	}
	if up.Status.PublishID == "" || len(up.Status.AttemptHistory) != 1 {
		t.Errorf("moved-upload: publish id %q, history %+v; want TikTok's acceptance recorded, one attempt",
			up.Status.PublishID, up.Status.AttemptHistory)
	}

	// Each account stalls on the redirect, and stays so.
	for _, a := range []string{"refresh", "creator"} {
		waitFor(t, 30*time.Second, a+" to stall on the redirect", func() bool {
			r := e.accountReady(a)
			return r != nil && r.stalled && r.status == "False" && strings.Contains(r.message, "redirect")
		})
	}
	time.Sleep(2 * e.window)
	t.Logf("the redirecting endpoint answered %v", redir.got)
	for _, a := range []string{"refresh", "creator"} {
		if r := e.accountReady(a); r.status != "False" || !r.stalled {
			t.Errorf("%s: Ready %+v; want False and Stalled", a, r)
		}
		if p := e.getPost(a + "-1"); p.Status.Phase == v1alpha1.PhaseFailed || readyReason(p) != v1alpha1.ReasonAccountNotReady {
			t.Errorf("%s-1: phase %s, reason %s; want it waiting for its account", a, p.Status.Phase, readyReason(p))
		}
	}
	if redir.count("/v2/oauth/token/") == 0 || redir.count("/v2/post/publish/creator_info/query/") == 0 {
		t.Errorf("the redirecting endpoint got %v: the test needs a token refresh and a creator_info there", redir.got)
	}
	assertAllPublishedOnce(t, e, onlyPrefix(e.posts(), "brand-"))
	assertNoTokens(t, e)
}
