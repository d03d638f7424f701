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
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ErrPKCEDescription is TikTok's error_description when the code_verifier does not match the code's
// code_challenge (reported verbatim by developers who hit it: "Code verifier or code challenge is invalid.").
const ErrPKCEDescription = "Code verifier or code challenge is invalid."

// CodeChallenge is the code_challenge TikTok's desktop Login Kit expects for a verifier: the SHA-256 of
// the verifier, HEX-encoded (login-kit-desktop), not base64url as RFC 7636's S256 says. A base64url
// challenge is refused at the exchange like any mismatch.
func CodeChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return hex.EncodeToString(sum[:])
}

// exchangeCode is grant_type=authorization_code: client_key, client_secret, code, redirect_uri and
// code_verifier, the code good once. It returns the reply and the account it concerns. Callers hold s.mu;
// oauthErr shapes errors as the token endpoint does.
func (s *Server) exchangeCode(form url.Values, now time.Time, oauthErr func(int, string, string) reply) (reply, string) {
	app := s.app(form.Get("client_key"))
	code := s.login.codes[form.Get("code")]
	if code != nil {
		delete(s.login.codes, form.Get("code")) // presented once, whatever follows
	}
	switch {
	case form.Get("code") == "":
		return oauthErr(http.StatusBadRequest, "invalid_request", "code is missing"), unknownAccount
	case app == nil || subtle.ConstantTimeCompare([]byte(app.ClientSecret), []byte(form.Get("client_secret"))) != 1:
		return oauthErr(http.StatusUnauthorized, "invalid_client", "client key or secret is wrong"), unknownAccount
	case code == nil || code.clientKey != app.ClientKey || !now.Before(code.expires):
		return oauthErr(http.StatusBadRequest, "invalid_grant", "Authorization code is expired."), unknownAccount
	case form.Get("redirect_uri") != code.redirectURI:
		return oauthErr(http.StatusBadRequest, "invalid_grant", "redirect_uri does not match the authorization request"), code.account.Name
	case !verifierMatches(form.Get("code_verifier"), code.challenge):
		return oauthErr(http.StatusBadRequest, "invalid_request", ErrPKCEDescription), code.account.Name
	}
	a := code.account
	a.Scopes = code.scopes
	a.AccessToken = s.randomToken("act.")
	a.RefreshToken = s.randomToken("rft.")
	s.access[a.AccessToken] = &tokenRec{account: a, expires: now.Add(s.cfg.AccessTokenTTL.D())}
	s.refresh[a.RefreshToken] = &tokenRec{account: a, expires: now.Add(s.cfg.RefreshTokenTTL.D())}
	return reply{status: http.StatusOK, body: map[string]any{
		"access_token":       a.AccessToken,
		"expires_in":         int64(s.cfg.AccessTokenTTL.D() / time.Second),
		"refresh_token":      a.RefreshToken,
		"refresh_expires_in": int64(s.cfg.RefreshTokenTTL.D() / time.Second),
		"open_id":            a.OpenID,
		"scope":              strings.Join(code.scopes, ","),
		"token_type":         "Bearer",
	}}, a.Name
}

// unreserved reports whether r is one of RFC 3986's unreserved characters, the verifier's alphabet.
func unreserved(r rune) bool {
	return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~", r)
}

// verifierMatches checks a code_verifier (RFC 7636: 43 to 128 unreserved characters) against the hex
// challenge, case aside.
func verifierMatches(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	for _, r := range verifier {
		if !unreserved(r) {
			return false
		}
	}
	want := CodeChallenge(verifier)
	return subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(challenge))) == 1
}
