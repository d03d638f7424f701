package tiktoksim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const (
	formType = "application/x-www-form-urlencoded"
	jsonType = "application/json; charset=UTF-8"
)

// strictRow is one difference between TikTok and the lenient simulator: the request, TikTok's answer
// (status, code) and where that answer comes from.
type strictRow struct {
	name        string
	cfg         func(*Config)
	method      string
	path        string // "upload" means a bogus upload URL
	contentType string // "" sends no Content-Type
	body        string
	auth        bool
	status      int
	code        string // "" for a success
	scope       string // the token answer's "scope", checked when not ""
	source      string
}

// TestStrictAsTikTok holds the simulator to TikTok's answers; every row failed on the lenient simulator.
// Every answer carries a log_id, in TikTok's envelope: {"error":{"code","message","log_id"}} on the
// content endpoints and uploads, OAuth's {"error","error_description","log_id"} on the token endpoint.
func TestStrictAsTikTok(t *testing.T) {
	const goodForm = "client_key=ck&client_secret=secret-alice&grant_type=refresh_token&refresh_token=rft.alice"
	rows := []strictRow{
		// 1. OAuth errors are HTTP 200 by default (reported by client authors); "http" keeps 400/401.
		{name: "refresh with an unknown refresh token", method: "POST", path: pathToken, contentType: formType,
			body:   "client_key=ck&client_secret=secret-alice&grant_type=refresh_token&refresh_token=nope",
			status: 200, code: "invalid_grant", source: "reported by client authors: token errors come with HTTP 200"},
		{name: "refresh with a wrong client secret", method: "POST", path: pathToken, contentType: formType,
			body:   "client_key=ck&client_secret=wrong&grant_type=refresh_token&refresh_token=rft.alice",
			status: 200, code: "invalid_client", source: "reported by client authors"},
		{name: "oauth_error_status http keeps the statuses", cfg: func(c *Config) { c.OAuthErrorStatus = OAuthErrorStatusHTTP },
			method: "POST", path: pathToken, contentType: formType,
			body:   "client_key=ck&client_secret=wrong&grant_type=refresh_token&refresh_token=rft.alice",
			status: 401, code: "invalid_client", source: "oauth (one reading)"},
		// 2. A missing grant_type or a body that is not a form is invalid_request.
		{name: "refresh without grant_type", method: "POST", path: pathToken, contentType: formType,
			body:   "client_key=ck&client_secret=secret-alice&refresh_token=rft.alice",
			status: 200, code: "invalid_request", source: "oauth; RFC 6749 5.2"},
		{name: "refresh as a JSON body", method: "POST", path: pathToken, contentType: "application/json",
			body:   `{"client_key":"ck","client_secret":"secret-alice","grant_type":"refresh_token","refresh_token":"rft.alice"}`,
			status: 200, code: "invalid_request", source: "oauth: application/x-www-form-urlencoded"},
		{name: "refresh form sent as text/plain", method: "POST", path: pathToken, contentType: "text/plain", body: goodForm,
			status: 200, code: "invalid_request", source: "oauth: application/x-www-form-urlencoded"},
		// 3. log_id on every answer, same envelope everywhere.
		{name: "unknown path", method: "POST", path: "/v2/no/such/", contentType: jsonType, auth: true,
			status: 404, code: "not_found", source: "errors: every answer has log_id"},
		{name: "GET on a content endpoint", method: "GET", path: pathCreator, contentType: jsonType, auth: true,
			status: 405, code: "invalid_param", source: "errors: every answer has log_id"},
		{name: "unknown upload", method: "PUT", path: "upload", contentType: "video/mp4", body: "x",
			status: 404, code: "upload_not_found", source: "media-transfer: 404; errors: log_id"},
		// 4. Content-Type of the content endpoints.
		{name: "creator_info without Content-Type", method: "POST", path: pathCreator, auth: true,
			status: 400, code: "invalid_param", source: "creator-info: Content-Type application/json; charset=UTF-8 (answer: deliberate choice)"},
		{name: "creator_info as text/plain", method: "POST", path: pathCreator, contentType: "text/plain", auth: true,
			status: 400, code: "invalid_param", source: "creator-info (answer: deliberate choice)"},
		{name: "status/fetch with another charset", method: "POST", path: pathStatus, contentType: "application/json; charset=ISO-8859-1",
			body: `{"publish_id":"x"}`, auth: true, status: 400, code: "invalid_param", source: "status (answer: deliberate choice)"},
		{name: "video/init as a form", method: "POST", path: pathVideo, contentType: formType,
			body: "post_info=x", auth: true, status: 400, code: "invalid_param", source: "direct-post (answer: deliberate choice)"},
		// 5. The chunk rules: a video over 64 MB goes in several chunks, none over 4 GB.
		{name: "100 MiB as one 64 MiB chunk", method: "POST", path: pathInbox, contentType: jsonType, auth: true,
			body:   `{"source_info":{"source":"FILE_UPLOAD","video_size":104857600,"chunk_size":67108864,"total_chunk_count":1}}`,
			status: 400, code: "invalid_param", source: "media-transfer: files over 64 MB in several chunks"},
		{name: "4 GiB + 1 byte", method: "POST", path: pathInbox, contentType: jsonType, auth: true,
			body:   `{"source_info":{"source":"FILE_UPLOAD","video_size":4294967297,"chunk_size":67108864,"total_chunk_count":64}}`,
			status: 400, code: "invalid_param", source: "media-transfer: video up to 4 GB"},
		// 6. PULL_FROM_URL only from a prefix the app verified; by default nothing is verified.
		{name: "PULL_FROM_URL with no verified prefix", cfg: func(c *Config) { c.VerifiedURLPrefixes = nil },
			method: "POST", path: pathInbox, contentType: jsonType, auth: true,
			body:   `{"source_info":{"source":"PULL_FROM_URL","video_url":"https://cdn.example.com/v.mp4"}}`,
			status: 403, code: "url_ownership_unverified", source: "media-transfer: the domain or URL prefix must be verified by the app owner"},
		// 7. Unaudited apps post SELF_ONLY to private accounts only; scopes; required post_info fields.
		{name: "unaudited app, public post to a private account", cfg: unaudited(true),
			method: "POST", path: pathVideo, contentType: jsonType, auth: true, body: directPost("PUBLIC_TO_EVERYONE"),
			status: 403, code: "unaudited_client_can_only_post_to_private_accounts", source: "guidelines: unaudited clients post SELF_ONLY only"},
		{name: "unaudited app, SELF_ONLY to a public account", cfg: unaudited(false),
			method: "POST", path: pathVideo, contentType: jsonType, auth: true, body: directPost("SELF_ONLY"),
			status: 403, code: "unaudited_client_can_only_post_to_private_accounts", source: "guidelines: unaudited clients post to private accounts only"},
		{name: "unaudited app, inbox upload to a public account", cfg: unaudited(false),
			method: "POST", path: pathInbox, contentType: jsonType, auth: true,
			body:   `{"source_info":{"source":"PULL_FROM_URL","video_url":"https://cdn.example.com/v.mp4"}}`,
			status: 403, code: "unaudited_client_can_only_post_to_private_accounts", source: "guidelines: private accounts only (inbox included: deliberate reading)"},
		{name: "direct post without video.publish", cfg: scopes("video.upload"),
			method: "POST", path: pathVideo, contentType: jsonType, auth: true, body: directPost("SELF_ONLY"),
			status: 401, code: "scope_not_authorized", source: "direct-post: scope video.publish"},
		{name: "creator_info without video.publish", cfg: scopes("video.upload"),
			method: "POST", path: pathCreator, contentType: jsonType, auth: true,
			status: 401, code: "scope_not_authorized", source: "creator-info: scope video.publish"},
		{name: "inbox upload without video.upload", cfg: scopes("video.publish"),
			method: "POST", path: pathInbox, contentType: jsonType, auth: true,
			body:   `{"source_info":{"source":"PULL_FROM_URL","video_url":"https://cdn.example.com/v.mp4"}}`,
			status: 401, code: "scope_not_authorized", source: "upload: scope video.upload"},
		{name: "photo direct post without video.publish", cfg: scopes("video.upload"),
			method: "POST", path: pathPhoto, contentType: jsonType, auth: true,
			body:   `{"media_type":"PHOTO","post_mode":"DIRECT_POST","post_info":{"privacy_level":"SELF_ONLY","brand_content_toggle":false},"source_info":{"source":"PULL_FROM_URL","photo_images":["https://cdn.example.com/1.jpg"]}}`,
			status: 401, code: "scope_not_authorized", source: "photo: video.publish or video.upload (direct post: video.publish, deliberate reading)"},
		{name: "status/fetch with no posting scope", cfg: scopes("user.info.basic"),
			method: "POST", path: pathStatus, contentType: jsonType, auth: true, body: `{"publish_id":"x"}`,
			status: 401, code: "scope_not_authorized", source: "status: video.upload or video.publish"},
		// The refresh answer's scope is what the account granted, comma-separated (oauth), not a constant.
		{name: "refresh answers the account's scopes", cfg: scopes("user.info.basic", "video.upload"),
			method: "POST", path: pathToken, contentType: formType, body: goodForm,
			status: 200, scope: "user.info.basic,video.upload", source: "oauth: scope, the scopes the user authorized"},
		{name: "refresh answers the default scopes", method: "POST", path: pathToken, contentType: formType, body: goodForm,
			status: 200, scope: "video.publish,video.upload", source: "oauth: scope (default: what the account is configured with)"},
		{name: "direct post without brand_content_toggle", method: "POST", path: pathVideo, contentType: jsonType, auth: true,
			body:   `{"post_info":{"privacy_level":"SELF_ONLY"},"source_info":{"source":"PULL_FROM_URL","video_url":"https://cdn.example.com/v.mp4"}}`,
			status: 400, code: "invalid_param", source: "direct-post: brand_content_toggle required"},
	}
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			a := strictDo(t, tc)
			if a.status != tc.status || a.code != tc.code {
				t.Fatalf("%s %s: HTTP %d %q, TikTok answers HTTP %d %q (%s); body %s",
					tc.method, tc.path, a.status, a.code, tc.status, tc.code, tc.source, a.raw)
			}
			if tc.scope != "" {
				if got := decodeMap(t, a.raw)["scope"]; got != tc.scope {
					t.Fatalf("scope %v, TikTok answers %q (%s); body %s", got, tc.scope, tc.source, a.raw)
				}
			}
			if tc.code != "" {
				checkEnvelope(t, tc.path == pathToken, a.raw)
			}
		})
	}
}

