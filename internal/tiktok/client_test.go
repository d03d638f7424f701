package tiktok_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tiktok-operator/tiktok-operator/internal/tiktok"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
)

// TestEveryEndpoint drives each endpoint through the real client against the simulator.
func TestEveryEndpoint(t *testing.T) {
	e := newEnv(t, func(c *tiktoksim.Config) {
		c.Accounts[0].Creator = tiktoksim.CreatorInfo{Nickname: "Alice", PrivacyLevelOptions: []string{"PUBLIC_TO_EVERYONE", "SELF_ONLY"}, MaxVideoPostDurationSec: 180, StitchDisabled: true}
	})
	ctx := context.Background()
	c := e.client

	info, err := c.CreatorInfo(ctx, aliceAccess)
	if err != nil || info.Nickname != "Alice" || info.Username != "alice" || info.MaxVideoPostDurationSec != 180 || !info.StitchDisabled ||
		!slices.Equal(info.PrivacyLevelOptions, []string{"PUBLIC_TO_EVERYONE", "SELF_ONLY"}) {
		t.Fatalf("CreatorInfo = %+v, %v", info, err)
	}

	direct, err := c.InitDirectVideo(ctx, aliceAccess, pullRequest("launch", tiktok.PrivacyPublic))
	if err != nil || direct.PublishID == "" || direct.UploadURL != "" {
		t.Fatalf("InitDirectVideo = %+v, %v", direct, err)
	}
	inbox, err := c.InitInboxVideo(ctx, aliceAccess, tiktok.InboxVideoRequest{SourceInfo: tiktok.PullFromURL("https://cdn.example.com/d.mp4")})
	if err != nil || inbox.PublishID == "" {
		t.Fatalf("InitInboxVideo = %+v, %v", inbox, err)
	}
	photoDirect, err := c.InitPhoto(ctx, aliceAccess, tiktok.PhotoRequest{
		PostMode: tiktok.PostModeDirect, PostInfo: tiktok.PhotoPostInfo{Title: "pics", Description: "d", PrivacyLevel: tiktok.PrivacySelfOnly},
		PhotoImages: []string{"https://cdn.example.com/1.jpg", "https://cdn.example.com/2.jpg"}, PhotoCoverIndex: 1,
	})
	if err != nil || photoDirect.PublishID == "" {
		t.Fatalf("InitPhoto direct = %+v, %v", photoDirect, err)
	}
	photoInbox, err := c.InitPhoto(ctx, aliceAccess, tiktok.PhotoRequest{PostMode: tiktok.PostModeUpload, PhotoImages: []string{"https://cdn.example.com/1.jpg"}})
	if err != nil || photoInbox.PublishID == "" {
		t.Fatalf("InitPhoto upload = %+v, %v", photoInbox, err)
	}
	toCancel, err := c.InitDirectVideo(ctx, aliceAccess, pullRequest("cancel me", tiktok.PrivacySelfOnly))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Cancel(ctx, aliceAccess, toCancel.PublishID); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if err := c.Cancel(ctx, aliceAccess, toCancel.PublishID); tiktok.ClassOf(err) != tiktok.Terminal {
		t.Fatalf("second Cancel: %v", err)
	}

	st, err := c.FetchStatus(ctx, aliceAccess, direct.PublishID)
	if err != nil || st.Status != tiktok.StatusProcessingDownload {
		t.Fatalf("FetchStatus before processing = %+v, %v", st, err)
	}
	e.clk.Step(time.Minute)
	for _, tc := range []struct {
		id, status string
		postID     bool
		fail       string
	}{
		{direct.PublishID, tiktok.StatusPublishComplete, true, ""},
		{inbox.PublishID, tiktok.StatusSendToUserInbox, false, ""},
		{photoDirect.PublishID, tiktok.StatusPublishComplete, false, ""},
		{photoInbox.PublishID, tiktok.StatusSendToUserInbox, false, ""},
		{toCancel.PublishID, tiktok.StatusFailed, false, "publish_cancelled"},
	} {
		st, err := c.FetchStatus(ctx, aliceAccess, tc.id)
		if err != nil || st.Status != tc.status || (len(st.PostIDs) == 1) != tc.postID || st.FailReason != tc.fail {
			t.Errorf("FetchStatus(%s) = %+v, %v; want %s post id %v fail %q", tc.id, st, err, tc.status, tc.postID, tc.fail)
		}
	}

	tok, err := c.RefreshToken(ctx, tiktok.RefreshRequest{ClientKey: aliceKey, ClientSecret: aliceSecret, RefreshToken: aliceRefresh})
	if err != nil || tok.AccessToken == "" || tok.RefreshToken == "" || tok.RefreshToken == aliceRefresh || tok.ExpiresIn != 86400 ||
		tok.TokenType != "Bearer" || !slices.Contains(tok.Scope, "video.publish") {
		t.Fatalf("RefreshToken = %+v, %v", tok, err)
	}
	if _, err := c.CreatorInfo(ctx, tok.AccessToken); err != nil {
		t.Fatalf("new access token refused: %v", err)
	}
	_, err = c.RefreshToken(ctx, tiktok.RefreshRequest{ClientKey: aliceKey, ClientSecret: aliceSecret, RefreshToken: aliceRefresh})
	var te *tiktok.Error
	if !errors.As(err, &te) || te.Code != "invalid_grant" || te.Class != tiktok.Terminal || te.LogID == "" {
		t.Fatalf("rotated-out refresh token: %v", err)
	}

	// The hook saw every call, with its endpoint, in order, and sane times.
	calls := e.hookCalls()
	wantEps := []tiktok.Endpoint{tiktok.EndpointCreatorInfo, tiktok.EndpointVideoInit, tiktok.EndpointInboxInit, tiktok.EndpointContentInit,
		tiktok.EndpointContentInit, tiktok.EndpointVideoInit, tiktok.EndpointCancel, tiktok.EndpointCancel, tiktok.EndpointStatusFetch}
	for i, ep := range wantEps {
		if calls[i].Endpoint != ep {
			t.Fatalf("hook call %d endpoint %s, want %s", i, calls[i].Endpoint, ep)
		}
	}
	if n := len(calls); n != len(wantEps)+5+3 {
		t.Fatalf("hook saw %d calls", n)
	}
	for _, ci := range calls {
		if ci.Sent.IsZero() || ci.Answered.Before(ci.Sent) || ci.HTTPStatus == 0 {
			t.Fatalf("hook call %+v", ci)
		}
	}
	if last := calls[len(calls)-1]; last.Class != tiktok.Terminal || last.Code != "invalid_grant" || last.HTTPStatus != 200 {
		t.Fatalf("hook's last call %+v", last)
	}
	if got := len(e.sim.Posts()); got != 5 {
		t.Fatalf("simulator accepted %d posts, want 5", got)
	}
}

