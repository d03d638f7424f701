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

package tiktok_test

import (
	"context"
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	testingclock "k8s.io/utils/clock/testing"

	"github.com/tiktok-operator/tiktok-operator/internal/tiktok"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
)

// fidelity is the real client talking HTTP to the strict simulator (its default configuration, with
// the accounts and verified prefix below), with a wiretap in between that keeps what each request
// looked like when it arrived.
type fidelity struct {
	t      *testing.T
	sim    *tiktoksim.Server
	clk    *testingclock.FakeClock
	tap    *wiretap
	srv    *httptest.Server
	client *tiktok.Client

	mu       sync.Mutex
	answered map[tiktok.Endpoint]*seenAnswers // from the client's hook
	wired    map[tiktok.Endpoint]int          // requests the wiretap matched to each endpoint
	uploads  []string                         // upload URLs the test handed the client
}

// seenAnswers says which kinds of answer the client decoded from an endpoint.
type seenAnswers struct{ success, tiktokError bool }

// The creator alice is configured as, to compare with what the client decodes.
var fidelityCreator = tiktoksim.CreatorInfo{
	Username: "alice.creates", Nickname: "Alice", AvatarURL: "https://cdn.example.com/alice.jpg",
	PrivacyLevelOptions:     []string{tiktok.PrivacyPublic, tiktok.PrivacyFriends, tiktok.PrivacySelfOnly},
	MaxVideoPostDurationSec: 300, CommentDisabled: true, DuetDisabled: true,
}

// fidelityScopes are alice's grants, in an order of their own: the refresh answer must echo them (the
// simulator once answered a constant "user.info.basic,video.publish,video.upload").
var fidelityScopes = []string{"video.upload", "video.publish"}

func newFidelity(t *testing.T) *fidelity {
	t.Helper()
	cfg := tiktoksim.DefaultConfig() // the strict simulator: TikTok's documented limits and rules
	cfg.Accounts = []tiktoksim.Account{
		{Name: "alice", ClientKey: aliceKey, ClientSecret: aliceSecret, OpenID: "open.alice",
			AccessToken: aliceAccess, RefreshToken: aliceRefresh, Scopes: fidelityScopes, Creator: fidelityCreator},
		{Name: "bob", AccessToken: "act.BOB-ACCESS", RefreshToken: "rft.BOB-REFRESH", Banned: true},
	}
	cfg.VerifiedURLPrefixes = []string{"https://cdn.example.com/"}
	cfg.Apps = []tiktoksim.App{{ClientKey: aliceKey, ClientSecret: aliceSecret,
		RedirectURIs: []string{"http://127.0.0.1:*/callback/"}, Creators: []string{"alice.creates"}}}
	f := &fidelity{t: t, clk: testingclock.NewFakeClock(t0),
		answered: map[tiktok.Endpoint]*seenAnswers{}, wired: map[tiktok.Endpoint]int{}}
	f.sim = tiktoksim.New(cfg, tiktoksim.WithClock(f.clk))
	f.tap = &wiretap{next: f.sim}
	f.srv = httptest.NewServer(f.tap)
	t.Cleanup(f.srv.Close)
	f.client = tiktok.New(tiktok.Options{
		BaseURL: f.srv.URL, HTTPClient: f.srv.Client(), Clock: f.clk,
		ChunkBackoff: func(int) time.Duration { return 0 },
		Hook: func(ci tiktok.CallInfo) {
			f.mu.Lock()
			defer f.mu.Unlock()
			s := f.answered[ci.Endpoint]
			if s == nil {
				s = &seenAnswers{}
				f.answered[ci.Endpoint] = s
			}
			switch {
			case ci.Class == tiktok.OK:
				s.success = true
			case ci.HTTPStatus != 0 && ci.Code != "":
				s.tiktokError = true
			}
		},
	})
	return f
}