// unaudited flags the app unaudited and alice's account private or not.
func unaudited(private bool) func(*Config) {
	return func(c *Config) {
		c.Unaudited = true
		c.Accounts[0].Creator.Private = private
	}
}

// scopes sets the scopes alice granted.
func scopes(s ...string) func(*Config) { return func(c *Config) { c.Accounts[0].Scopes = s } }

// directPost is a valid Direct Post video init body with privacy level p.
func directPost(p string) string {
	return `{"post_info":{"privacy_level":"` + p + `","brand_content_toggle":false},"source_info":{"source":"PULL_FROM_URL","video_url":"https://cdn.example.com/v.mp4"}}`
}

// TestStrictAdmits: what TikTok documents still works.
func TestStrictAdmits(t *testing.T) {
	for _, tc := range []strictRow{
		{name: "unaudited app, SELF_ONLY to a private account", cfg: unaudited(true), method: "POST", path: pathVideo,
			contentType: jsonType, auth: true, body: directPost("SELF_ONLY"), status: 200},
		{name: "status/fetch with video.upload only", cfg: scopes("video.upload"), method: "POST", path: pathStatus,
			contentType: jsonType, auth: true, body: `{"publish_id":"x"}`, status: 400, code: "invalid_publish_id"},
		{name: "photo upload with video.upload only", cfg: scopes("video.upload"), method: "POST", path: pathPhoto, contentType: jsonType, auth: true,
			body:   `{"media_type":"PHOTO","post_mode":"MEDIA_UPLOAD","post_info":{"brand_content_toggle":false},"source_info":{"source":"PULL_FROM_URL","photo_images":["https://cdn.example.com/1.jpg"]}}`,
			status: 200},
		{name: "bare application/json", method: "POST", path: pathCreator, contentType: "application/json", auth: true, status: 200},
		{name: "lower-case charset", method: "POST", path: pathCreator, contentType: "application/json; charset=utf-8", auth: true, status: 200},
		{name: "form with a charset", method: "POST", path: pathToken, contentType: formType + "; charset=UTF-8",
			body: "client_key=ck&client_secret=secret-alice&grant_type=refresh_token&refresh_token=rft.alice", status: 200},
		{name: "other grant type", method: "POST", path: pathToken, contentType: formType,
			body: "grant_type=client_credentials", status: 200, code: "unsupported_grant_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := strictDo(t, tc)
			if a.status != tc.status || a.code != tc.code {
				t.Fatalf("HTTP %d %q, want %d %q: %s", a.status, a.code, tc.status, tc.code, a.raw)
			}
			if tc.code != "" {
				checkEnvelope(t, tc.path == pathToken, a.raw)
			}
		})
	}
}

