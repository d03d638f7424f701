package tiktoksim

import (
	"net/http"
	"testing"
	"time"
)

// TestEndpointLimitBoundary proves over HTTP, for each limited endpoint at its default limit, that the
// (n+1)th call in the window is refused with 429 rate_limit_exceeded, and that it is accepted at the
// exact boundary W after the first call.
func TestEndpointLimitBoundary(t *testing.T) {
	for _, tc := range []struct {
		ep, path string
		n        int
		body     any
	}{
		{EndpointCreatorInfo, pathCreator, 20, nil},
		{EndpointVideoInit, pathVideo, 6, pullVideo("x", "SELF_ONLY")},
		{EndpointStatusFetch, pathStatus, 30, map[string]string{"publish_id": "nope"}},
	} {
		t.Run(tc.ep, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.DailyPosts.Requests = 0 })
			for i := 0; i < tc.n; i++ {
				if a := h.call(tc.path, h.tok, tc.body); a.status == http.StatusTooManyRequests {
					t.Fatalf("call %d refused: %s", i+1, a.raw)
				}
				h.clk.Step(time.Millisecond)
			}
			// Calls 1..n went at t0, t0+1ms, ...; the window of call 1 ends at t0+1m.
			h.clk.SetTime(t0.Add(time.Minute - time.Nanosecond))
			if a := h.call(tc.path, h.tok, tc.body); a.status != http.StatusTooManyRequests || a.code != "rate_limit_exceeded" {
				t.Fatalf("call n+1 inside the window: HTTP %d %q, want 429 rate_limit_exceeded", a.status, a.code)
			}
			h.clk.SetTime(t0.Add(time.Minute))
			if a := h.call(tc.path, h.tok, tc.body); a.status == http.StatusTooManyRequests {
				t.Fatalf("call at the exact boundary refused")
			}
			if a := h.call(tc.path, h.tok, tc.body); a.status != http.StatusTooManyRequests {
				t.Fatalf("second call at the boundary accepted: only call 1 left the window")
			}
			st := h.sim.Stats().Get("alice", tc.ep)
			if st.MaxAcceptedInWindow != tc.n || st.RateLimited["window"] != 2 || st.Calls != tc.n+3 || st.Accepted != tc.n+1 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// TestLimitsArePerTokenAndEndpoint: another token, or another endpoint, has its own window.
func TestLimitsArePerTokenAndEndpoint(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Accounts = append(c.Accounts, Account{Name: "bob", AccessToken: "act.bob"})
	})
	for i := 0; i < 6; i++ {
		h.call(pathVideo, h.tok, pullVideo("x", "SELF_ONLY"))
	}
	if a := h.call(pathVideo, h.tok, pullVideo("x", "SELF_ONLY")); a.status != http.StatusTooManyRequests {
		t.Fatalf("7th video init: HTTP %d", a.status)
	}
	if a := h.call(pathVideo, "act.bob", pullVideo("x", "SELF_ONLY")); a.status != http.StatusOK {
		t.Fatalf("bob's first video init: HTTP %d %s", a.status, a.raw)
	}
	if a := h.call(pathInbox, h.tok, map[string]any{"source_info": map[string]any{"source": "PULL_FROM_URL", "video_url": "https://cdn.example.com/v.mp4"}}); a.status != http.StatusOK {
		t.Fatalf("alice's inbox init after video init limit: HTTP %d %s", a.status, a.raw)
	}
}

func TestBurstRule(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Burst = Burst{Enabled: true, Calls: 3, Within: Duration(time.Second)}
	})
	for i := 0; i < 3; i++ {
		if a := h.call(pathCreator, h.tok, nil); a.status != http.StatusOK {
			t.Fatalf("call %d: HTTP %d", i+1, a.status)
		}
		h.clk.Step(100 * time.Millisecond)
	}
	if a := h.call(pathStatus, h.tok, map[string]string{"publish_id": "x"}); a.status != http.StatusTooManyRequests {
		t.Fatalf("4th call within 1s (another endpoint): HTTP %d, want 429", a.status)
	}
	// In (0.05s, 1.05s] lie the calls at 0.1s and 0.2s and the refused one at 0.3s: with this one, 4.
	h.clk.SetTime(t0.Add(time.Second + 50*time.Millisecond))
	if a := h.call(pathCreator, h.tok, nil); a.status != http.StatusTooManyRequests {
		t.Fatalf("refused calls count towards the burst: want 429, got %d", a.status)
	}
	h.clk.SetTime(t0.Add(3 * time.Second))
	if a := h.call(pathCreator, h.tok, nil); a.status != http.StatusOK {
		t.Fatalf("after the burst: HTTP %d", a.status)
	}
	if got := h.sim.Stats().Get("alice", EndpointStatusFetch).RateLimited["burst"]; got != 1 {
		t.Fatalf("burst refusals on status_fetch = %d", got)
	}
}

