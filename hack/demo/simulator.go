package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
)

// simProcess is the tiktok-sim child process and its HTTP address.
type simProcess struct {
	cmd  *exec.Cmd
	URL  string        // http://127.0.0.1:PORT
	done chan struct{} // closed when the child has exited; exitErr is then its result
	http *http.Client

	exitErr error
}

// simConfig is the simulator's configuration for cfg: the same windows as the AccountQuotas.
func simConfig(cfg config) tiktoksim.Config {
	c := tiktoksim.DefaultConfig()
	w := tiktoksim.Duration(cfg.Window)
	c.Limits[tiktoksim.EndpointVideoInit] = tiktoksim.Limit{Requests: cfg.InitLimit, Window: w}
	c.Limits[tiktoksim.EndpointInboxInit] = tiktoksim.Limit{Requests: cfg.InitLimit, Window: w}
	c.Limits[tiktoksim.EndpointContentInit] = tiktoksim.Limit{Requests: cfg.InitLimit, Window: w}
	c.Limits[tiktoksim.EndpointStatusFetch] = tiktoksim.Limit{Requests: cfg.StatusLimit, Window: w}
	c.Limits[tiktoksim.EndpointCreatorInfo] = tiktoksim.Limit{Requests: cfg.CreatorLimit, Window: w}
	day := tiktoksim.Duration(24 * time.Hour)
	c.DailyPosts = tiktoksim.Limit{Requests: cfg.DailyCap, Window: day}
	c.PendingShares = tiktoksim.Limit{Requests: cfg.DailyCap, Window: day}
	c.Processing.Delay = tiktoksim.Duration(cfg.ProcessingDelay)
	c.VerifiedURLPrefixes = []string{cdnPrefix} // outsidePrefix stays unverified
	return c
}

// startSim writes the simulator's YAML configuration into dir, starts the binary on a free loopback
// port in its own process group (so a Ctrl-C in the terminal reaches only the demo, which stops it in
// order), and reads the address from its first line.
func startSim(ctx context.Context, cfg config, dir string) (*simProcess, error) {
	data, err := yaml.Marshal(simConfig(cfg))
	if err != nil {
		return nil, fmt.Errorf("encoding the simulator configuration: %w", err)
	}
	path := filepath.Join(dir, "tiktok-sim.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return nil, fmt.Errorf("writing the simulator configuration: %w", err)
	}
	logf, err := os.Create(filepath.Join(dir, "tiktok-sim.log"))
	if err != nil {
		return nil, fmt.Errorf("creating the simulator log: %w", err)
	}
	cmd := exec.Command(cfg.SimBinary, "--listen", "127.0.0.1:0", "--config", path)
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		_ = logf.Close()
		return nil, fmt.Errorf("simulator stdout: %w", err)
	}
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return nil, fmt.Errorf("starting %s: %w", cfg.SimBinary, err)
	}
	s := &simProcess{cmd: cmd, done: make(chan struct{}), http: &http.Client{Timeout: 10 * time.Second}}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(logf, stdout) // keep draining so the child never blocks on a full pipe
	}()
	go func() { s.exitErr = cmd.Wait(); _ = logf.Close(); close(s.done) }()
	select {
	case line, ok := <-lines:
		addr, found := strings.CutPrefix(line, "listening on ")
		if !ok || !found || !strings.HasPrefix(addr, "http://127.0.0.1:") {
			s.stop()
			return nil, fmt.Errorf("tiktok-sim did not announce a loopback address (first line %q; see %s)", line, logf.Name())
		}
		s.URL = addr
		return s, nil
	case <-s.done:
		return nil, fmt.Errorf("tiktok-sim exited before listening (see %s): %v", logf.Name(), s.exitErr)
	case <-ctx.Done():
		s.stop()
		return nil, ctx.Err()
	case <-time.After(30 * time.Second):
		s.stop()
		return nil, errors.New("tiktok-sim did not announce its address within 30 s")
	}
}

// stop sends SIGTERM (the simulator shuts down cleanly on it) and waits; SIGKILL after 10 s.
func (s *simProcess) stop() {
	if s == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// addAccount creates a creator through POST /sim/accounts. The answer holds the generated credentials:
// they go into the account's Secret and nowhere else.
func (s *simProcess) addAccount(ctx context.Context, a tiktoksim.Account) (tiktoksim.Account, error) {
	body, err := json.Marshal(a)
	if err != nil {
		return tiktoksim.Account{}, fmt.Errorf("encoding account %s: %w", a.Name, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/sim/accounts", bytes.NewReader(body))
	if err != nil {
		return tiktoksim.Account{}, fmt.Errorf("adding account %s: %w", a.Name, err)
	}
	req.Header.Set("Content-Type", "application/json")
	var got tiktoksim.Account
	if err := s.do(req, http.StatusCreated, &got); err != nil {
		return tiktoksim.Account{}, fmt.Errorf("adding account %s to the simulator: %w", a.Name, err)
	}
	return got, nil
}

// stats is GET /sim/stats.
func (s *simProcess) stats(ctx context.Context) (tiktoksim.Stats, error) {
	var st tiktoksim.Stats
	return st, s.get(ctx, "/sim/stats", &st)
}

// posts is GET /sim/posts: the inits the simulator accepted, with the time it stamped them.
func (s *simProcess) posts(ctx context.Context) ([]tiktoksim.AcceptedPost, error) {
	var ps []tiktoksim.AcceptedPost
	return ps, s.get(ctx, "/sim/posts", &ps)
}

func (s *simProcess) get(ctx context.Context, path string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+path, nil)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	if err := s.do(req, http.StatusOK, into); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}

// do sends req and decodes a JSON answer of the wanted status. Error bodies are not quoted: the /sim
// answers never carry secrets on errors, but the demo keeps its output free of anything the simulator says.
func (s *simProcess) do(req *http.Request, want int, into any) error {
	resp, err := s.http.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != want {
		return fmt.Errorf("HTTP %d, want %d", resp.StatusCode, want)
	}
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		return fmt.Errorf("decoding the answer: %w", err)
	}
	return nil
}
