package tiktoksim

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// benchServer is a simulator with n accounts and the given limits (nil: unlimited, no caps).
func benchServer(b *testing.B, n int, limits map[string]Limit) (*Server, []string) {
	b.Helper()
	cfg := DefaultConfig()
	cfg.Limits = limits
	cfg.VerifiedURLPrefixes = []string{"https://cdn.example.com/"}
	if limits == nil {
		cfg.Limits = map[string]Limit{}
		cfg.DailyPosts.Requests, cfg.PendingShares.Requests = 0, 0
	}
	s := New(cfg)
	toks := make([]string, n)
	for i := range toks {
		a, err := s.AddAccount(Account{Name: fmt.Sprintf("acct-%d", i)})
		if err != nil {
			b.Fatal(err)
		}
		toks[i] = a.AccessToken
	}
	return s, toks
}

// serveLoop calls ServeHTTP in-process b.N times: the simulator's own cost per request, which is what
// must stay far below the operator's (no network, no client).
func serveLoop(b *testing.B, s *Server, path string, toks []string, body []byte, wantStatus ...int) {
	b.Helper()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+toks[i%len(toks)])
		req.Header.Set("Content-Type", "application/json; charset=UTF-8")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if i == 0 && len(wantStatus) > 0 && w.Code != wantStatus[0] {
			b.Fatalf("HTTP %d: %s", w.Code, w.Body)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

func BenchmarkServeStatusFetch(b *testing.B) {
	s, toks := benchServer(b, 1, nil)
	w := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, pathVideo, strings.NewReader(`{"post_info":{"privacy_level":"SELF_ONLY","brand_content_toggle":false},"source_info":{"source":"PULL_FROM_URL","video_url":"https://cdn.example.com/v.mp4"}}`))
	req.Header.Set("Authorization", "Bearer "+toks[0])
	req.Header.Set("Content-Type", "application/json; charset=UTF-8")
	s.ServeHTTP(w, req)
	id := decodeMapB(b, w.Body.String())["data"].(map[string]any)["publish_id"].(string)
	serveLoop(b, s, pathStatus, toks, []byte(`{"publish_id":"`+id+`"}`), 200)
}

func BenchmarkServeVideoInit(b *testing.B) {
	s, toks := benchServer(b, 100, nil)
	body := []byte(`{"post_info":{"title":"bench","privacy_level":"PUBLIC_TO_EVERYONE","brand_content_toggle":false},"source_info":{"source":"PULL_FROM_URL","video_url":"https://cdn.example.com/v.mp4"}}`)
	serveLoop(b, s, pathVideo, toks, body, 200)
}

// BenchmarkServeLimited exercises the rate gate at TikTok's default limits with 1000 tokens, most calls
// being refused: the path a benchmark that hammers the simulator mostly takes.
func BenchmarkServeLimited(b *testing.B) {
	s, toks := benchServer(b, 1000, DefaultConfig().Limits)
	serveLoop(b, s, pathCreator, toks, nil, 200)
}

// BenchmarkHTTPLoopback is the same status fetch over a real loopback connection with keep-alive; the
// figure includes the Go HTTP client and server on the same cores, so it is a floor, not the
// simulator's own cost.
func BenchmarkHTTPLoopback(b *testing.B) {
	s, toks := benchServer(b, 1, nil)
	srv := httptest.NewServer(s)
	defer srv.Close()
	hc := srv.Client()
	body := `{"publish_id":"none"}`
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+pathStatus, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+toks[0])
		req.Header.Set("Content-Type", "application/json; charset=UTF-8")
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

func decodeMapB(b *testing.B, raw string) map[string]any {
	b.Helper()
	m := map[string]any{}
	if err := jsonUnmarshal([]byte(raw), &m); err != nil {
		b.Fatal(err)
	}
	return m
}