// TestErrorClasses produces each class through a real exchange and checks, against the simulator's
// record, the rule behind Uncertain: a class other than Uncertain means TikTok certainly did not
// create the post.
func TestErrorClasses(t *testing.T) {
	for _, tc := range []struct {
		name       string
		mutate     func(*tiktoksim.Config)
		opts       func(*tiktok.Options)
		prepare    func(*env)
		token      tiktok.AccessToken
		req        tiktok.DirectVideoRequest
		class      tiktok.Class
		status     int
		code       string
		mayHaveRun bool // the simulator took the request despite the error
	}{
		{name: "rate limited", mutate: func(c *tiktoksim.Config) {
			c.Limits[tiktoksim.EndpointVideoInit] = tiktoksim.Limit{Requests: 1, Window: tiktoksim.Duration(time.Minute)}
			c.RetryAfterHeader = true
		}, prepare: func(e *env) {
			if _, err := e.client.InitDirectVideo(context.Background(), aliceAccess, pullRequest("first", tiktok.PrivacySelfOnly)); err != nil {
				panic(err)
			}
		}, class: tiktok.RateLimited, status: 429, code: "rate_limit_exceeded"},
		{name: "token invalid", token: "act.not-a-token", class: tiktok.TokenInvalid, status: 401, code: "access_token_invalid"},
		{name: "terminal: privacy mismatch", mutate: func(c *tiktoksim.Config) {
			c.Accounts[0].Creator.PrivacyLevelOptions = []string{"SELF_ONLY"}
		}, req: pullRequest("x", tiktok.PrivacyPublic), class: tiktok.Terminal, status: 403, code: "privacy_level_option_mismatch"},
		{name: "terminal: unverified URL", mutate: func(c *tiktoksim.Config) {
			c.VerifiedURLPrefixes = []string{"https://owned.example/"}
		}, class: tiktok.Terminal, status: 403, code: "url_ownership_unverified"},
		{name: "terminal: 200 with error body (banned)", prepare: func(e *env) { _ = e.sim.Ban("alice", true) },
			class: tiktok.Terminal, status: 403, code: "spam_risk_user_banned_from_posting"},
		{name: "retryable: 500", mutate: func(c *tiktoksim.Config) { c.Faults.ServerError = 1 }, class: tiktok.Retryable, status: 500, code: "internal_error"},
		{name: "retryable: internal_error in a 200", mutate: func(c *tiktoksim.Config) { c.Faults.ErrorBody200 = 1 }, class: tiktok.Retryable, status: 200, code: "internal_error"},
		{name: "retryable: connection refused", prepare: func(e *env) { e.srv.Close() }, class: tiktok.Retryable},
		{name: "uncertain: malformed JSON", mutate: func(c *tiktoksim.Config) { c.Faults.MalformedJSON = 1 }, class: tiktok.Uncertain, status: 200, mayHaveRun: true},
		{name: "uncertain: connection dropped after processing", mutate: func(c *tiktoksim.Config) { c.Faults.Drop = 1 }, class: tiktok.Uncertain, mayHaveRun: true},
		{name: "uncertain: timeout after the body was sent", mutate: func(c *tiktoksim.Config) {
			c.Faults.Slow, c.Faults.SlowDelay = 1, tiktoksim.Duration(time.Minute)
		}, opts: func(o *tiktok.Options) { o.Timeout = 50 * time.Millisecond }, class: tiktok.Uncertain, mayHaveRun: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opts []func(*tiktok.Options)
			if tc.opts != nil {
				opts = append(opts, tc.opts)
			}
			e := newEnv(t, tc.mutate, opts...)
			if tc.prepare != nil {
				tc.prepare(e)
			}
			before := len(e.sim.Posts())
			tok, req := tc.token, tc.req
			if tok == "" {
				tok = aliceAccess
			}
			if req.PostInfo.PrivacyLevel == "" {
				req = pullRequest("x", tiktok.PrivacySelfOnly)
			}
			res, err := e.client.InitDirectVideo(context.Background(), tok, req)
			var te *tiktok.Error
			if !errors.As(err, &te) {
				t.Fatalf("InitDirectVideo = %+v, %v; want a *tiktok.Error", res, err)
			}
			if te.Class != tc.class || tiktok.ClassOf(err) != tc.class || te.HTTPStatus != tc.status || te.Code != tc.code || te.Endpoint != tiktok.EndpointVideoInit {
				t.Fatalf("error %+v; want class %v status %d code %q", te, tc.class, tc.status, tc.code)
			}
			if tc.code != "" && te.LogID == "" {
				t.Fatalf("no log id in %+v", te)
			}
			if tc.class == tiktok.RateLimited && te.RetryAfter <= 0 {
				t.Fatalf("Retry-After not parsed: %+v", te)
			}
			calls := e.hookCalls()
			if last := calls[len(calls)-1]; last.Class != tc.class || last.HTTPStatus != tc.status || last.Endpoint != tiktok.EndpointVideoInit {
				t.Fatalf("hook %+v", last)
			}
			if tc.name == "retryable: connection refused" {
				return // the simulator is gone
			}
			ran := len(e.sim.Posts()) > before
			if ran != tc.mayHaveRun {
				t.Fatalf("simulator created the post = %v, want %v", ran, tc.mayHaveRun)
			}
			if ran && tc.class != tiktok.Uncertain {
				t.Fatalf("TikTok took the request but the class is %v: the at-most-once rule is broken", tc.class)
			}
		})
	}
}

