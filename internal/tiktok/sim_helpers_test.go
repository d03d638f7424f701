package tiktok_test

import (
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	testingclock "k8s.io/utils/clock/testing"

	"github.com/tiktok-operator/tiktok-operator/internal/tiktok"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
)

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// Distinctive secrets, so a test can look for them in every string the client produces.
const (
	aliceAccess  = "act.ALICE-ACCESS-SECRET"
	aliceRefresh = "rft.ALICE-REFRESH-SECRET"
	aliceSecret  = "cs.ALICE-CLIENT-SECRET"
	aliceKey     = "ck-alice"
)

// env is the real client talking HTTP to the simulator; both share one fake clock (the client uses it
// only to stamp CallInfo).
type env struct {
	sim    *tiktoksim.Server
	clk    *testingclock.FakeClock
	srv    *httptest.Server
	client *tiktok.Client
	mu     sync.Mutex
	calls  []tiktok.CallInfo
}

func newEnv(t *testing.T, mutate func(*tiktoksim.Config), opts ...func(*tiktok.Options)) *env {
	t.Helper()
	cfg := tiktoksim.DefaultConfig()
	cfg.Accounts = []tiktoksim.Account{{
		Name: "alice", ClientKey: aliceKey, ClientSecret: aliceSecret,
		AccessToken: aliceAccess, RefreshToken: aliceRefresh,
	}}
	cfg.VerifiedURLPrefixes = []string{"https://cdn.example.com/"}
	if mutate != nil {
		mutate(&cfg)
	}
	e := &env{clk: testingclock.NewFakeClock(t0)}
	e.sim = tiktoksim.New(cfg, tiktoksim.WithClock(e.clk))
	e.srv = httptest.NewServer(e.sim)
	t.Cleanup(e.srv.Close)
	o := tiktok.Options{
		BaseURL:      e.srv.URL,
		HTTPClient:   e.srv.Client(),
		Clock:        e.clk,
		ChunkBackoff: func(int) time.Duration { return 0 },
		Hook: func(ci tiktok.CallInfo) {
			e.mu.Lock()
			e.calls = append(e.calls, ci)
			e.mu.Unlock()
		},
	}
	for _, f := range opts {
		f(&o)
	}
	e.client = tiktok.New(o)
	return e
}

func (e *env) hookCalls() []tiktok.CallInfo {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]tiktok.CallInfo(nil), e.calls...)
}

func pullRequest(title, privacy string) tiktok.DirectVideoRequest {
	return tiktok.DirectVideoRequest{
		PostInfo:   tiktok.VideoPostInfo{Title: title, PrivacyLevel: privacy},
		SourceInfo: tiktok.PullFromURL("https://cdn.example.com/v.mp4"),
	}
}