// wire checks the requests that reached the simulator since the last check: one per endpoint of eps, in
// order, each in TikTok's exact shape. Upload PUTs must go to an upload URL the test handed the client.
func (f *fidelity) wire(what string, eps ...tiktok.Endpoint) []wireRequest {
	f.t.Helper()
	got := f.tap.take()
	if len(got) != len(eps) {
		f.t.Fatalf("%s: the simulator saw %d requests, want %d (%v)", what, len(got), len(eps), eps)
	}
	for i, r := range got {
		if bad := checkWire(eps[i], r); bad != "" {
			f.t.Errorf("%s: request %d (%s %s) is not TikTok's %s request: %s", what, i+1, r.method, r.path, eps[i], bad)
		}
		if eps[i] == tiktok.EndpointUpload && !slices.Contains(f.uploads, f.srv.URL+r.path+"?"+r.rawQuery) {
			f.t.Errorf("%s: PUT to %s, not an upload_url an init answered", what, r.path)
		}
		f.wired[eps[i]]++
	}
	return got
}

// uploadURL notes an upload URL the client was given, so the wiretap accepts PUTs to it.
func (f *fidelity) uploadURL(u string) string {
	f.uploads = append(f.uploads, u)
	return u
}

// wantError checks that err is the *tiktok.Error decoded from TikTok's error answer: its status, code,
// class, and the message and log_id of the envelope.
func wantError(t *testing.T, what string, err error, status int, code string, class tiktok.Class) *tiktok.Error {
	t.Helper()
	var te *tiktok.Error
	if !errors.As(err, &te) {
		t.Fatalf("%s: error %v, want a *tiktok.Error", what, err)
	}
	if te.HTTPStatus != status || te.Code != code || te.Class != class || te.Message == "" || te.LogID == "" {
		t.Fatalf("%s: HTTP %d %q %s (message %q, log_id %q), want HTTP %d %q %s with a message and a log_id",
			what, te.HTTPStatus, te.Code, te.Class, te.Message, te.LogID, status, code, class)
	}
	return te
}

