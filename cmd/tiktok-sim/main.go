// Command tiktok-sim serves the TikTok simulator (package tiktoksim) over HTTP for scripts,
// end-to-end tests and benchmarks.
//
//	tiktok-sim --listen 127.0.0.1:0 --config sim.yaml
//
// Its first line on stdout is "listening on http://ADDR", so a script can start it on a free port and
// read where it went. SIGINT or SIGTERM shut it down cleanly.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		log.Fatalf("tiktok-sim: %v", err)
	}
}

// run parses args, serves until ctx ends or a signal arrives, and writes the address line to out.
func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("tiktok-sim", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	configPath := fs.String("config", "", "YAML configuration (defaults: TikTok's documented values)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := tiktoksim.DefaultConfig()
	if *configPath != "" {
		data, err := os.ReadFile(*configPath)
		if err != nil {
			return fmt.Errorf("read config: %w", err)
		}
		if cfg, err = tiktoksim.LoadConfig(data); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: tiktoksim.New(cfg), ReadHeaderTimeout: 10 * time.Second}
	// Catch the signals before announcing the address: a script may signal as soon as it reads it.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if _, err := fmt.Fprintf(out, "listening on http://%s\n", ln.Addr()); err != nil {
		_ = ln.Close()
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
