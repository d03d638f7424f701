package tiktoksim

import (
	"net/http"
	"testing"
	"time"
)

func TestRefreshRotatesAndTokensExpire(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.AccessTokenTTL = Duration(2 * time.Hour)
		c.RefreshTokenTTL = Duration(180 * 24 * time.Hour)
	})
	h.clk.Step(2*time.Hour - time.Nanosecond)
	if a := h.call(pathCreator, h.tok, nil); a.status != http.StatusOK {
		t.Fatalf("access token just before expiry: HTTP %d", a.status)
	}
	h.clk.Step(time.Nanosecond)
	if a := h.call(pathCreator, h.tok, nil); a.status != http.StatusUnauthorized || a.code != "access_token_invalid" {
		t.Fatalf("expired access token: HTTP %d %q", a.status, a.code)
	}
	if a := h.refresh("ck", "wrong", "rft.alice"); a.status != http.StatusOK || a.code != "invalid_client" {
		t.Fatalf("wrong secret: HTTP %d %q", a.status, a.code)
	}
	a := h.refresh("ck", "secret-alice", "rft.alice")
	if a.status != http.StatusOK {
		t.Fatalf("refresh: HTTP %d %s", a.status, a.raw)
	}
	var tok struct {
		AccessToken, RefreshToken   string
		ExpiresIn, RefreshExpiresIn float64
	}
	m := decodeMap(t, a.raw)
	tok.AccessToken, tok.RefreshToken = m["access_token"].(string), m["refresh_token"].(string)
	tok.ExpiresIn, tok.RefreshExpiresIn = m["expires_in"].(float64), m["refresh_expires_in"].(float64)
	if tok.ExpiresIn != 7200 || tok.RefreshExpiresIn != 180*24*3600 || tok.RefreshToken == "rft.alice" || m["token_type"] != "Bearer" {
		t.Fatalf("refresh answer: %s", a.raw)
	}
	if a := h.refresh("ck", "secret-alice", "rft.alice"); a.status != http.StatusOK || a.code != "invalid_grant" {
		t.Fatalf("rotated-out refresh token: HTTP %d %q", a.status, a.code)
	}
	if a := h.call(pathCreator, tok.AccessToken, nil); a.status != http.StatusOK {
		t.Fatalf("new access token: HTTP %d", a.status)
	}
	acc, ref, _ := h.sim.Tokens("alice")
	if acc != tok.AccessToken || ref != tok.RefreshToken {
		t.Fatalf("Tokens() does not return the newest tokens")
	}
	if err := h.sim.ExpireAccessTokens("alice"); err != nil {
		t.Fatal(err)
	}
	if a := h.call(pathCreator, tok.AccessToken, nil); a.status != http.StatusUnauthorized {
		t.Fatalf("after ExpireAccessTokens: HTTP %d", a.status)
	}
	h.clk.Step(180 * 24 * time.Hour)
	if a := h.refresh("ck", "secret-alice", tok.RefreshToken); a.code != "invalid_grant" {
		t.Fatalf("expired refresh token: HTTP %d %q", a.status, a.code)
	}
}

func TestRefreshWithoutRotation(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.RotateRefreshTokens = false })
	for i := 0; i < 2; i++ {
		a := h.refresh("ck", "secret-alice", "rft.alice")
		if a.status != http.StatusOK || decodeMap(t, a.raw)["refresh_token"] != "rft.alice" {
			t.Fatalf("refresh %d without rotation: %s", i+1, a.raw)
		}
	}
}