// TestFidelity drives the client through every endpoint it calls, against the strict simulator over
// real HTTP: each success and each error answer (TikTok's envelopes) must decode to what the simulator
// meant, and each request must arrive as TikTok documents it (wire_test.go holds those shapes).
func TestFidelity(t *testing.T) {
	f := newFidelity(t)
	ctx := context.Background()
	c := f.client

	// OAuth refresh: the form, the token answer, then OAuth's error shape (HTTP 200) for a rotated-out
	// refresh token and a wrong client secret.
	tok, err := c.RefreshToken(ctx, tiktok.RefreshRequest{ClientKey: aliceKey, ClientSecret: aliceSecret, RefreshToken: aliceRefresh})
	if err != nil {
		t.Fatalf("RefreshToken: %v", err)
	}
	newAccess, newRefresh, _ := f.sim.Tokens("alice")
	if string(tok.AccessToken) != newAccess || string(tok.RefreshToken) != newRefresh || newRefresh == aliceRefresh ||
		tok.ExpiresIn != 24*3600 || tok.RefreshExpiresIn != 365*24*3600 || tok.OpenID != "open.alice" ||
		!slices.Equal(tok.Scope, fidelityScopes) || tok.TokenType != "Bearer" {
		// Token fields print as [redacted]; say only whether the tokens are the ones the simulator issued.
		t.Errorf("RefreshToken decoded %+v (scope %q; access token the issued one: %v, refresh token the issued, rotated one: %v), "+
			"want 24h / 365d, open.alice, scope %q", tok, tok.Scope, string(tok.AccessToken) == newAccess,
			string(tok.RefreshToken) == newRefresh && newRefresh != aliceRefresh, fidelityScopes)
	}
	w := f.wire("refresh", tiktok.EndpointOAuthToken)
	if form, _ := url.ParseQuery(string(w[0].body)); form.Get("client_key") != aliceKey || form.Get("client_secret") != aliceSecret ||
		form.Get("refresh_token") != aliceRefresh {
		t.Errorf("refresh form carries other credentials than the request's")
	}
	_, err = c.RefreshToken(ctx, tiktok.RefreshRequest{ClientKey: aliceKey, ClientSecret: aliceSecret, RefreshToken: aliceRefresh})
	wantError(t, "refresh with a rotated-out token", err, http.StatusOK, "invalid_grant", tiktok.Terminal)
	_, err = c.RefreshToken(ctx, tiktok.RefreshRequest{ClientKey: aliceKey, ClientSecret: "cs.WRONG", RefreshToken: tok.RefreshToken})
	wantError(t, "refresh with a wrong client secret", err, http.StatusOK, "invalid_client", tiktok.Terminal)
	f.wire("refresh errors", tiktok.EndpointOAuthToken, tiktok.EndpointOAuthToken)

	// Login Kit: the creator authorizes on the consent page (a browser's requests, not the client's), then
	// the client exchanges the code: TikTok's authorization_code form, the same token answer, and OAuth's
	// error shape for the spent code.
	exch := f.loginKit()
	granted, err := c.ExchangeCode(ctx, exch)
	if err != nil || granted.AccessToken == "" || granted.RefreshToken == "" || granted.OpenID != "open.alice" ||
		granted.ExpiresIn != 24*3600 || granted.TokenType != "Bearer" {
		t.Fatalf("ExchangeCode = %+v, %v; want alice's new grant", granted, err)
	}
	w = f.wire("authorization code", tiktok.EndpointOAuthToken)
	if form, _ := url.ParseQuery(string(w[0].body)); form.Get("code") != string(exch.Code) ||
		form.Get("code_verifier") != string(exch.Verifier) || form.Get("redirect_uri") != exch.RedirectURI {
		t.Errorf("the exchange form carries another code, verifier or redirect URI than the request's")
	}
	_, err = c.ExchangeCode(ctx, exch)
	wantError(t, "a spent authorization code", err, http.StatusOK, "invalid_grant", tiktok.Terminal)
	f.wire("spent code", tiktok.EndpointOAuthToken)
	acc := granted.AccessToken // the content calls below use the Login Kit grant

	// creator_info: every field; HTTP 200 with an error code (info and error both returned); 401.
	info, err := c.CreatorInfo(ctx, acc)
	want := tiktok.CreatorInfo{AvatarURL: fidelityCreator.AvatarURL, Username: fidelityCreator.Username, Nickname: fidelityCreator.Nickname,
		PrivacyLevelOptions: fidelityCreator.PrivacyLevelOptions, CommentDisabled: true, DuetDisabled: true, MaxVideoPostDurationSec: 300}
	if err != nil || info == nil || !slices.Equal(info.PrivacyLevelOptions, want.PrivacyLevelOptions) || info.AvatarURL != want.AvatarURL ||
		info.Username != want.Username || info.Nickname != want.Nickname || info.CommentDisabled != want.CommentDisabled ||
		info.DuetDisabled != want.DuetDisabled || info.StitchDisabled || info.MaxVideoPostDurationSec != want.MaxVideoPostDurationSec {
		t.Errorf("CreatorInfo = %+v, %v; want %+v", info, err, want)
	}
	banned, err := c.CreatorInfo(ctx, "act.BOB-ACCESS")
	wantError(t, "creator_info of a banned creator", err, http.StatusOK, "spam_risk_user_banned_from_posting", tiktok.Terminal)
	if banned == nil || banned.Username != "bob" {
		t.Errorf("creator_info of a banned creator: info %+v, want bob's info beside the error", banned)
	}
	_, err = c.CreatorInfo(ctx, "act.UNKNOWN")
	wantError(t, "creator_info with an unknown token", err, http.StatusUnauthorized, "access_token_invalid", tiktok.TokenInvalid)
	f.wire("creator_info", tiktok.EndpointCreatorInfo, tiktok.EndpointCreatorInfo, tiktok.EndpointCreatorInfo)

	// video/init, PULL_FROM_URL with every post_info field; then a privacy level the creator lacks.
	full := tiktok.DirectVideoRequest{
		PostInfo: tiktok.VideoPostInfo{Title: "launch #tiktok", PrivacyLevel: tiktok.PrivacyPublic, DisableDuet: true, DisableStitch: true,
			DisableComment: true, VideoCoverTimestampMs: 1500, BrandContentToggle: true, BrandOrganicToggle: true, IsAIGC: true},
		SourceInfo: tiktok.PullFromURL("https://cdn.example.com/launch.mp4"),
	}
	pulled, err := c.InitDirectVideo(ctx, acc, full)
	if err != nil || pulled.PublishID == "" || pulled.UploadURL != "" {
		t.Fatalf("InitDirectVideo PULL_FROM_URL = %+v, %v", pulled, err)
	}
	w = f.wire("video/init PULL_FROM_URL", tiktok.EndpointVideoInit)
	if doc, _ := flattenJSON(w[0].body); doc["post_info.title"] != "launch #tiktok" || doc["post_info.privacy_level"] != tiktok.PrivacyPublic ||
		doc["post_info.video_cover_timestamp_ms"] != json.Number("1500") || doc["post_info.is_aigc"] != true ||
		doc["source_info.video_url"] != "https://cdn.example.com/launch.mp4" {
		t.Errorf("video/init body %s does not carry the request", w[0].body)
	}
	_, err = c.InitDirectVideo(ctx, acc, pullRequest("followers", tiktok.PrivacyFollowers))
	wantError(t, "video/init with a privacy level the creator lacks", err, http.StatusForbidden, "privacy_level_option_mismatch", tiktok.Terminal)
	f.wire("video/init refused", tiktok.EndpointVideoInit)

	// video/init FILE_UPLOAD and its chunks: 12 MiB in two chunks (5 MiB, then the last 7 MiB).
	plan, err := tiktok.PlanChunks(12*tiktok.MB, 5*tiktok.MB)
	if err != nil || plan.TotalChunkCount != 2 {
		t.Fatalf("PlanChunks = %+v, %v", plan, err)
	}
	file, err := c.InitDirectVideo(ctx, acc, tiktok.DirectVideoRequest{
		PostInfo: tiktok.VideoPostInfo{Title: "file", PrivacyLevel: tiktok.PrivacyPublic}, SourceInfo: tiktok.FileUpload(plan)})
	if err != nil || file.PublishID == "" || file.UploadURL == "" {
		t.Fatalf("InitDirectVideo FILE_UPLOAD = %+v, %v", file, err)
	}
	w = f.wire("video/init FILE_UPLOAD", tiktok.EndpointVideoInit)
	if doc, _ := flattenJSON(w[0].body); doc["source_info.video_size"] != json.Number("12582912") ||
		doc["source_info.chunk_size"] != json.Number("5242880") || doc["source_info.total_chunk_count"] != json.Number("2") {
		t.Errorf("video/init body %s does not carry the plan", w[0].body)
	}
	var progress []int64
	err = c.Upload(ctx, tiktok.UploadRequest{UploadURL: f.uploadURL(file.UploadURL), Plan: plan,
		Open: tiktok.ReaderAtSource(pattern{plan.VideoSize}, plan.VideoSize), Progress: func(done, _ int64) { progress = append(progress, done) }})
	if err != nil || !slices.Equal(progress, []int64{5 * tiktok.MB, 12 * tiktok.MB}) {
		t.Fatalf("Upload = %v, progress %v", err, progress)
	}
	w = f.wire("upload", tiktok.EndpointUpload, tiktok.EndpointUpload)
	for i, want := range []struct {
		contentRange string
		status       int
	}{{"bytes 0-5242879/12582912", http.StatusPartialContent}, {"bytes 5242880-12582911/12582912", http.StatusCreated}} {
		if got := w[i].header.Get("Content-Range"); got != want.contentRange || w[i].status != want.status || w[i].header.Get("Content-Type") != "video/mp4" {
			t.Errorf("chunk %d: Content-Range %q Content-Type %q answered %d, want %q video/mp4 answered %d",
				i, got, w[i].header.Get("Content-Type"), w[i].status, want.contentRange, want.status)
		}
	}

	// status/fetch: uploading, then published with TikTok's post id.
	st, err := c.FetchStatus(ctx, acc, file.PublishID)
	if err != nil || st.Status != tiktok.StatusProcessingUpload || st.UploadedBytes != 12*tiktok.MB {
		t.Errorf("FetchStatus right after the upload = %+v, %v; want PROCESSING_UPLOAD with 12 MiB uploaded", st, err)
	}
	f.clk.Step(time.Minute)
	st, err = c.FetchStatus(ctx, acc, file.PublishID)
	if err != nil || st.Status != tiktok.StatusPublishComplete || len(st.PostIDs) != 1 {
		t.Fatalf("FetchStatus after processing = %+v, %v", st, err)
	}
	if p := postByID(f.sim, file.PublishID); p == nil || !slices.Equal([]int64(st.PostIDs), p.PostIDs) {
		t.Errorf("post ids decoded %v, the simulator published %+v", st.PostIDs, p)
	}
	_, err = c.FetchStatus(ctx, acc, "v_pub_url~v2.unknown")
	wantError(t, "status/fetch of an unknown publish_id", err, http.StatusBadRequest, "invalid_publish_id", tiktok.Terminal)
	f.wire("status/fetch", tiktok.EndpointStatusFetch, tiktok.EndpointStatusFetch, tiktok.EndpointStatusFetch)

	// A post that fails processing: status FAILED with its fail_reason.
	failing, err := c.InitDirectVideo(ctx, acc, pullRequest("teaser #simfail:duration_check_failed", tiktok.PrivacySelfOnly))
	if err != nil {
		t.Fatalf("InitDirectVideo: %v", err)
	}
	f.clk.Step(time.Minute)
	if st, err := c.FetchStatus(ctx, acc, failing.PublishID); err != nil || st.Status != tiktok.StatusFailed || st.FailReason != "duration_check_failed" {
		t.Errorf("FetchStatus of a failing post = %+v, %v", st, err)
	}
	f.wire("failed post", tiktok.EndpointVideoInit, tiktok.EndpointStatusFetch)

	// inbox/video/init: PULL_FROM_URL, FILE_UPLOAD (one chunk, as video/quicktime), then an unverified URL.
	inbox, err := c.InitInboxVideo(ctx, acc, tiktok.InboxVideoRequest{SourceInfo: tiktok.PullFromURL("https://cdn.example.com/draft.mp4")})
	if err != nil || inbox.PublishID == "" || inbox.UploadURL != "" {
		t.Fatalf("InitInboxVideo PULL_FROM_URL = %+v, %v", inbox, err)
	}
	small, _ := tiktok.PlanChunks(tiktok.MB, 0)
	inboxFile, err := c.InitInboxVideo(ctx, acc, tiktok.InboxVideoRequest{SourceInfo: tiktok.FileUpload(small)})
	if err != nil || inboxFile.UploadURL == "" {
		t.Fatalf("InitInboxVideo FILE_UPLOAD = %+v, %v", inboxFile, err)
	}
	if err := c.Upload(ctx, tiktok.UploadRequest{UploadURL: f.uploadURL(inboxFile.UploadURL), Plan: small, ContentType: "video/quicktime",
		Open: tiktok.ReaderAtSource(pattern{small.VideoSize}, small.VideoSize)}); err != nil {
		t.Fatalf("Upload of one chunk: %v", err)
	}
	_, err = c.InitInboxVideo(ctx, acc, tiktok.InboxVideoRequest{SourceInfo: tiktok.PullFromURL("https://elsewhere.example.org/v.mp4")})
	wantError(t, "inbox/video/init from an unverified URL", err, http.StatusForbidden, "url_ownership_unverified", tiktok.Terminal)
	w = f.wire("inbox", tiktok.EndpointInboxInit, tiktok.EndpointInboxInit, tiktok.EndpointUpload, tiktok.EndpointInboxInit)
	if w[2].status != http.StatusCreated || w[2].header.Get("Content-Type") != "video/quicktime" || w[2].header.Get("Content-Range") != "bytes 0-1048575/1048576" {
		t.Errorf("one-chunk upload: %s %q answered %d", w[2].header.Get("Content-Type"), w[2].header.Get("Content-Range"), w[2].status)
	}
	f.clk.Step(time.Minute)
	if st, err := c.FetchStatus(ctx, acc, inbox.PublishID); err != nil || st.Status != tiktok.StatusSendToUserInbox {
		t.Errorf("FetchStatus of an inbox draft = %+v, %v", st, err)
	}
	f.wire("inbox status", tiktok.EndpointStatusFetch)

	// content/init: photos, DIRECT_POST and MEDIA_UPLOAD, then 36 photos (TikTok takes 1 to 35).
	photos := []string{"https://cdn.example.com/1.jpg", "https://cdn.example.com/2.jpg"}
	direct, err := c.InitPhoto(ctx, acc, tiktok.PhotoRequest{PostMode: tiktok.PostModeDirect, PhotoImages: photos, PhotoCoverIndex: 1,
		PostInfo: tiktok.PhotoPostInfo{Title: "pics", Description: "two", PrivacyLevel: tiktok.PrivacySelfOnly, AutoAddMusic: true}})
	if err != nil || direct.PublishID == "" {
		t.Fatalf("InitPhoto DIRECT_POST = %+v, %v", direct, err)
	}
	draft, err := c.InitPhoto(ctx, acc, tiktok.PhotoRequest{PostMode: tiktok.PostModeUpload, PhotoImages: photos[:1]})
	if err != nil || draft.PublishID == "" {
		t.Fatalf("InitPhoto MEDIA_UPLOAD = %+v, %v", draft, err)
	}
	_, err = c.InitPhoto(ctx, acc, tiktok.PhotoRequest{PostMode: tiktok.PostModeUpload, PhotoImages: slices.Repeat(photos[:1], 36)})
	wantError(t, "content/init with 36 photos", err, http.StatusBadRequest, "invalid_param", tiktok.Terminal)
	w = f.wire("photos", tiktok.EndpointContentInit, tiktok.EndpointContentInit, tiktok.EndpointContentInit)
	if doc, _ := flattenJSON(w[0].body); doc["post_mode"] != "DIRECT_POST" || doc["source_info.photo_cover_index"] != json.Number("1") ||
		doc["post_info.auto_add_music"] != true || doc["post_info.description"] != "two" {
		t.Errorf("content/init body %s does not carry the request", w[0].body)
	}
	for _, p := range []struct {
		id, mode string
	}{{direct.PublishID, tiktoksim.ModeDirectPost}, {draft.PublishID, tiktoksim.ModeMediaUpload}} {
		if got := postByID(f.sim, p.id); got == nil || got.Media != tiktoksim.MediaPhoto || got.Mode != p.mode {
			t.Errorf("the simulator recorded photo post %s as %+v, want %s", p.id, got, p.mode)
		}
	}

	// cancel: a download in progress, then again (no longer cancellable).
	toCancel, err := c.InitDirectVideo(ctx, acc, pullRequest("cancel me", tiktok.PrivacySelfOnly))
	if err != nil {
		t.Fatalf("InitDirectVideo: %v", err)
	}
	if err := c.Cancel(ctx, acc, toCancel.PublishID); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	err = c.Cancel(ctx, acc, toCancel.PublishID)
	wantError(t, "second cancel", err, http.StatusBadRequest, "publish_not_cancellable", tiktok.Terminal)
	w = f.wire("cancel", tiktok.EndpointVideoInit, tiktok.EndpointCancel, tiktok.EndpointCancel)
	if doc, _ := flattenJSON(w[1].body); doc["publish_id"] != toCancel.PublishID {
		t.Errorf("cancel body %s, want publish_id %s", w[1].body, toCancel.PublishID)
	}

	// Upload refusals in TikTok's envelope: an unknown upload (404), an upload URL past its hour (403).
	bogus := f.uploadURL(f.srv.URL + "/upload/?upload_id=none&upload_token=none")
	err = c.Upload(ctx, tiktok.UploadRequest{UploadURL: bogus, Plan: small, Open: tiktok.ReaderAtSource(pattern{small.VideoSize}, small.VideoSize)})
	wantError(t, "upload to an unknown upload", err, http.StatusNotFound, "upload_not_found", tiktok.Terminal)
	late, err := c.InitInboxVideo(ctx, acc, tiktok.InboxVideoRequest{SourceInfo: tiktok.FileUpload(small)})
	if err != nil {
		t.Fatalf("InitInboxVideo: %v", err)
	}
	f.clk.Step(time.Hour)
	err = c.Upload(ctx, tiktok.UploadRequest{UploadURL: f.uploadURL(late.UploadURL), Plan: small, Open: tiktok.ReaderAtSource(pattern{small.VideoSize}, small.VideoSize)})
	wantError(t, "upload after the URL's hour", err, http.StatusForbidden, "upload_url_expired", tiktok.Terminal)
	f.wire("upload refusals", tiktok.EndpointUpload, tiktok.EndpointInboxInit, tiktok.EndpointUpload)

	// 429 rate_limit_exceeded, as the rate gate answers it (20 creator_info calls a minute per token).
	for i := 0; i < 20; i++ {
		if _, err := c.CreatorInfo(ctx, acc); err != nil {
			t.Fatalf("creator_info %d within its limit: %v", i+1, err)
		}
	}
	_, err = c.CreatorInfo(ctx, acc)
	wantError(t, "creator_info over its limit", err, http.StatusTooManyRequests, "rate_limit_exceeded", tiktok.RateLimited)
	f.wire("rate limit", slices.Repeat([]tiktok.Endpoint{tiktok.EndpointCreatorInfo}, 21)...)

	// Every endpoint answered at least one success and one TikTok error, and the simulator counted, per
	// endpoint, exactly the requests the wiretap matched to it (it routed each where the test thinks).
	stats := f.sim.Stats()
	for _, ep := range tiktok.Endpoints {
		if s := f.answered[ep]; s == nil || !s.success || !s.tiktokError {
			t.Errorf("endpoint %s: decoded answers %+v, want a success and a TikTok error", ep, s)
		}
		calls := 0
		for _, byEndpoint := range stats.Accounts {
			calls += byEndpoint[string(ep)].Calls
		}
		if calls != f.wired[ep] {
			t.Errorf("endpoint %s: the simulator counted %d calls, the wiretap saw %d", ep, calls, f.wired[ep])
		}
	}
}

