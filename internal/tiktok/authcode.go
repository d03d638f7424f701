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

package tiktok

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// AuthorizeBaseURL is where TikTok's Login Kit authorize page lives (a browser opens it; the token
// exchange goes to the API host).
const AuthorizeBaseURL = "https://www.tiktok.com"

// AuthorizePath is the path of TikTok's authorize page.
const AuthorizePath = "/v2/auth/authorize/"

// AuthCode is the one-time authorization code Login Kit hands to the redirect URI; it prints as
// [redacted] like AccessToken.
type AuthCode string

func (AuthCode) String() string               { return redacted }
func (AuthCode) GoString() string             { return redacted }
func (AuthCode) Format(f fmt.State, _ rune)   { _, _ = f.Write([]byte(redacted)) }
func (AuthCode) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }
func (AuthCode) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// AuthorizeRequest is what the authorize page is opened with.
type AuthorizeRequest struct {
	ClientKey   string
	Scopes      []string
	RedirectURI string
	// State is the random value the redirect must carry back unchanged (CSRF protection).
	State string
	// Verifier's challenge goes on the URL; the verifier itself only to the token exchange.
	Verifier CodeVerifier
}

// AuthorizeURL is the URL of the authorize page under base (AuthorizeBaseURL for TikTok), with
// response_type=code, TikTok's comma-separated scope list and the PKCE challenge (CodeChallenge, S256).
func AuthorizeURL(base string, r AuthorizeRequest) string {
	q := url.Values{
		"client_key":            {r.ClientKey},
		"scope":                 {strings.Join(r.Scopes, ",")},
		"redirect_uri":          {r.RedirectURI},
		"state":                 {r.State},
		"response_type":         {"code"},
		"code_challenge":        {CodeChallenge(r.Verifier)},
		"code_challenge_method": {"S256"},
	}
	return strings.TrimRight(base, "/") + AuthorizePath + "?" + q.Encode()
}

// ExchangeRequest is what the authorization-code exchange needs. Every secret prints as [redacted].
type ExchangeRequest struct {
	ClientKey    string
	ClientSecret ClientSecret
	Code         AuthCode
	// RedirectURI must be the one the authorize page was opened with.
	RedirectURI string
	Verifier    CodeVerifier
}

// ExchangeCode trades a Login Kit authorization code for the creator's tokens: POST /v2/oauth/token/ with
// grant_type=authorization_code, form-encoded as TikTok requires. A code is good once; TikTok answers a
// used or expired one with invalid_grant and a verifier that does not match with invalid_request, both
// Terminal (a new authorization is needed).
func (c *Client) ExchangeCode(ctx context.Context, r ExchangeRequest) (*Token, error) {
	switch {
	case r.ClientKey == "":
		return nil, errors.New("exchange code: the client key is empty")
	case r.Code == "":
		return nil, errors.New("exchange code: the authorization code is empty")
	case r.Verifier == "":
		return nil, errors.New("exchange code: the PKCE code verifier is empty")
	}
	form := url.Values{
		"client_key":    {r.ClientKey},
		"client_secret": {string(r.ClientSecret)},
		"code":          {string(r.Code)},
		"grant_type":    {"authorization_code"},
		"redirect_uri":  {r.RedirectURI},
		"code_verifier": {string(r.Verifier)},
	}.Encode()
	a, err := c.send(ctx, request{
		endpoint: EndpointOAuthToken, method: http.MethodPost, url: c.base + EndpointOAuthToken.Path(),
		contentType: "application/x-www-form-urlencoded", body: strings.NewReader(form), length: int64(len(form)),
	})
	if err != nil {
		return nil, fmt.Errorf("exchange code: %w", err)
	}
	tok, err := decodeToken(a)
	if err != nil {
		return nil, fmt.Errorf("exchange code: %w", err)
	}
	return tok, nil
}