// TestPenaltyExtendsLockout: with penalty P, the first refusal locks until the window frees plus P,
// and every call while locked adds P.
func TestPenaltyExtendsLockout(t *testing.T) {
	const p = 10 * time.Second
	h := newHarness(t, func(c *Config) {
		c.Penalty = Duration(p)
		c.Limits[EndpointCreatorInfo] = Limit{Requests: 1, Window: Duration(time.Minute)}
		c.RetryAfterHeader = true
	})
	h.call(pathCreator, h.tok, nil) // accepted at t0; window frees at t0+1m
	a := h.call(pathCreator, h.tok, nil)
	if a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") != "70" {
		t.Fatalf("first refusal: HTTP %d Retry-After %q, want 429 and 70", a.status, a.header.Get("Retry-After"))
	}
	h.clk.SetTime(t0.Add(30 * time.Second))
	h.call(pathCreator, h.tok, nil) // locked: extends to t0+1m20s
	h.clk.SetTime(t0.Add(80*time.Second - time.Nanosecond))
	if a := h.call(pathCreator, h.tok, nil); a.status != http.StatusTooManyRequests { // extends to t0+1m30s
		t.Fatalf("call before the extended lockout ends: HTTP %d", a.status)
	}
	h.clk.SetTime(t0.Add(90 * time.Second))
	if a := h.call(pathCreator, h.tok, nil); a.status != http.StatusOK {
		t.Fatalf("call at the end of the extended lockout: HTTP %d", a.status)
	}
	st := h.sim.Stats().Get("alice", EndpointCreatorInfo)
	if st.LockoutExtensions != 3 || st.RateLimited["lockout"] != 2 || st.RateLimited["window"] != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestDailyAndPendingCaps(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Limits = map[string]Limit{} // only the caps
		c.AccessTokenTTL = Duration(48 * time.Hour)
		c.DailyPosts = Limit{Requests: 3, Window: Duration(24 * time.Hour)}
		c.PendingShares = Limit{Requests: 2, Window: Duration(24 * time.Hour)}
	})
	photo := func(mode string) map[string]any {
		return map[string]any{"media_type": "PHOTO", "post_mode": mode,
			"post_info":   map[string]any{"title": "p", "privacy_level": "SELF_ONLY", "brand_content_toggle": false},
			"source_info": map[string]any{"source": "PULL_FROM_URL", "photo_images": []string{"https://cdn.example.com/1.jpg"}}}
	}
	inbox := map[string]any{"source_info": map[string]any{"source": "PULL_FROM_URL", "video_url": "https://cdn.example.com/v.mp4"}}
	for i, a := range []answer{h.call(pathVideo, h.tok, pullVideo("a", "SELF_ONLY")), h.call(pathPhoto, h.tok, photo("DIRECT_POST")), h.call(pathVideo, h.tok, pullVideo("c", "SELF_ONLY"))} {
		if a.status != http.StatusOK {
			t.Fatalf("direct post %d: HTTP %d %s", i+1, a.status, a.raw)
		}
	}
	if a := h.call(pathVideo, h.tok, pullVideo("d", "SELF_ONLY")); a.status != http.StatusForbidden || a.code != "spam_risk_too_many_posts" {
		t.Fatalf("4th direct post: HTTP %d %q", a.status, a.code)
	}
	if a := h.call(pathCreator, h.tok, nil); a.status != http.StatusOK || a.code != "spam_risk_too_many_posts" || a.data["creator_username"] != "alice" {
		t.Fatalf("creator_info at the cap: HTTP %d %q %v", a.status, a.code, a.data)
	}
	for i := 0; i < 2; i++ {
		if a := h.call(pathInbox, h.tok, inbox); a.status != http.StatusOK {
			t.Fatalf("share %d: HTTP %d", i+1, a.status)
		}
	}
	if a := h.call(pathPhoto, h.tok, photo("MEDIA_UPLOAD")); a.status != http.StatusForbidden || a.code != "spam_risk_too_many_pending_share" {
		t.Fatalf("3rd share: HTTP %d %q", a.status, a.code)
	}
	h.clk.SetTime(t0.Add(24 * time.Hour)) // rolling: the first ones leave the window
	if a := h.call(pathVideo, h.tok, pullVideo("e", "SELF_ONLY")); a.status != http.StatusOK {
		t.Fatalf("direct post after 24h: HTTP %d", a.status)
	}
	if a := h.call(pathInbox, h.tok, inbox); a.status != http.StatusOK {
		t.Fatalf("share after 24h: HTTP %d", a.status)
	}
}
