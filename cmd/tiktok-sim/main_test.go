package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// start runs the binary's run() with args and returns the announced base URL and its result channel.
func start(t *testing.T, ctx context.Context, args ...string) (string, chan error) {
	t.Helper()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, args, pw)
		pw.CloseWithError(io.EOF)
		done <- err
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if err != nil {
		t.Fatalf("no address line: %v (run: %v)", err, <-done)
	}
	base, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if !ok || !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("first line %q", line)
	}
	return base, done
}

func TestServesConfigAndStopsOnSignal(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "sim.yaml")
	if err := os.WriteFile(cfgPath, []byte("accounts:\n  - name: alice\n    access_token: act.a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base, done := start(t, context.Background(), "--listen", "127.0.0.1:0", "--config", cfgPath)

	req, _ := http.NewRequest(http.MethodPost, base+"/v2/post/publish/creator_info/query/", nil)
	req.Header.Set("Authorization", "Bearer act.a")
	req.Header.Set("Content-Type", "application/json; charset=UTF-8")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Data struct {
			Username string `json:"creator_username"`
		} `json:"data"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != 200 || body.Data.Username != "alice" {
		t.Fatalf("creator_info: HTTP %d %+v", resp.StatusCode, body)
	}

	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after SIGTERM: %v", err)
		}
	case <-time.After(10 * time.Second): // a hang guard, not a timing assertion
		t.Fatal("did not stop on SIGTERM")
	}
	if _, err := http.Get(base + "/sim/stats"); err == nil {
		t.Fatal("still serving after shutdown")
	}
}

func TestBadConfig(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	_ = os.WriteFile(bad, []byte("limits: {video_init: {requests: -1}}\n"), 0o600)
	for _, args := range [][]string{
		{"--config", filepath.Join(dir, "missing.yaml")},
		{"--config", bad},
		{"--listen", "not-an-address"},
		{"--no-such-flag"},
	} {
		if err := run(context.Background(), args, io.Discard); err == nil {
			t.Errorf("run(%v) succeeded", args)
		}
	}
}
