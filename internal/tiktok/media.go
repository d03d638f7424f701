package tiktok

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// Default media timeouts (see MediaTimeouts).
const (
	DefaultMediaHeaderTimeout = 30 * time.Second
	DefaultMediaIdleTimeout   = 30 * time.Second
)

// MediaTimeouts bounds the waits on a media server (ProbeSize, HTTPSource), whatever the caller's
// context says: a server that accepts the connection and never answers must not stall an upload
// forever. Zero fields take the defaults.
type MediaTimeouts struct {
	// Header bounds the wait for each request's response headers, default DefaultMediaHeaderTimeout.
	Header time.Duration
	// Idle bounds one read of a media body that yields no byte, default DefaultMediaIdleTimeout. It
	// counts only while a read waits for the server, never the time between reads (Upload pauses the
	// stream while TikTok answers a chunk).
	Idle time.Duration
}

// ErrMediaStalled is wrapped by the error of a media request that hit a MediaTimeouts bound.
var ErrMediaStalled = errors.New("media server stalled")

// mediaTimeouts returns the first of opts (or none) with the defaults filled in.
func mediaTimeouts(opts []MediaTimeouts) MediaTimeouts {
	var t MediaTimeouts
	if len(opts) > 0 {
		t = opts[0]
	}
	if t.Header <= 0 {
		t.Header = DefaultMediaHeaderTimeout
	}
	if t.Idle <= 0 {
		t.Idle = DefaultMediaIdleTimeout
	}
	return t
}

// doMedia sends req, whose context cancel ends, and gives the server d to send its response headers.
// The body that comes back is still tied to that context: the caller cancels it when done.
func doMedia(hc *http.Client, req *http.Request, cancel context.CancelCauseFunc, d time.Duration) (*http.Response, error) {
	stalled := fmt.Errorf("no response headers within %s: %w", d, ErrMediaStalled)
	timer := time.AfterFunc(d, func() { cancel(stalled) })
	resp, err := hc.Do(req)
	if !timer.Stop() {
		if err == nil {
			_ = resp.Body.Close()
		}
		return nil, stalled
	}
	if err != nil {
		return nil, redactURLError(err)
	}
	return resp, nil
}

// idleBody is a media response body whose reads fail with ErrMediaStalled when one of them waits more
// than idle for a byte; it then cancels the request (which is what unblocks the read). Close cancels the
// request's context too.
type idleBody struct {
	rc      io.ReadCloser
	idle    time.Duration
	cancel  context.CancelCauseFunc
	timer   *time.Timer
	stalled atomic.Bool
	err     error
}

func newIdleBody(rc io.ReadCloser, idle time.Duration, cancel context.CancelCauseFunc) *idleBody {
	b := &idleBody{rc: rc, idle: idle, cancel: cancel,
		err: fmt.Errorf("no byte of the media body within %s: %w", idle, ErrMediaStalled)}
	b.timer = time.AfterFunc(time.Hour, func() {
		b.stalled.Store(true)
		cancel(b.err)
	})
	b.timer.Stop()
	return b
}

func (b *idleBody) Read(p []byte) (int, error) {
	if b.stalled.Load() {
		return 0, b.err
	}
	b.timer.Reset(b.idle)
	n, err := b.rc.Read(p)
	if !b.timer.Stop() || b.stalled.Load() {
		return n, b.err
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.timer.Stop()
	err := b.rc.Close()
	b.cancel(nil)
	return err
}
