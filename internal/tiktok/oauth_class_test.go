package tiktok_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tiktok-operator/tiktok-operator/internal/tiktok"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
)

// TestRefreshErrorIn200 is TikTok's token endpoint as client authors report it: errors come with HTTP 200
// and {"error","error_description","log_id"}. The client reads the body's error whatever the status, and
// classifies it: the credentials or the request are wrong (Terminal: the AccountQuota controller then says
// CredentialsInvalid), or TikTok had trouble (Retryable).
func TestRefreshErrorIn200(t *testing.T) {
	for _, tc := range []struct {
		code string
		want tiktok.Class
	}{
		{"invalid_grant", tiktok.Terminal},
		{"invalid_request", tiktok.Terminal},
		{"invalid_client", tiktok.Terminal},
		{"server_error", tiktok.Retryable},
		{"temporarily_unavailable", tiktok.Retryable},
		{"some_code_tiktok_adds_later", tiktok.Retryable},
	} {
		t.Run(tc.code, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"error":"` + tc.code + `","error_description":"d","log_id":"L1"}`))
			}))
			defer srv.Close()
			c := tiktok.New(tiktok.Options{BaseURL: srv.URL, HTTPClient: srv.Client()})
			tok, err := c.RefreshToken(context.Background(), tiktok.RefreshRequest{ClientKey: "k", ClientSecret: "s", RefreshToken: "r"})
			te, ok := err.(*tiktok.Error)
			if tok != nil || !ok || te.Class != tc.want || te.Code != tc.code || te.HTTPStatus != 200 || te.LogID != "L1" {
				t.Fatalf("HTTP 200 error %s: token %v, error %v; want class %v", tc.code, tok, err, tc.want)
			}
		})
	}
}

// TestRefreshAgainstSimulatorErrors: the simulator's default (HTTP 200) and "http" (400/401) error
// statuses give the client the same classes.
func TestRefreshAgainstSimulatorErrors(t *testing.T) {
	for _, mode := range []string{tiktoksim.OAuthErrorStatus200, tiktoksim.OAuthErrorStatusHTTP} {
		e := newEnv(t, func(c *tiktoksim.Config) { c.OAuthErrorStatus = mode })
		for _, tc := range []struct {
			req  tiktok.RefreshRequest
			code string
		}{
			{tiktok.RefreshRequest{ClientKey: aliceKey, ClientSecret: aliceSecret, RefreshToken: "rft.unknown"}, "invalid_grant"},
			{tiktok.RefreshRequest{ClientKey: aliceKey, ClientSecret: "wrong", RefreshToken: aliceRefresh}, "invalid_client"},
		} {
			_, err := e.client.RefreshToken(context.Background(), tc.req)
			te, ok := err.(*tiktok.Error)
			if !ok || te.Code != tc.code || te.Class != tiktok.Terminal || te.LogID == "" {
				t.Fatalf("oauth_error_status %s: %v, want %s Terminal with a log_id", mode, err, tc.code)
			}
		}
	}
}
