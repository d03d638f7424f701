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

package tiktoksim

import (
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

const (
	lkKey      = "ck-desktop"
	lkSecret   = "cs-desktop"
	lkRedirect = "http://127.0.0.1:49152/callback/"
	lkVerifier = "v3r1f13r-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFG"
)

// loginKitHarness is newHarness with a desktop app registered for the loopback wildcard port.
func loginKitHarness(t *testing.T) *harness {
	return newHarness(t, func(c *Config) {
		c.Apps = []App{{ClientKey: lkKey, ClientSecret: lkSecret, RedirectURIs: []string{"http://127.0.0.1:*/callback/"},
			Creators: []string{"bob"}}}
	})
}

func authorizeQuery(mutate func(url.Values)) url.Values {
	q := url.Values{"client_key": {lkKey}, "scope": {"user.info.basic,video.publish"}, "redirect_uri": {lkRedirect},
		"state": {"st-123"}, "response_type": {"code"}, "code_challenge": {CodeChallenge(lkVerifier)},
		"code_challenge_method": {"S256"}}
	if mutate != nil {
		mutate(q)
	}
	return q
}

// page GETs the authorize page and returns its status and body.
func (h *harness) page(q url.Values) (int, string) {
	h.t.Helper()
	resp, err := h.srv.Client().Get(h.srv.URL + AuthorizePath + "?" + q.Encode())
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var consentIDRe = regexp.MustCompile(`name="consent_id" value="([^"]+)"`)

// decide submits the consent form and returns the redirect's Location (without following it).
func (h *harness) decide(body, creator, decision string) (int, *url.URL) {
	h.t.Helper()
	m := consentIDRe.FindStringSubmatch(body)
	if m == nil {
		h.t.Fatalf("no consent_id in the page:\n%s", body)
	}
	form := url.Values{"consent_id": {m[1]}, "creator": {creator}, "decision": {decision}}
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+AuthorizePath, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	c := *h.srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	loc, _ := resp.Location()
	return resp.StatusCode, loc
}

func (h *harness) exchange(mutate func(url.Values), code string) answer {
	h.t.Helper()
	form := url.Values{"client_key": {lkKey}, "client_secret": {lkSecret}, "code": {code}, "grant_type": {"authorization_code"},
		"redirect_uri": {lkRedirect}, "code_verifier": {lkVerifier}}
	if mutate != nil {
		mutate(form)
	}
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+pathToken, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return h.do(req)
}

// authorizedCode runs the consent page to a code.
func (h *harness) authorizedCode() string {
	h.t.Helper()
	status, body := h.page(authorizeQuery(nil))
	if status != http.StatusOK || !strings.Contains(body, "@bob") || !strings.Contains(body, "video.publish") {
		h.t.Fatalf("consent page: HTTP %d\n%s", status, body)
	}
	st, loc := h.decide(body, "bob", "authorize")
	if st != http.StatusFound || loc == nil {
		h.t.Fatalf("authorize: HTTP %d", st)
	}
	q := loc.Query()
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != lkRedirect || q.Get("state") != "st-123" || q.Get("code") == "" {
		h.t.Fatalf("redirect %s: want %s with the state and a code", loc, lkRedirect)
	}
	return q.Get("code")
}

func TestAuthorizePageRefusesWhatTikTokRefuses(t *testing.T) {
	h := loginKitHarness(t)
	for _, tc := range []struct {
		name, field string
		mutate      func(url.Values)
	}{
		{"unknown client key", "client_key", func(q url.Values) { q.Set("client_key", "nope") }},
		{"unregistered path", "redirect_uri", func(q url.Values) { q.Set("redirect_uri", "http://127.0.0.1:49152/other/") }},
		{"unregistered host", "redirect_uri", func(q url.Values) { q.Set("redirect_uri", "http://evil.example:49152/callback/") }},
		{"https instead of http", "redirect_uri", func(q url.Values) { q.Set("redirect_uri", "https://127.0.0.1:49152/callback/") }},
		{"no port", "redirect_uri", func(q url.Values) { q.Set("redirect_uri", "http://127.0.0.1/callback/") }},
		{"query on the redirect", "redirect_uri", func(q url.Values) { q.Set("redirect_uri", lkRedirect+"?x=1") }},
		{"response type", "response_type", func(q url.Values) { q.Set("response_type", "token") }},
		{"scope not allowed", "scope", func(q url.Values) { q.Set("scope", "user.info.basic,video.list") }},
		{"no scope", "scope", func(q url.Values) { q.Del("scope") }},
		{"no state", "state", func(q url.Values) { q.Del("state") }},
		{"no challenge", "code_challenge", func(q url.Values) { q.Del("code_challenge") }},
		{"plain method", "code_challenge_method", func(q url.Values) { q.Set("code_challenge_method", "plain") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := h.page(authorizeQuery(tc.mutate))
			if status != http.StatusBadRequest || !strings.Contains(body, `<code id="field">`+tc.field+"</code>") {
				t.Fatalf("HTTP %d, want 400 naming %s:\n%s", status, tc.field, body)
			}
		})
	}
	// Any port on the wildcard registration.
	if status, _ := h.page(authorizeQuery(func(q url.Values) { q.Set("redirect_uri", "http://127.0.0.1:61000/callback/") })); status != http.StatusOK {
		t.Fatalf("another loopback port: HTTP %d, want 200", status)
	}
}

func TestAuthorizeCodeExchangesOnceAndTheTokensWork(t *testing.T) {
	h := loginKitHarness(t)
	code := h.authorizedCode()
	a := h.exchange(nil, code)
	m := decodeMap(t, a.raw)
	if a.status != http.StatusOK || m["access_token"] == nil || m["scope"] != "user.info.basic,video.publish" || m["token_type"] != "Bearer" {
		t.Fatalf("exchange: HTTP %d %s", a.status, a.raw)
	}
	access, refresh := m["access_token"].(string), m["refresh_token"].(string)
	if got := h.call(pathCreator, access, nil); got.status != http.StatusOK || got.data["creator_username"] != "bob" {
		t.Fatalf("creator_info with the new token: HTTP %d %s", got.status, got.raw)
	}
	if got := h.call(pathVideo, access, pullVideo("first", "SELF_ONLY")); got.status != http.StatusOK {
		t.Fatalf("direct post with the new token: HTTP %d %s", got.status, got.raw)
	}
	if got := h.call(pathInbox, access, map[string]any{"source_info": map[string]any{"source": "PULL_FROM_URL",
		"video_url": "https://cdn.example.com/v.mp4"}}); got.code != "scope_not_authorized" {
		t.Fatalf("inbox upload without video.upload granted: HTTP %d %s", got.status, got.raw)
	}
	if got := h.refresh(lkKey, lkSecret, refresh); got.status != http.StatusOK || decodeMap(t, got.raw)["access_token"] == nil {
		t.Fatalf("refresh of the new grant: HTTP %d %s", got.status, got.raw)
	}
	if again := h.exchange(nil, code); again.status != http.StatusOK || again.code != "invalid_grant" {
		t.Fatalf("the code a second time: HTTP %d %s, want 200 invalid_grant", again.status, again.raw)
	}
}

func TestAuthorizeCodeExchangeErrors(t *testing.T) {
	rfcChallenge := func() string {
		sum := sha256.Sum256([]byte(lkVerifier))
		return base64.RawURLEncoding.EncodeToString(sum[:])
	}()
	for _, tc := range []struct {
		name      string
		challenge string // code_challenge on the authorize page; empty: the hex one
		mutate    func(url.Values)
		code      string
		desc      string
	}{
		{name: "wrong verifier", mutate: func(f url.Values) { f.Set("code_verifier", strings.Repeat("x", 50)) },
			code: "invalid_request", desc: ErrPKCEDescription},
		{name: "no verifier", mutate: func(f url.Values) { f.Del("code_verifier") }, code: "invalid_request", desc: ErrPKCEDescription},
		{name: "RFC 7636 base64url challenge", challenge: rfcChallenge, code: "invalid_request", desc: ErrPKCEDescription},
		{name: "wrong secret", mutate: func(f url.Values) { f.Set("client_secret", "nope") }, code: "invalid_client"},
		{name: "other redirect uri", mutate: func(f url.Values) { f.Set("redirect_uri", "http://127.0.0.1:5/callback/") }, code: "invalid_grant"},
		{name: "unknown code", mutate: func(f url.Values) { f.Set("code", "code.nope") }, code: "invalid_grant"},
		{name: "no code", mutate: func(f url.Values) { f.Del("code") }, code: "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := loginKitHarness(t)
			if tc.challenge != "" {
				h.t.Helper()
				status, body := h.page(authorizeQuery(func(q url.Values) { q.Set("code_challenge", tc.challenge) }))
				if status != http.StatusOK {
					t.Fatalf("consent page: HTTP %d", status)
				}
				_, loc := h.decide(body, "bob", "authorize")
				tc.mutate = func(f url.Values) { f.Set("code", loc.Query().Get("code")) }
			}
			a := h.exchange(tc.mutate, h.authorizedCode())
			m := decodeMap(t, a.raw)
			if a.status != http.StatusOK || m["error"] != tc.code || m["log_id"] == "" || m["access_token"] != nil {
				t.Fatalf("HTTP %d %s, want 200 with error %s", a.status, a.raw, tc.code)
			}
			if tc.desc != "" && m["error_description"] != tc.desc {
				t.Fatalf("error_description %q, want %q", m["error_description"], tc.desc)
			}
		})
	}
}

func TestAuthorizeDenyAndOneAnswerPerPage(t *testing.T) {
	h := loginKitHarness(t)
	_, body := h.page(authorizeQuery(nil))
	st, loc := h.decide(body, "bob", "deny")
	if st != http.StatusFound || loc.Query().Get("error") != "access_denied" || loc.Query().Get("state") != "st-123" || loc.Query().Has("code") {
		t.Fatalf("deny: HTTP %d %v", st, loc)
	}
	if st, _ := h.decide(body, "bob", "authorize"); st != http.StatusBadRequest {
		t.Fatalf("the same consent page answered twice: HTTP %d, want 400", st)
	}
	_, body = h.page(authorizeQuery(nil))
	if st, _ := h.decide(body, "mallory", "authorize"); st != http.StatusBadRequest {
		t.Fatalf("a creator not signed in: HTTP %d, want 400", st)
	}
}

func TestAppConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		app  App
		ok   bool
	}{
		{"desktop wildcard", App{ClientKey: "k", ClientSecret: "s", RedirectURIs: []string{"http://127.0.0.1:*/callback/"}}, true},
		{"localhost fixed port", App{ClientKey: "k", ClientSecret: "s", RedirectURIs: []string{"http://localhost:3455/callback/"}}, true},
		{"wildcard on a public host", App{ClientKey: "k", ClientSecret: "s", RedirectURIs: []string{"https://example.com:*/cb/"}}, false},
		{"query", App{ClientKey: "k", ClientSecret: "s", RedirectURIs: []string{"https://example.com/cb/?id=1"}}, false},
		{"no secret", App{ClientKey: "k", RedirectURIs: []string{"http://127.0.0.1:*/callback/"}}, false},
		{"no redirect", App{ClientKey: "k", ClientSecret: "s"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Apps = []App{tc.app}
			if err := cfg.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestLoadConfigReadsApps(t *testing.T) {
	cfg, err := LoadConfig([]byte(`
apps:
  - client_key: sim-desktop-app
    client_secret: sim-desktop-secret
    redirect_uris: ["http://127.0.0.1:*/callback/"]
    creators: [alice]
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Apps) != 1 || cfg.Apps[0].Creators[0] != "alice" || !cfg.Apps[0].redirectAllowed("http://127.0.0.1:8123/callback/") {
		t.Fatalf("apps: %+v", cfg.Apps)
	}
	if _, err := LoadConfig([]byte("apps: [{client_key: k, client_secret: s, redirect_uris: [\"https://x.example:*/cb/\"]}]")); err == nil ||
		!strings.Contains(err.Error(), "apps[0].redirect_uris[0]") {
		t.Fatalf("a wildcard port on a public host: %v, want an error naming apps[0].redirect_uris[0]", err)
	}
}