func strictDo(t *testing.T, tc strictRow) answer {
	t.Helper()
	h := newHarness(t, tc.cfg)
	url := h.srv.URL + tc.path
	if tc.path == "upload" {
		url = h.srv.URL + "/upload/?upload_id=none&upload_token=none"
	}
	req, _ := http.NewRequest(tc.method, url, strings.NewReader(tc.body))
	if tc.contentType != "" {
		req.Header.Set("Content-Type", tc.contentType)
	}
	if tc.path == "upload" {
		req.Header.Set("Content-Range", "bytes 0-0/1")
	}
	if tc.auth {
		req.Header.Set("Authorization", "Bearer "+h.tok)
	}
	return h.do(req)
}

// checkEnvelope fails unless raw is TikTok's error envelope with a log_id: OAuth's on the token endpoint.
func checkEnvelope(t *testing.T, oauth bool, raw string) {
	t.Helper()
	if oauth {
		var e struct {
			Error       *string `json:"error"`
			Description *string `json:"error_description"`
			LogID       string  `json:"log_id"`
		}
		if err := json.Unmarshal([]byte(raw), &e); err != nil || e.Error == nil || e.Description == nil || e.LogID == "" {
			t.Fatalf("not OAuth's error envelope with a log_id: %s", raw)
		}
		return
	}
	var e struct {
		Error *struct {
			Code    *string `json:"code"`
			Message *string `json:"message"`
			LogID   string  `json:"log_id"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(raw), &e); err != nil || e.Error == nil || e.Error.Code == nil || e.Error.Message == nil || e.Error.LogID == "" {
		t.Fatalf("not TikTok's error envelope with a log_id: %s", raw)
	}
}

// TestEncodeFallbackIsJSON: an answer that cannot be encoded becomes TikTok's error envelope, valid JSON
// (it used to hold a Go constant's name where a JSON string belongs).
func TestEncodeFallbackIsJSON(t *testing.T) {
	rec := httptest.NewRecorder()
	writeJSON(rec, http.StatusOK, map[string]any{"bad": make(chan int)})
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	if rec.Code != http.StatusInternalServerError || json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Error.Code != "internal_error" {
		t.Fatalf("HTTP %d %s", rec.Code, rec.Body.String())
	}
}

// TestUploadAnswersCarryLogID: upload answers, success included, carry a log_id.
func TestUploadAnswersCarryLogID(t *testing.T) {
	h := newHarness(t, nil)
	init := h.call(pathInbox, h.tok, map[string]any{"source_info": map[string]any{
		"source": "FILE_UPLOAD", "video_size": 10, "chunk_size": 10, "total_chunk_count": 1}})
	uploadURL, _ := init.data["upload_url"].(string)
	if uploadURL == "" {
		t.Fatalf("init: %s", init.raw)
	}
	req, _ := http.NewRequest(http.MethodPut, uploadURL, strings.NewReader("0123456789"))
	req.Header.Set("Content-Type", "video/mp4")
	req.Header.Set("Content-Range", "bytes 0-9/10")
	a := h.do(req)
	var e struct {
		Error struct {
			LogID string `json:"log_id"`
		} `json:"error"`
	}
	if a.status != http.StatusCreated || json.Unmarshal([]byte(a.raw), &e) != nil || e.Error.LogID == "" {
		t.Fatalf("upload: HTTP %d %s", a.status, a.raw)
	}
}

// TestUploadContentType: an upload's Content-Type must be video/mp4, video/quicktime or video/webm
// (media-transfer); the lenient simulator took any.
func TestUploadContentType(t *testing.T) {
	for _, tc := range []struct {
		contentType string
		status      int
	}{
		{"video/mp4", http.StatusCreated},
		{"video/quicktime", http.StatusCreated},
		{"video/webm", http.StatusCreated},
		{"application/octet-stream", http.StatusBadRequest},
		{"", http.StatusBadRequest},
		{"video/x-msvideo", http.StatusBadRequest},
	} {
		t.Run(tc.contentType, func(t *testing.T) {
			h := newHarness(t, nil)
			init := h.call(pathInbox, h.tok, map[string]any{"source_info": map[string]any{
				"source": "FILE_UPLOAD", "video_size": 10, "chunk_size": 10, "total_chunk_count": 1}})
			uploadURL, _ := init.data["upload_url"].(string)
			req, _ := http.NewRequest(http.MethodPut, uploadURL, strings.NewReader("0123456789"))
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			req.Header.Set("Content-Range", "bytes 0-9/10")
			if a := h.do(req); a.status != tc.status {
				t.Fatalf("upload as %q: HTTP %d, want %d: %s", tc.contentType, a.status, tc.status, a.raw)
			} else if tc.status != http.StatusCreated {
				checkEnvelope(t, false, a.raw)
			}
		})
	}
}

// TestUnauditedActiveUserCap: an unaudited app reaches at most ActiveUserCap distinct users a day
// (guidelines: reached_active_user_cap); users it already reached keep posting, and creator_info says so
// with HTTP 200 (creator-info).
func TestUnauditedActiveUserCap(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Unaudited = true
		c.ActiveUserCap = 2
		c.AccessTokenTTL = Duration(48 * time.Hour)
		c.Accounts[0].Creator.Private = true
		for _, n := range []string{"bob", "carol"} {
			c.Accounts = append(c.Accounts, Account{Name: n, AccessToken: "act." + n, Creator: CreatorInfo{Private: true}})
		}
	})
	for _, tok := range []string{h.tok, "act.bob", h.tok} {
		if a := h.call(pathVideo, tok, pullVideo("x", "SELF_ONLY")); a.status != http.StatusOK {
			t.Fatalf("%s: HTTP %d %s", tok, a.status, a.raw)
		}
	}
	if a := h.call(pathVideo, "act.carol", pullVideo("x", "SELF_ONLY")); a.status != http.StatusForbidden || a.code != "reached_active_user_cap" {
		t.Fatalf("third user: HTTP %d %s", a.status, a.raw)
	}
	if a := h.call(pathCreator, "act.carol", nil); a.status != http.StatusOK || a.code != "reached_active_user_cap" {
		t.Fatalf("third user's creator_info: HTTP %d %s", a.status, a.raw)
	}
	h.clk.Step(24*time.Hour + time.Second)
	if a := h.call(pathVideo, "act.carol", pullVideo("x", "SELF_ONLY")); a.status != http.StatusOK {
		t.Fatalf("third user a day later: HTTP %d %s", a.status, a.raw)
	}
}