// TestContextDeadlineBeforeSending: a context that ends before anything is written is Retryable.
func TestContextDeadlineBeforeSending(t *testing.T) {
	e := newEnv(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := e.client.InitDirectVideo(ctx, aliceAccess, pullRequest("x", tiktok.PrivacySelfOnly))
	if tiktok.ClassOf(err) != tiktok.Retryable || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled before sending: %v (class %v)", err, tiktok.ClassOf(err))
	}
	if len(e.sim.Posts()) != 0 || e.sim.Stats().Get("alice", tiktoksim.EndpointVideoInit).Calls != 0 {
		t.Fatalf("the simulator saw the call")
	}
}

func TestCreatorInfoErrorStillReturnsInfo(t *testing.T) {
	e := newEnv(t, func(c *tiktoksim.Config) { c.Accounts[0].Banned = true })
	info, err := e.client.CreatorInfo(context.Background(), aliceAccess)
	var te *tiktok.Error
	if !errors.As(err, &te) || te.Code != "spam_risk_user_banned_from_posting" || te.HTTPStatus != http.StatusOK || te.Class != tiktok.Terminal {
		t.Fatalf("err = %v", err)
	}
	if info == nil || info.Username != "alice" {
		t.Fatalf("info = %+v", info)
	}
}

