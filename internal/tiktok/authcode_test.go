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

package tiktok_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tiktok-operator/tiktok-operator/internal/tiktok"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
)

const (
	desktopKey      = "ck-desktop"
	desktopSecret   = "cs.DESKTOP-CLIENT-SECRET"
	desktopRedirect = "http://127.0.0.1:50123/callback/"
)

func desktopApp(c *tiktoksim.Config) {
	c.Apps = []tiktoksim.App{{ClientKey: desktopKey, ClientSecret: desktopSecret,
		RedirectURIs: []string{"http://127.0.0.1:*/callback/"}, Creators: []string{"carol"}}}
}

var consentID = regexp.MustCompile(`name="consent_id" value="([^"]+)"`)

// authorize plays the creator on the simulator's consent page, over HTTP, and returns the code the redirect
// carries (the redirect itself is not followed: nobody listens on its port).
func authorize(t *testing.T, e *env, authURL string) tiktok.AuthCode {
	t.Helper()
	hc := *e.srv.Client()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := consentID.FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("consent page: HTTP %d\n%s", resp.StatusCode, page)
	}
	form := url.Values{"consent_id": {string(m[1])}, "creator": {"carol"}, "decision": {"authorize"}}
	resp, err = hc.PostForm(e.srv.URL+tiktok.AuthorizePath, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil || loc.Query().Get("state") != "st" {
		t.Fatalf("redirect %v (%v): want the state back", loc, err)
	}
	return tiktok.AuthCode(loc.Query().Get("code"))
}

func TestCodeChallengeIsTikToksHexSHA256(t *testing.T) {
	// RFC 7636 appendix B's verifier; its base64url challenge is E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM,
	// TikTok's desktop Login Kit wants the same digest in hex.
	v := tiktok.CodeVerifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
	if got, want := tiktok.CodeChallenge(v), "13d31e961a1ad8ec2f16b10c4c982e0876a878ad6df144566ee1894acb70f9c3"; got != want {
		t.Fatalf("CodeChallenge = %s, want %s", got, want)
	}
	seen := map[tiktok.CodeVerifier]bool{}
	for range 50 {
		v, err := tiktok.NewCodeVerifier()
		if err != nil {
			t.Fatal(err)
		}
		if len(v) != 64 || strings.Trim(string(v), "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~") != "" || seen[v] {
			t.Fatalf("verifier %q: want 64 unreserved characters, never repeated", string(v))
		}
		seen[v] = true
		if fmt.Sprint(v) != "[redacted]" {
			t.Fatalf("a verifier prints as %s", fmt.Sprint(v))
		}
	}
}

func TestExchangeCodeAgainstTheSimulator(t *testing.T) {
	e := newEnv(t, desktopApp)
	ctx := context.Background()
	verifier, _ := tiktok.NewCodeVerifier()
	authURL := tiktok.AuthorizeURL(e.srv.URL, tiktok.AuthorizeRequest{ClientKey: desktopKey,
		Scopes: []string{"user.info.basic", "video.publish", "video.upload"}, RedirectURI: desktopRedirect, State: "st", Verifier: verifier})
	if strings.Contains(authURL, string(verifier)) {
		t.Fatal("the authorize URL carries the verifier")
	}
	req := tiktok.ExchangeRequest{ClientKey: desktopKey, ClientSecret: desktopSecret,
		Code: authorize(t, e, authURL), RedirectURI: desktopRedirect, Verifier: verifier}
	tok, err := e.client.ExchangeCode(ctx, req)
	if err != nil {
		t.Fatalf("ExchangeCode: %v", err)
	}
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.ExpiresIn != 86400 || len(tok.Scope) != 3 {
		t.Fatalf("token: expires_in %d, scope %v", tok.ExpiresIn, tok.Scope)
	}
	info, err := e.client.CreatorInfo(ctx, tok.AccessToken)
	if err != nil || info.Username != "carol" {
		t.Fatalf("creator_info with the new token: %+v, %v", info, err)
	}
	if _, err := e.client.RefreshToken(ctx, tiktok.RefreshRequest{ClientKey: desktopKey, ClientSecret: desktopSecret,
		RefreshToken: tok.RefreshToken}); err != nil {
		t.Fatalf("refresh of the new grant: %v", err)
	}

	// The same code again: invalid_grant, Terminal, and no secret in the error.
	_, err = e.client.ExchangeCode(ctx, req)
	checkExchangeError(t, err, "invalid_grant", string(req.Code), string(verifier))
}

func TestExchangeCodeErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*tiktok.ExchangeRequest)
		code   string
	}{
		{"wrong verifier", func(r *tiktok.ExchangeRequest) { r.Verifier = tiktok.CodeVerifier(strings.Repeat("w", 64)) }, "invalid_request"},
		{"wrong secret", func(r *tiktok.ExchangeRequest) { r.ClientSecret = "cs.WRONG-SECRET" }, "invalid_client"},
		{"other redirect uri", func(r *tiktok.ExchangeRequest) { r.RedirectURI = "http://127.0.0.1:1/callback/" }, "invalid_grant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, desktopApp)
			verifier, _ := tiktok.NewCodeVerifier()
			authURL := tiktok.AuthorizeURL(e.srv.URL, tiktok.AuthorizeRequest{ClientKey: desktopKey,
				Scopes: []string{"video.publish"}, RedirectURI: desktopRedirect, State: "st", Verifier: verifier})
			req := tiktok.ExchangeRequest{ClientKey: desktopKey, ClientSecret: desktopSecret,
				Code: authorize(t, e, authURL), RedirectURI: desktopRedirect, Verifier: verifier}
			tc.mutate(&req)
			_, err := e.client.ExchangeCode(context.Background(), req)
			checkExchangeError(t, err, tc.code, string(req.Code), string(req.Verifier), string(req.ClientSecret))
		})
	}
	e := newEnv(t, desktopApp)
	if _, err := e.client.ExchangeCode(context.Background(), tiktok.ExchangeRequest{ClientKey: desktopKey, Code: "c"}); err == nil ||
		!strings.Contains(err.Error(), "verifier") {
		t.Fatalf("no verifier: %v, want an error naming it", err)
	}
}

func checkExchangeError(t *testing.T, err error, code string, secrets ...string) {
	t.Helper()
	var te *tiktok.Error
	if !errors.As(err, &te) || te.Code != code || tiktok.ClassOf(err) != tiktok.Terminal || te.LogID == "" {
		t.Fatalf("error %v, want %s, Terminal, with a log_id", err, code)
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) || strings.Contains(fmt.Sprintf("%+v %#v", err, te), s) {
			t.Fatalf("the error shows a secret: %v", err)
		}
	}
}
