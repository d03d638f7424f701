package controllers

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
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

// What TikTok says about the creator fits status.creator: names cut, an oversized avatar URL and
// oversized privacy options left out, and TikTok's four levels kept when it lists too many options.
func TestCreatorStatusIsBounded(t *testing.T) {
	opts := []string{"SELF_ONLY", "SELF_ONLY", strings.Repeat("L", 65)}
	for i := range 20 {
		opts = append(opts, "NEW_LEVEL_"+strings.Repeat("x", i))
	}
	opts = append(opts, "PUBLIC_TO_EVERYONE", "bad\xffoption", "FOLLOWER_OF_CREATOR", "MUTUAL_FOLLOW_FRIENDS")
	c := creatorStatusOf(&tiktok.CreatorInfo{
		Username: strings.Repeat("ü", 300), Nickname: "nick\xff", AvatarURL: "https://cdn.example.com/" + strings.Repeat("a", 2048),
		PrivacyLevelOptions: opts, MaxVideoPostDurationSec: 600,
	})
	if n := utf8.RuneCountInString(c.Username); n != 256 || !utf8.ValidString(c.Username) {
		t.Errorf("username: %d characters, valid %v; want 256", n, utf8.ValidString(c.Username))
	}
	if c.Nickname != "nick\uFFFD" {
		t.Errorf("nickname %q, want the invalid byte replaced", c.Nickname)
	}
	if c.AvatarURL != "" {
		t.Errorf("avatar URL of %d characters kept, want it left out", len(c.AvatarURL))
	}
	want := []string{"SELF_ONLY", "PUBLIC_TO_EVERYONE", "FOLLOWER_OF_CREATOR", "MUTUAL_FOLLOW_FRIENDS",
		"NEW_LEVEL_", "NEW_LEVEL_x", "NEW_LEVEL_xx", "NEW_LEVEL_xxx"}
	if strings.Join(c.PrivacyLevelOptions, ",") != strings.Join(want, ",") {
		t.Errorf("privacy options %v, want %v", c.PrivacyLevelOptions, want)
	}
	few := creatorStatusOf(&tiktok.CreatorInfo{PrivacyLevelOptions: []string{"X_NEW", "SELF_ONLY"}})
	if strings.Join(few.PrivacyLevelOptions, ",") != "X_NEW,SELF_ONLY" {
		t.Errorf("privacy options %v: TikTok's order must stay when they fit", few.PrivacyLevelOptions)
	}
}

func TestPostValuesAreBounded(t *testing.T) {
	ids := make(tiktok.PostIDs, 100)
	for i := range ids {
		ids[i] = int64(i)
	}
	if got := boundPostIDs(ids); len(got) != 35 || got[0] != "0" || got[34] != "34" {
		t.Errorf("boundPostIDs(100 ids) = %v, want the first 35", got)
	}
	if got := boundPostIDs(nil); got != nil {
		t.Errorf("boundPostIDs(nil) = %v", got)
	}
	e := boundError(v1alpha1.PostError{Code: strings.Repeat("c", 300), Message: strings.Repeat("é", 5000) + "\xff",
		LogID: strings.Repeat("l", 200), HTTPStatus: 400})
	if utf8.RuneCountInString(e.Code) != 128 || utf8.RuneCountInString(e.Message) != 1024 ||
		utf8.RuneCountInString(e.LogID) != 128 || !utf8.ValidString(e.Message) || e.HTTPStatus != 400 {
		t.Errorf("boundError: code %d, message %d, log id %d characters", len(e.Code), utf8.RuneCountInString(e.Message), len(e.LogID))
	}
	for id, ok := range map[string]bool{"v_pub_url~v2.123": true, strings.Repeat("p", 128): true,
		strings.Repeat("p", 129): false, "v_pub\xff": false, strings.Repeat("é", 128): true} {
		if usablePublishID(id) != ok {
			t.Errorf("usablePublishID(%.20q... of %d bytes) = %v", id, len(id), !ok)
		}
	}
	if got := eventNote("%s", strings.Repeat("日", 1000)); len(got) > 1024 || !utf8.ValidString(got) {
		t.Errorf("eventNote: %d bytes, valid %v", len(got), utf8.ValidString(got))
	}
}
