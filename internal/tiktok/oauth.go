package tiktok

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// RefreshRequest holds what the OAuth refresh needs. All secrets print as [redacted].
type RefreshRequest struct {
	ClientKey    string
	ClientSecret ClientSecret
	RefreshToken RefreshToken
}

// RefreshToken exchanges a refresh token for a new access token (form-encoded POST /v2/oauth/token/).
// TikTok may rotate the refresh token: persist Token.RefreshToken before using the new access token,
// or the account is lost when the old one stops working.
func (c *Client) RefreshToken(ctx context.Context, r RefreshRequest) (*Token, error) {
	form := url.Values{
		"client_key":    {r.ClientKey},
		"client_secret": {string(r.ClientSecret)},
		"grant_type":    {"refresh_token"},
		"refresh_token": {string(r.RefreshToken)},
	}.Encode()
	a, err := c.send(ctx, request{
		endpoint: EndpointOAuthToken, method: http.MethodPost, url: c.base + EndpointOAuthToken.Path(),
		contentType: "application/x-www-form-urlencoded", body: strings.NewReader(form), length: int64(len(form)),
	})
	if err != nil {
		return nil, err
	}
	return decodeToken(a)
}

// decodeToken reads the token from an answer the client judged a success (2xx, no error code). It
// returns a token or an error, never both; the error is Uncertain, since TikTok may have rotated the
// refresh token.
func decodeToken(a answer) (*Token, error) {
	var raw struct {
		AccessToken      string `json:"access_token"`
		ExpiresIn        int64  `json:"expires_in"`
		RefreshToken     string `json:"refresh_token"`
		RefreshExpiresIn int64  `json:"refresh_expires_in"`
		OpenID           string `json:"open_id"`
		Scope            string `json:"scope"`
		TokenType        string `json:"token_type"`
	}
	body := a.body
	if len(a.env.Data) > 0 && string(a.env.Data) != "null" {
		body = a.env.Data // tolerate a {"data": {...}} wrapper
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, dataError(EndpointOAuthToken, a, err)
	}
	if raw.AccessToken == "" {
		// TikTok may have rotated the refresh token and we did not get the new one.
		return nil, dataError(EndpointOAuthToken, a, errors.New("answer has no access_token"))
	}
	t := &Token{
		AccessToken: AccessToken(raw.AccessToken), ExpiresIn: raw.ExpiresIn,
		RefreshToken: RefreshToken(raw.RefreshToken), RefreshExpiresIn: raw.RefreshExpiresIn,
		OpenID: raw.OpenID, TokenType: raw.TokenType,
	}
	for _, s := range strings.Split(raw.Scope, ",") {
		if s = strings.TrimSpace(s); s != "" {
			t.Scope = append(t.Scope, s)
		}
	}
	return t, nil
}

// WithRefresh runs call with tok and, if it fails with TokenInvalid, obtains a fresh token from refresh
// and runs call once more. A TokenInvalid answer is certain (TikTok did not act), so the second call
// cannot duplicate the first.
func WithRefresh[T any](ctx context.Context, tok AccessToken, refresh func(context.Context) (AccessToken, error),
	call func(context.Context, AccessToken) (T, error)) (T, error) {
	v, err := call(ctx, tok)
	if ClassOf(err) != TokenInvalid {
		return v, err
	}
	fresh, rerr := refresh(ctx)
	if rerr != nil {
		var zero T
		return zero, fmt.Errorf("refresh after %v: %w", err, rerr)
	}
	return call(ctx, fresh)
}