func postByID(sim *tiktoksim.Server, id string) *tiktoksim.AcceptedPost {
	for _, p := range sim.Posts() {
		if p.PublishID == id {
			return &p
		}
	}
	return nil
}

// fidelityDrives are the Client methods TestFidelity calls; each one that talks to TikTok must be here.
var fidelityDrives = []string{"Cancel", "CreatorInfo", "ExchangeCode", "FetchStatus", "InitDirectVideo", "InitInboxVideo", "InitPhoto",
	"RefreshToken", "Upload"}

// browserPaths are TikTok pages a browser opens, not the client: TestFidelity drives them as the creator.
var browserPaths = []string{tiktok.AuthorizePath}

// loginKit plays the creator on the simulator's consent page for alice (the browser's GET and form POST go
// through the wiretap and are checked here, not as client requests) and returns the exchange the client
// then makes with the code the redirect carries.
func (f *fidelity) loginKit() tiktok.ExchangeRequest {
	f.t.Helper()
	verifier, err := tiktok.NewCodeVerifier()
	if err != nil {
		f.t.Fatal(err)
	}
	const redirect = "http://127.0.0.1:50123/callback/"
	authURL := tiktok.AuthorizeURL(f.srv.URL, tiktok.AuthorizeRequest{ClientKey: aliceKey,
		Scopes: []string{"video.publish", "video.upload"}, RedirectURI: redirect, State: "st", Verifier: verifier})
	hc := *f.srv.Client()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Get(authURL)
	if err != nil {
		f.t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := consentID.FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		f.t.Fatalf("consent page: HTTP %d\n%s", resp.StatusCode, page)
	}
	resp, err = hc.PostForm(f.srv.URL+tiktok.AuthorizePath,
		url.Values{"consent_id": {string(m[1])}, "creator": {"alice.creates"}, "decision": {"authorize"}})
	if err != nil {
		f.t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil || loc.Query().Get("state") != "st" || loc.Query().Get("code") == "" || !strings.HasPrefix(loc.String(), redirect) {
		f.t.Fatalf("consent redirect %v (%v): want %s with the code and the state", loc, err, redirect)
	}
	for _, r := range f.tap.take() {
		if r.path != tiktok.AuthorizePath || (r.method != http.MethodGet && r.method != http.MethodPost) {
			f.t.Errorf("the consent page flow sent %s %s", r.method, r.path)
		}
	}
	return tiktok.ExchangeRequest{ClientKey: aliceKey, ClientSecret: aliceSecret,
		Code: tiktok.AuthCode(loc.Query().Get("code")), RedirectURI: redirect, Verifier: verifier}
}

// TestFidelityCoversEveryEndpoint fails when the client gains an endpoint, a TikTok path or a method
// that TestFidelity does not drive: the endpoint list, the Endpoint constants and the /v2/ paths in the
// package's source, and the Client's exported methods must all be covered by tiktokShapes and
// fidelityDrives.
func TestFidelityCoversEveryEndpoint(t *testing.T) {
	shaped := map[string]bool{}
	for ep, sh := range tiktokShapes {
		if sh.path != ep.Path() {
			t.Errorf("endpoint %s: the client's path %q, TikTok's %q", ep, ep.Path(), sh.path)
		}
		if sh.path != "" {
			shaped[sh.path] = true
		}
	}
	for _, ep := range tiktok.Endpoints {
		if _, ok := tiktokShapes[ep]; !ok {
			t.Errorf("endpoint %s has no TikTok shape in wire_test.go, so TestFidelity does not check it", ep)
		}
	}
	if len(tiktokShapes) != len(tiktok.Endpoints) {
		t.Errorf("%d shapes for %d endpoints", len(tiktokShapes), len(tiktok.Endpoints))
	}

	consts, paths := scanClientSource(t)
	for _, v := range consts {
		if !slices.Contains(tiktok.Endpoints, tiktok.Endpoint(v)) {
			t.Errorf("the client declares Endpoint %q outside tiktok.Endpoints: add it there and to TestFidelity", v)
		}
	}
	if len(consts) != len(tiktok.Endpoints) {
		t.Errorf("the source declares %d Endpoint constants, tiktok.Endpoints lists %d", len(consts), len(tiktok.Endpoints))
	}
	for _, p := range paths {
		if !shaped[p] && !slices.Contains(browserPaths, p) {
			t.Errorf("the client's source names the TikTok path %q, which TestFidelity does not cover", p)
		}
	}

	ct := reflect.TypeOf(&tiktok.Client{})
	for i := range ct.NumMethod() {
		if m := ct.Method(i).Name; !slices.Contains(fidelityDrives, m) {
			t.Errorf("Client.%s is not driven by TestFidelity: drive it there and list it in fidelityDrives", m)
		}
	}
	if ct.NumMethod() != len(fidelityDrives) {
		t.Errorf("Client has %d methods, fidelityDrives lists %d", ct.NumMethod(), len(fidelityDrives))
	}
}

// scanClientSource parses the package's non-test files and returns the values of its Endpoint
// constants and every string literal that names a TikTok API path (contains "/v2/").
func scanClientSource(t *testing.T) (consts, paths []string) {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("list the package's files: %v (run from internal/tiktok)", err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatalf("parse %s: %v", name, err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ValueSpec:
				if id, ok := n.Type.(*ast.Ident); ok && id.Name == "Endpoint" {
					for _, v := range n.Values {
						if lit, ok := v.(*ast.BasicLit); ok && lit.Kind == token.STRING {
							s, _ := strconv.Unquote(lit.Value)
							consts = append(consts, s)
						}
					}
				}
			case *ast.BasicLit:
				if s, err := strconv.Unquote(n.Value); n.Kind == token.STRING && err == nil && strings.Contains(s, "/v2/") {
					paths = append(paths, s)
				}
			}
			return true
		})
	}
	return consts, paths
}
