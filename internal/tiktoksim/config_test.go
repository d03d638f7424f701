package tiktoksim

import (
	"testing"
	"time"
)

func TestDefaultConfigIsTikToksDocumentedValues(t *testing.T) {
	c := DefaultConfig()
	for ep, want := range map[string]int{EndpointVideoInit: 6, EndpointInboxInit: 6, EndpointContentInit: 6, EndpointStatusFetch: 30, EndpointCreatorInfo: 20} {
		if l := c.Limits[ep]; l.Requests != want || l.Window.D() != time.Minute {
			t.Errorf("%s limit = %+v, want %d/min", ep, l, want)
		}
	}
	if c.DailyPosts.Requests != 15 || c.PendingShares.Requests != 5 || c.DailyPosts.Window.D() != 24*time.Hour ||
		c.AccessTokenTTL.D() != 24*time.Hour || c.RefreshTokenTTL.D() != 365*24*time.Hour || !c.RotateRefreshTokens ||
		c.Processing.UploadURLTTL.D() != time.Hour || c.Burst.Enabled || c.Penalty != 0 {
		t.Errorf("defaults: %+v", c)
	}
}

func TestLoadConfig(t *testing.T) {
	cfg, err := LoadConfig([]byte(`
access_token_ttl: 2h
refresh_token_ttl: 180d
limits:
  video_init: {requests: 3, window: 30s}
burst: {enabled: true, calls: 4, within: 1s}
penalty: 5s
faults: {server_error: 0.1, slow_delay: 0.5}
verified_url_prefixes: ["https://cdn.example.com/"]
accounts:
  - name: alice
    access_token: a
    creator: {nickname: Alice, privacy_level_options: [SELF_ONLY]}
`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AccessTokenTTL.D() != 2*time.Hour || cfg.RefreshTokenTTL.D() != 180*24*time.Hour {
		t.Errorf("lifetimes %v %v", cfg.AccessTokenTTL.D(), cfg.RefreshTokenTTL.D())
	}
	if l := cfg.Limits[EndpointVideoInit]; l.Requests != 3 || l.Window.D() != 30*time.Second {
		t.Errorf("video_init limit %+v", l)
	}
	if cfg.Limits[EndpointStatusFetch].Requests != 30 {
		t.Errorf("a limit not in the file lost its default")
	}
	if !cfg.Burst.Enabled || cfg.Penalty.D() != 5*time.Second || cfg.Faults.ServerError != 0.1 || cfg.Faults.SlowDelay.D() != 500*time.Millisecond {
		t.Errorf("burst/penalty/faults %+v %v %+v", cfg.Burst, cfg.Penalty, cfg.Faults)
	}
	if len(cfg.Accounts) != 1 || cfg.Accounts[0].Creator.Nickname != "Alice" || cfg.DailyPosts.Requests != 15 {
		t.Errorf("accounts/defaults %+v", cfg)
	}
	for _, bad := range []string{
		"limits: {video_init: {requests: 3}}",
		"faults: {drop: 2}",
		"no_such_field: 1",
		"accounts: [{name: a}, {name: a}]",
		"penalty: forever",
	} {
		if _, err := LoadConfig([]byte(bad)); err == nil {
			t.Errorf("LoadConfig(%q) accepted", bad)
		}
	}
}

// TestDefaultConfigIsStrict: the configuration every harness starts from (and cmd/tiktok-sim without
// --config) is the strict simulator: OAuth errors as TikTok answers them, no media prefix verified, no
// Retry-After TikTok does not send, no faults, and the burst rule off because TikTok publishes none
// (docs/simulator.md). The strict checks themselves (Content-Type, envelopes, chunk rules, scopes,
// required fields) have no knob at all.
func TestDefaultConfigIsStrict(t *testing.T) {
	fromFile, err := LoadConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]Config{"DefaultConfig": DefaultConfig(), "LoadConfig of an empty file": fromFile} {
		for _, tc := range []struct {
			field string
			ok    bool
		}{
			{"oauth_error_status is 200", c.OAuthErrorStatus == OAuthErrorStatus200},
			{"verified_url_prefixes is empty", len(c.VerifiedURLPrefixes) == 0},
			{"retry_after_header is off", !c.RetryAfterHeader},
			{"burst is off", !c.Burst.Enabled},
			{"penalty is off", c.Penalty == 0},
			{"no fault", c.Faults.ServerError == 0 && c.Faults.ErrorBody200 == 0 && c.Faults.MalformedJSON == 0 && c.Faults.Drop == 0 && c.Faults.Slow == 0},
			{"the app is audited", !c.Unaudited},
			{"refresh tokens rotate", c.RotateRefreshTokens},
		} {
			if !tc.ok {
				t.Errorf("%s: want %s", name, tc.field)
			}
		}
	}
}
