package tiktok_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tiktok-operator/tiktok-operator/internal/tiktok"
)

// counting is a server that counts the requests that reach it and keeps their bodies' text.
type counting struct {
	srv    *httptest.Server
	n      atomic.Int64
	bodies atomic.Value // string: every body received, concatenated
}

func newCounting(t *testing.T) *counting {
	t.Helper()
	c := &counting{}
	c.bodies.Store("")
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.n.Add(1)
		b, _ := io.ReadAll(r.Body)
		c.bodies.Store(c.bodies.Load().(string) + r.Header.Get("Authorization") + string(b))
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"data":{"publish_id":"stolen","access_token":"act.STOLEN"},"error":{"code":"ok"}}`)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

// TestRedirectsAreNotFollowed: an API endpoint that answers a redirect (every 3xx, to another host) gets
// a Terminal error with code redirect_not_followed, and nothing reaches the redirect's target: not the
// access token, not the OAuth form with the client secret, not an init, not a chunk. This holds whatever
// HTTP client the caller hands in (http.Client follows redirects by default, re-sending a 307's body).
func TestRedirectsAreNotFollowed(t *testing.T) {
	internal := newCounting(t)
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, internal.srv.URL+r.URL.Path+"?upload_token=LOCATION-SECRET", status)
		}))
		for name, hc := range map[string]*http.Client{"default client": nil, "a client that follows": {}, "the server's": front.Client()} {
			c := tiktok.New(tiktok.Options{BaseURL: front.URL, HTTPClient: hc})
			ctx := context.Background()
			calls := map[string]error{}
			_, calls["creator_info"] = c.CreatorInfo(ctx, aliceAccess)
			_, calls["oauth"] = c.RefreshToken(ctx, tiktok.RefreshRequest{ClientKey: aliceKey, ClientSecret: aliceSecret, RefreshToken: aliceRefresh})
			_, calls["video init"] = c.InitDirectVideo(ctx, aliceAccess, pullRequest("x", tiktok.PrivacySelfOnly))
			_, calls["status"] = c.FetchStatus(ctx, aliceAccess, "p1")
			calls["cancel"] = c.Cancel(ctx, aliceAccess, "p1")
			plan, _ := tiktok.PlanChunks(1000, 0)
			calls["upload"] = c.Upload(ctx, tiktok.UploadRequest{UploadURL: front.URL + "/upload/?upload_token=t", Plan: plan,
				Open: func(int64) (io.ReadCloser, error) {
					return io.NopCloser(strings.NewReader(strings.Repeat("x", 1000))), nil
				}})
			for call, err := range calls {
				var te *tiktok.Error
				if !errors.As(err, &te) || te.Class != tiktok.Terminal || te.Code != "redirect_not_followed" || te.HTTPStatus != status {
					t.Errorf("HTTP %d, %s, %s: %v; want a Terminal redirect_not_followed", status, name, call, err)
					continue
				}
				if msg := err.Error(); !strings.Contains(msg, internal.srv.URL) || strings.Contains(msg, "LOCATION-SECRET") {
					t.Errorf("HTTP %d, %s, %s: %q should name the target's host, never its query", status, name, call, msg)
				}
			}
		}
		front.Close()
	}
	if n := internal.n.Load(); n != 0 {
		t.Errorf("%d requests reached the redirect's target; what they carried included the client secret: %v",
			n, strings.Contains(internal.bodies.Load().(string), aliceSecret))
	}
}

// TestUploadRefusedByAllowUpload: an upload URL the caller does not trust fails Terminal before the source
// is opened, and nothing reaches its host.
func TestUploadRefusedByAllowUpload(t *testing.T) {
	foreign := newCounting(t)
	opened := false
	c := tiktok.New(tiktok.Options{AllowUpload: func(u string) error {
		if strings.HasPrefix(u, foreign.srv.URL) {
			return errors.New("not a trusted upload host")
		}
		return nil
	}})
	plan, _ := tiktok.PlanChunks(1000, 0)
	err := c.Upload(context.Background(), tiktok.UploadRequest{UploadURL: foreign.srv.URL + "/upload/?upload_token=t", Plan: plan,
		Open: func(int64) (io.ReadCloser, error) {
			opened = true
			return io.NopCloser(strings.NewReader(strings.Repeat("x", 1000))), nil
		}})
	var te *tiktok.Error
	if !errors.As(err, &te) || te.Class != tiktok.Terminal || te.Code != "upload_url_not_allowed" ||
		!strings.Contains(err.Error(), "not a trusted upload host") {
		t.Errorf("Upload = %v, want a Terminal upload_url_not_allowed", err)
	}
	if opened || foreign.n.Load() != 0 {
		t.Errorf("the source was opened (%v) or %d requests reached the untrusted host", opened, foreign.n.Load())
	}
}
