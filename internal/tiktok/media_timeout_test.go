package tiktok_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/tiktok-operator/tiktok-operator/internal/tiktok"
)

// fast are the media timeouts of these tests, far below the defaults.
var fast = tiktok.MediaTimeouts{Header: 100 * time.Millisecond, Idle: 100 * time.Millisecond}

// stallingServer answers per mode: "headers" never sends the response headers; "body" sends headers
// and the first 1000 of its 100,000 bytes, then stalls (whatever Range says). Handlers return when the
// client goes away or the test ends.
func stallingServer(t *testing.T, mode string) *httptest.Server {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if mode == "body" {
			w.Header().Set("Content-Length", strconv.Itoa(100_000))
			w.WriteHeader(http.StatusOK)
			if r.Method != http.MethodHead {
				_, _ = w.Write(bytes.Repeat([]byte("x"), 1000))
			}
			w.(http.Flusher).Flush()
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	return srv
}

// returns runs f and fails the test if it has not returned after a minute: without its own timeouts,
// the call would wait forever (its context has no deadline). This guards against a hang; it does not
// measure speed.
func returns(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatalf("%s never returned: no timeout of its own", what)
	}
}

func TestMediaServerThatNeverAnswersHeaders(t *testing.T) {
	srv := stallingServer(t, "headers")
	returns(t, "ProbeSize", func() {
		size, err := tiktok.ProbeSize(context.Background(), srv.Client(), srv.URL, fast)
		var te *tiktok.Error
		if size != 0 || !errors.As(err, &te) || te.Class != tiktok.Retryable || !errors.Is(err, tiktok.ErrMediaStalled) {
			t.Errorf("ProbeSize = %d, %v; want a Retryable error wrapping ErrMediaStalled", size, err)
		}
	})
	open := tiktok.HTTPSource(context.Background(), srv.Client(), srv.URL, fast)
	for _, off := range []int64{0, 500} {
		returns(t, "HTTPSource open at "+strconv.FormatInt(off, 10), func() {
			rc, err := open(off)
			if rc != nil || !errors.Is(err, tiktok.ErrMediaStalled) {
				t.Errorf("open(%d) = %v, %v; want ErrMediaStalled", off, rc, err)
			}
		})
	}
}

func TestMediaServerThatStallsMidBody(t *testing.T) {
	srv := stallingServer(t, "body")
	open := tiktok.HTTPSource(context.Background(), srv.Client(), srv.URL, fast)
	returns(t, "reading a stalled body", func() {
		rc, err := open(0)
		if err != nil {
			t.Errorf("open(0): %v", err)
			return
		}
		defer rc.Close()
		got, err := io.ReadAll(rc)
		if len(got) != 1000 || !errors.Is(err, tiktok.ErrMediaStalled) {
			t.Errorf("read %d bytes, %v; want 1000 bytes then ErrMediaStalled", len(got), err)
		}
	})
	// The server ignores Range: reopening past the start skips the stream's first bytes, and the skip stalls.
	returns(t, "skipping through a stalled body", func() {
		rc, err := open(5000)
		if rc != nil || !errors.Is(err, tiktok.ErrMediaStalled) {
			t.Errorf("open(5000) = %v, %v; want ErrMediaStalled", rc, err)
		}
	})
	// The probe reads no body: a server that stalls in the body still tells the size.
	returns(t, "ProbeSize", func() {
		if size, err := tiktok.ProbeSize(context.Background(), srv.Client(), srv.URL, fast); size != 100_000 || err != nil {
			t.Errorf("ProbeSize = %d, %v", size, err)
		}
	})
}

// TestMediaIdleTimeoutCountsOnlyWaits: the idle timeout bounds a read that waits for the server, not
// the time between reads. Upload reads a chunk, then waits for TikTok's answer before the next one; a
// pause of the reader longer than the idle timeout must not kill the stream.
func TestMediaIdleTimeoutCountsOnlyWaits(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 10_000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "v.mp4", time.Time{}, bytes.NewReader(data))
	}))
	defer srv.Close()
	to := tiktok.MediaTimeouts{Header: 5 * time.Second, Idle: time.Second}
	rc, err := tiktok.HTTPSource(context.Background(), srv.Client(), srv.URL, to)(10)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	head := make([]byte, 100)
	if _, err := io.ReadFull(rc, head); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * to.Idle)
	rest, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(append(head, rest...), data[10:]) {
		t.Fatalf("after a pause: %d bytes, %v", len(rest), err)
	}
}

// TestUploadFromStalledMedia: the media stalls in the middle of a chunk; the chunk fails, each retry
// reopens the media and stalls again, and Upload returns instead of waiting forever.
func TestUploadFromStalledMedia(t *testing.T) {
	media := stallingServer(t, "body")
	e := newEnv(t, nil)
	plan, res := fileInit(t, e, 100_000, 0)
	returns(t, "Upload", func() {
		err := e.client.Upload(context.Background(), tiktok.UploadRequest{UploadURL: res.UploadURL, Plan: plan,
			Open: tiktok.HTTPSource(context.Background(), media.Client(), media.URL, fast)})
		if err == nil || !errors.Is(err, tiktok.ErrMediaStalled) {
			t.Errorf("Upload = %v; want an error wrapping ErrMediaStalled", err)
		}
	})
}
