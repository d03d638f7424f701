package tiktoksim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	testingclock "k8s.io/utils/clock/testing"
)

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// harness is a simulator on a fake clock behind a real HTTP server, and one account "alice".
type harness struct {
	t   *testing.T
	sim *Server
	clk *testingclock.FakeClock
	srv *httptest.Server
	tok string // alice's access token
}

func newHarness(t *testing.T, mutate func(*Config)) *harness {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Accounts = []Account{{Name: "alice", ClientKey: "ck", ClientSecret: "secret-alice", AccessToken: "act.alice", RefreshToken: "rft.alice"}}
	cfg.VerifiedURLPrefixes = []string{"https://cdn.example.com/"}
	if mutate != nil {
		mutate(&cfg)
	}
	clk := testingclock.NewFakeClock(t0)
	sim := New(cfg, WithClock(clk))
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &harness{t: t, sim: sim, clk: clk, srv: srv, tok: "act.alice"}
}

type answer struct {
	status int
	code   string
	data   map[string]any
	header http.Header
	raw    string
}

// call POSTs body as JSON to path with the bearer token.
func (h *harness) call(path, tok string, body any) answer {
	h.t.Helper()
	var rd io.Reader = http.NoBody
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+path, rd)
	req.Header.Set("Content-Type", "application/json; charset=UTF-8")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return h.do(req)
}

func (h *harness) do(req *http.Request) answer {
	h.t.Helper()
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	var env struct {
		Data  map[string]any  `json:"data"`
		Error json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(raw, &env); err == nil {
		a.data = env.Data
		var e struct {
			Code string `json:"code"`
		}
		if json.Unmarshal(env.Error, &e) == nil && e.Code != "ok" {
			a.code = e.Code
		} else {
			var s string
			if json.Unmarshal(env.Error, &s) == nil {
				a.code = s
			}
		}
	}
	return a
}

func pullVideo(title, privacy string) map[string]any {
	return map[string]any{
		"post_info":   map[string]any{"title": title, "privacy_level": privacy, "brand_content_toggle": false},
		"source_info": map[string]any{"source": "PULL_FROM_URL", "video_url": "https://cdn.example.com/v.mp4"},
	}
}

const (
	pathCreator = "/v2/post/publish/creator_info/query/"
	pathVideo   = "/v2/post/publish/video/init/"
	pathInbox   = "/v2/post/publish/inbox/video/init/"
	pathPhoto   = "/v2/post/publish/content/init/"
	pathStatus  = "/v2/post/publish/status/fetch/"
	pathCancel  = "/v2/post/publish/cancel/"
	pathToken   = "/v2/oauth/token/"
)

func (h *harness) refresh(clientKey, secret, refreshToken string) answer {
	h.t.Helper()
	form := "client_key=" + clientKey + "&client_secret=" + secret + "&grant_type=refresh_token&refresh_token=" + refreshToken
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+pathToken, strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return h.do(req)
}

func decodeMap(t *testing.T, raw string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatalf("decode %q: %v", raw, err)
	}
	return m
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
