package controllers

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tiktok-operator/tiktok-operator/internal/tiktok"
)

// A cut string stays valid UTF-8: a status field, an Event or a metric label never carries half a
// character (the Prometheus client panics on an invalid label value).
func TestTruncateCutsOnRuneBoundaries(t *testing.T) {
	tests := []struct {
		name string
		in   string
		n    int
	}{
		{"two-byte rune across the cut", strings.Repeat("a", 60) + strings.Repeat("é", 10), 64},
		{"four-byte rune across the cut", strings.Repeat("a", 59) + strings.Repeat("😀", 10), 64},
		{"all multi-byte", strings.Repeat("日本語", 500), 1024},
		{"invalid UTF-8 from TikTok", "bad \xff\xfe bytes " + strings.Repeat("x", 100), 64},
		{"short invalid UTF-8", "a\xffb", 64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := truncate(tt.in, tt.n)
			if !utf8.ValidString(got) {
				t.Errorf("truncate(%q, %d) = %q: not valid UTF-8", tt.in, tt.n, got)
			}
			if c := utf8.RuneCountInString(got); c > tt.n {
				t.Errorf("truncate(..., %d) kept %d characters", tt.n, c)
			}
		})
	}
}

// An error code TikTok invents (or a proxy's garbage) must neither panic the metrics nor add a series:
// an unknown code is counted as "other".
func TestCallCodeIsABoundedLabel(t *testing.T) {
	long := strings.Repeat("x", 60) + "ééé" // cut to 61 bytes and "...", this splits an é
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("observeCall panicked on the code %q: %v", long, p)
			}
		}()
		observeCall(tiktok.CallInfo{Endpoint: tiktok.EndpointVideoInit, HTTPStatus: 400, Code: long, Class: tiktok.Terminal})
	}()
	tests := []struct {
		info tiktok.CallInfo
		want string
	}{
		{tiktok.CallInfo{HTTPStatus: 200}, "ok"},
		{tiktok.CallInfo{}, "transport"},
		{tiktok.CallInfo{HTTPStatus: 429, Code: "rate_limit_exceeded"}, "rate_limit_exceeded"},
		{tiktok.CallInfo{HTTPStatus: 400, Code: "spam_risk_user_banned_from_posting"}, "spam_risk_user_banned_from_posting"},
		{tiktok.CallInfo{HTTPStatus: 400, Code: "unaudited_client_can_only_post_to_private_accounts"}, "unaudited_client_can_only_post_to_private_accounts"},
		{tiktok.CallInfo{HTTPStatus: 400, Code: "invalid_grant"}, "invalid_grant"},
		{tiktok.CallInfo{HTTPStatus: 400, Code: long}, "other"},
		{tiktok.CallInfo{HTTPStatus: 400, Code: strings.Repeat("c", 300)}, "other"},
		{tiktok.CallInfo{HTTPStatus: 400, Code: "made_up_code_1"}, "other"},
		{tiktok.CallInfo{HTTPStatus: 400, Code: "bad\xffcode"}, "other"},
		{tiktok.CallInfo{HTTPStatus: 502}, "http_502"},
		{tiktok.CallInfo{HTTPStatus: 429}, "http_429"},
		{tiktok.CallInfo{HTTPStatus: 418}, "http_4xx"},
		{tiktok.CallInfo{HTTPStatus: 599}, "http_5xx"},
		{tiktok.CallInfo{HTTPStatus: 302}, "http_other"},
		{tiktok.CallInfo{HTTPStatus: 999}, "http_other"},
	}
	for _, tt := range tests {
		if got := callCode(tt.info); got != tt.want {
			t.Errorf("callCode(HTTP %d, code %.40q) = %q, want %q", tt.info.HTTPStatus, tt.info.Code, got, tt.want)
		}
	}
}
