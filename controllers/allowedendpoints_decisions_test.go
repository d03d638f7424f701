package controllers

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
)

// hostile is a server that answers every request as TikTok would say "ok", and counts them: a host the
// manager does not admit, which would gladly take an account's tokens.
type hostile struct {
	srv *httptest.Server
	n   atomic.Int64
}

func newHostile(t *testing.T, tls bool) *hostile {
	t.Helper()
	h := &hostile{}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.n.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"data":{"creator_username":"stolen","privacy_level_options":["PUBLIC_TO_EVERYONE"],`+
			`"publish_id":"p.stolen","status":"PUBLISH_COMPLETE","access_token":"act.stolen","expires_in":86400},"error":{"code":"ok"}}`)
	})
	if tls {
		h.srv = httptest.NewTLSServer(handler)
	} else {
		h.srv = httptest.NewServer(handler)
	}
	t.Cleanup(h.srv.Close)
	return h
}

func (w *world) mustReconcileAccount(name string) {
	w.t.Helper()
	if _, err := w.accounts.Reconcile(context.Background(), ctrl.Request{NamespacedName: types.NamespacedName{Namespace: testNS, Name: name}}); err != nil {
		w.t.Errorf("account %s: %v", name, err)
	}
}

// TestEndpointNotAdmittedGetsNothing: an account whose spec.endpoint is an https server the manager's
// transport trusts (so only the allow-list can stop it) but that --allowed-endpoints does not list reports
// EndpointNotAllowed (Ready=False, Stalled=True, a Warning Event naming the flag), and not one request
// reaches the server: no token refresh (the Secret has no expiry, so one is due at once), no creator_info.
// Its post waits, Stalled on AccountNotReady, and is never sent.
func TestEndpointNotAdmittedGetsNothing(t *testing.T) {
	foreign := newHostile(t, true)
	w := newWorld(t, nil)
	w.opts.APITransport = foreign.srv.Client().Transport
	w.restart()
	w.addAccount("taken", func(aq *v1alpha1.AccountQuota) { aq.Spec.Endpoint = foreign.srv.URL })
	for range 3 {
		w.mustReconcileAccount("taken")
	}
	aq := w.getAccount("taken")
	ready := meta.FindStatusCondition(aq.Status.Conditions, v1alpha1.ConditionReady)
	if ready == nil || ready.Status != "False" || ready.Reason != v1alpha1.ReasonEndpointNotAllowed ||
		!strings.Contains(ready.Message, AllowedEndpointsFlag) || !strings.Contains(ready.Message, foreign.srv.URL) {
		t.Errorf("Ready = %+v, want False/EndpointNotAllowed naming the endpoint and %s", ready, AllowedEndpointsFlag)
	}
	if !meta.IsStatusConditionTrue(aq.Status.Conditions, v1alpha1.ConditionStalled) {
		t.Errorf("conditions %+v, want Stalled=True", aq.Status.Conditions)
	}
	if evs := w.eventsWith("Warning", v1alpha1.ReasonEndpointNotAllowed, AllowedEndpointsFlag); len(evs) != 1 {
		t.Errorf("%d Warning Events EndpointNotAllowed naming the flag, want 1 (three reconciles, one new reason): %q", len(evs), evs)
	}

	w.post("waits", "taken", nil)
	p := w.drive("waits", 5)
	if p.Status.Phase == v1alpha1.PhaseFailed || reasonOf(p) != v1alpha1.ReasonAccountNotReady ||
		!meta.IsStatusConditionTrue(p.Status.Conditions, v1alpha1.ConditionStalled) {
		t.Errorf("the post: %s; want it waiting, Stalled on AccountNotReady", describe(p))
	}
	if n := foreign.n.Load(); n != 0 {
		t.Errorf("%d requests reached the endpoint the manager does not admit", n)
	}
}

// TestEndpointChangedToOneNotAdmitted: an account that was Ready points its spec.endpoint elsewhere. Before
// its own reconcile says so, a queued post is held back (not sent on the stale Ready), and a post in
// flight stops polling: nothing reaches the new endpoint.
func TestEndpointChangedToOneNotAdmitted(t *testing.T) {
	foreign := newHostile(t, false)
	w := newWorld(t, nil)
	w.account("brand", nil)
	w.post("flying", "brand", nil)
	for range 20 {
		if p := w.drive("flying", 1); p.Status.Phase == v1alpha1.PhaseProcessing {
			break
		}
	}
	if p := w.get("flying"); p.Status.Phase != v1alpha1.PhaseProcessing {
		t.Fatalf("flying: %s, want Processing", describe(p))
	}
	aq := w.getAccount("brand")
	aq.Spec.Endpoint = foreign.srv.URL
	aq.Generation++
	if err := w.raw.Update(context.Background(), aq); err != nil {
		t.Fatal(err)
	}
	w.post("queued", "brand", nil)
	q := w.drive("queued", 5)
	f := w.drive("flying", 5)
	if q.Status.Phase == v1alpha1.PhaseFailed || q.Status.Attempts != 0 || reasonOf(q) != v1alpha1.ReasonAccountNotReady ||
		!strings.Contains(conditionMessage(q), v1alpha1.ReasonEndpointNotAllowed) {
		t.Errorf("queued: %s; want it held back, AccountNotReady: EndpointNotAllowed", describe(q))
	}
	if f.Status.Phase != v1alpha1.PhaseProcessing {
		t.Errorf("flying: %s; want it still Processing (waiting for an endpoint it may call)", describe(f))
	}
	if n := foreign.n.Load(); n != 0 {
		t.Errorf("%d requests reached the endpoint the account moved to", n)
	}
	if n := w.inits("brand"); n != 1 {
		t.Errorf("%d inits reached the simulator, want the one of flying", n)
	}
}

// TestUploadURLNotTrustedFailsBeforeAByte: TikTok's init answer (here the simulator, told to hand out
// upload URLs on another host) gives an upload_url on a host that is neither the account's endpoint nor
// an https host of --allowed-upload-hosts: the post fails with UploadURLNotAllowed, naming the host and
// the flag, and nothing reaches that host.
func TestUploadURLNotTrustedFailsBeforeAByte(t *testing.T) {
	elsewhere := newHostile(t, false)
	w := newWorld(t, func(c *tiktoksim.Config) { c.PublicURL = elsewhere.srv.URL })
	w.account("brand", nil)
	w.post("up", "brand", w.fileUpload)
	p := w.drive("up", 50)
	msg := conditionMessage(p)
	if p.Status.Phase != v1alpha1.PhaseFailed || reasonOf(p) != v1alpha1.ReasonUploadURLNotAllowed ||
		!strings.Contains(msg, elsewhere.srv.URL) || !strings.Contains(msg, AllowedUploadHostsFlag) || p.Status.PublishID == "" {
		t.Errorf("up: %s; want Failed/UploadURLNotAllowed naming %s and %s, with its publish id", describe(p), elsewhere.srv.URL, AllowedUploadHostsFlag)
	}
	if strings.Contains(msg, "upload_token") {
		t.Errorf("the message shows the upload URL's query: %s", msg)
	}
	if n := elsewhere.n.Load(); n != 0 {
		t.Errorf("%d requests reached the untrusted upload host", n)
	}
	if n := w.inits("brand"); n != 1 {
		t.Errorf("%d inits, want 1 (the post is not sent again)", n)
	}
}

func conditionMessage(p *v1alpha1.TikTokPost) string {
	if c := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionReady); c != nil {
		return c.Message
	}
	return ""
}

// TestCreatorInfoRefusedForGoodIsNotHammered: an admitted endpoint answers creator_info with a redirect
// (never followed: Terminal). The account stalls with CreatorInfoFailed and stays so through the
// reconciles its own status writes cause, asking again only accountWait later, not at the creator_info
// window's pace.
func TestCreatorInfoRefusedForGoodIsNotHammered(t *testing.T) {
	var asked atomic.Int64
	w := newWorld(t, nil)
	front := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/post/publish/creator_info/query/" {
			asked.Add(1)
			http.Redirect(rw, r, "http://127.0.0.1:1/elsewhere", http.StatusTemporaryRedirect)
			return
		}
		w.sim.ServeHTTP(rw, r)
	}))
	t.Cleanup(front.Close)
	w.opts.AllowedEndpoints = MustParseAllowedEndpoints(w.simURL + "," + front.URL)
	w.restart()
	w.addAccount("moved", func(aq *v1alpha1.AccountQuota) { aq.Spec.Endpoint = front.URL })
	stalled := func() string {
		aq := w.getAccount("moved")
		c := meta.FindStatusCondition(aq.Status.Conditions, v1alpha1.ConditionStalled)
		if c == nil {
			return "not stalled: " + fmt.Sprint(aq.Status.Conditions)
		}
		return c.Reason + ": " + c.Message
	}
	for range 20 {
		w.mustReconcileAccount("moved")
		w.clk.Step(time.Second)
	}
	if got := stalled(); asked.Load() != 1 || !strings.HasPrefix(got, v1alpha1.ReasonCreatorInfoFailed) ||
		!strings.Contains(got, "redirect_not_followed") {
		t.Errorf("after 20 reconciles in 20 s: %d creator_info calls, Stalled %s; want 1 call, CreatorInfoFailed (redirect_not_followed)",
			asked.Load(), got)
	}
	w.clk.Step(accountWait)
	w.mustReconcileAccount("moved")
	if asked.Load() != 2 {
		t.Errorf("%d creator_info calls %s after the refusal, want 2", asked.Load(), accountWait)
	}
}