// TestWithRefresh: an expired token is refreshed once and the call retried with the new token.
func TestWithRefresh(t *testing.T) {
	e := newEnv(t, nil)
	if err := e.sim.ExpireAccessTokens("alice"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	refreshes := 0
	refresh := func(ctx context.Context) (tiktok.AccessToken, error) {
		refreshes++
		tok, err := e.client.RefreshToken(ctx, tiktok.RefreshRequest{ClientKey: aliceKey, ClientSecret: aliceSecret, RefreshToken: aliceRefresh})
		if err != nil {
			return "", err
		}
		return tok.AccessToken, nil
	}
	info, err := tiktok.WithRefresh(ctx, aliceAccess, refresh, e.client.CreatorInfo)
	if err != nil || info.Username != "alice" || refreshes != 1 {
		t.Fatalf("WithRefresh = %+v, %v after %d refreshes", info, err, refreshes)
	}
	// A second expiry with a refresh token that no longer works: the refresh error comes back.
	_ = e.sim.ExpireAccessTokens("alice")
	_, err = tiktok.WithRefresh(ctx, aliceAccess, refresh, e.client.CreatorInfo)
	var te *tiktok.Error
	if !errors.As(err, &te) || te.Code != "invalid_grant" {
		t.Fatalf("refresh with a rotated-out token: %v", err)
	}
}

// TestServerErrorWithoutEnvelope: a 5xx that is not TikTok's error envelope (a gateway's HTML page, an
// empty body) may come after TikTok took the call, so on an init endpoint it is Uncertain; a 5xx in
// TikTok's envelope is TikTok's own refusal and stays Retryable. Other endpoints keep "5xx is Retryable".
func TestServerErrorWithoutEnvelope(t *testing.T) {
	answers := []struct {
		name   string
		status int
		body   string
		init   tiktok.Class // class on an init endpoint
	}{
		{"502 html", http.StatusBadGateway, "<html><body><h1>502 Bad Gateway</h1></body></html>", tiktok.Uncertain},
		{"504 empty", http.StatusGatewayTimeout, "", tiktok.Uncertain},
		{"500 envelope internal_error", http.StatusInternalServerError,
			`{"error":{"code":"internal_error","message":"m","log_id":"L1"}}`, tiktok.Retryable},
		{"503 envelope blank code", http.StatusServiceUnavailable, `{"error":{"code":"","message":"","log_id":"L2"}}`, tiktok.Retryable},
		{"500 json without an error object", http.StatusInternalServerError, `{"message":"Internal server error"}`, tiktok.Uncertain},
		{"502 json with a numeric code", http.StatusBadGateway, `{"error":{"code":502,"message":"bad gateway"}}`, tiktok.Uncertain},
	}
	calls := []struct {
		ep   tiktok.Endpoint
		call func(*tiktok.Client) error
	}{
		{tiktok.EndpointVideoInit, func(c *tiktok.Client) error {
			_, err := c.InitDirectVideo(context.Background(), aliceAccess, pullRequest("x", tiktok.PrivacySelfOnly))
			return err
		}},
		{tiktok.EndpointInboxInit, func(c *tiktok.Client) error {
			_, err := c.InitInboxVideo(context.Background(), aliceAccess, tiktok.InboxVideoRequest{SourceInfo: tiktok.PullFromURL("https://cdn.example.com/d.mp4")})
			return err
		}},
		{tiktok.EndpointContentInit, func(c *tiktok.Client) error {
			_, err := c.InitPhoto(context.Background(), aliceAccess, tiktok.PhotoRequest{PostMode: tiktok.PostModeUpload, PhotoImages: []string{"https://cdn.example.com/1.jpg"}})
			return err
		}},
		{tiktok.EndpointStatusFetch, func(c *tiktok.Client) error {
			_, err := c.FetchStatus(context.Background(), aliceAccess, "v_pub_url~v2.1")
			return err
		}},
		{tiktok.EndpointCreatorInfo, func(c *tiktok.Client) error {
			_, err := c.CreatorInfo(context.Background(), aliceAccess)
			return err
		}},
		{tiktok.EndpointOAuthToken, func(c *tiktok.Client) error {
			_, err := c.RefreshToken(context.Background(), tiktok.RefreshRequest{ClientKey: aliceKey, ClientSecret: aliceSecret, RefreshToken: aliceRefresh})
			return err
		}},
		{tiktok.EndpointCancel, func(c *tiktok.Client) error {
			return c.Cancel(context.Background(), aliceAccess, "v_pub_url~v2.1")
		}},
	}
	for _, a := range answers {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			if strings.HasPrefix(a.body, "{") {
				w.Header().Set("Content-Type", "application/json")
			} else if a.body != "" {
				w.Header().Set("Content-Type", "text/html")
			}
			w.WriteHeader(a.status)
			_, _ = io.WriteString(w, a.body)
		}))
		c := tiktok.New(tiktok.Options{BaseURL: srv.URL, HTTPClient: srv.Client()})
		for _, cl := range calls {
			t.Run(a.name+"/"+string(cl.ep), func(t *testing.T) {
				want := tiktok.Retryable
				if cl.ep.IsInit() {
					want = a.init
				}
				err := cl.call(c)
				var te *tiktok.Error
				if !errors.As(err, &te) || te.Class != want || tiktok.ClassOf(err) != want || te.HTTPStatus != a.status || te.Endpoint != cl.ep {
					t.Fatalf("got %v; want class %v, HTTP %d, endpoint %s", err, want, a.status, cl.ep)
				}
			})
		}
		srv.Close()
	}
}
