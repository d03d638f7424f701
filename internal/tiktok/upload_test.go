package tiktok_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tiktok-operator/tiktok-operator/internal/tiktok"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
)

// pattern is a deterministic media source of any size that never sits in memory.
type pattern struct{ size int64 }

func (p pattern) ReadAt(b []byte, off int64) (int, error) {
	if off >= p.size {
		return 0, io.EOF
	}
	n := int64(len(b))
	if off+n > p.size {
		n = p.size - off
	}
	for i := int64(0); i < n; i++ {
		b[i] = byte((off + i) % 251)
	}
	if n < int64(len(b)) {
		return int(n), io.EOF
	}
	return int(n), nil
}

// fileInit starts a FILE_UPLOAD direct post of size bytes with the given chunk preference.
func fileInit(t *testing.T, e *env, size, chunk int64) (tiktok.ChunkPlan, *tiktok.InitResult) {
	t.Helper()
	plan, err := tiktok.PlanChunks(size, chunk)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.client.InitDirectVideo(context.Background(), aliceAccess, tiktok.DirectVideoRequest{
		PostInfo:   tiktok.VideoPostInfo{Title: "file", PrivacyLevel: tiktok.PrivacyPublic},
		SourceInfo: tiktok.FileUpload(plan),
	})
	if err != nil || res.UploadURL == "" {
		t.Fatalf("file init: %+v, %v", res, err)
	}
	return plan, res
}

func TestUploadEndToEnd(t *testing.T) {
	for _, tc := range []struct {
		name        string
		size, chunk int64
	}{
		{"three chunks, last one larger", 17*tiktok.MB + 3, 5 * tiktok.MB},
		{"small file whole", 3000, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			plan, res := fileInit(t, e, tc.size, tc.chunk)
			var progress []int64
			err := e.client.Upload(context.Background(), tiktok.UploadRequest{
				UploadURL: res.UploadURL, Plan: plan, Open: tiktok.ReaderAtSource(pattern{tc.size}, tc.size),
				Progress: func(done, total int64) {
					if total != tc.size {
						t.Errorf("progress total %d", total)
					}
					progress = append(progress, done)
				},
			})
			if err != nil {
				t.Fatalf("Upload: %v", err)
			}
			if int64(len(progress)) != plan.TotalChunkCount || progress[len(progress)-1] != tc.size {
				t.Fatalf("progress %v for %d chunks", progress, plan.TotalChunkCount)
			}
			e.clk.Step(time.Minute)
			st, err := e.client.FetchStatus(context.Background(), aliceAccess, res.PublishID)
			if err != nil || st.Status != tiktok.StatusPublishComplete || st.UploadedBytes != tc.size || len(st.PostIDs) != 1 {
				t.Fatalf("status after upload: %+v, %v", st, err)
			}
			uploads := 0
			for _, ci := range e.hookCalls() {
				if ci.Endpoint == tiktok.EndpointUpload {
					uploads++
				}
			}
			if int64(uploads) != plan.TotalChunkCount {
				t.Fatalf("hook saw %d upload calls for %d chunks", uploads, plan.TotalChunkCount)
			}
		})
	}
}

// TestUploadSurvivesFaults: 5xx answers and connections dropped after a chunk was stored; the client
// retries the chunk, and after a drop the simulator's 416 makes it resume past the stored chunk.
func TestUploadSurvivesFaults(t *testing.T) {
	e := newEnv(t, nil, func(o *tiktok.Options) { o.ChunkRetries = 20 })
	const size = 31*tiktok.MB + 5
	plan, res := fileInit(t, e, size, 5*tiktok.MB)
	e.sim.SetFaults(tiktoksim.Faults{ServerError: 0.3, Drop: 0.3, Endpoints: []string{tiktoksim.EndpointUpload}})
	err := e.client.Upload(context.Background(), tiktok.UploadRequest{UploadURL: res.UploadURL, Plan: plan, Open: tiktok.ReaderAtSource(pattern{size}, size)})
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	st := e.sim.Stats().Get("alice", tiktoksim.EndpointUpload)
	if st.Faults["server_error"] == 0 || st.Faults["drop"] == 0 || st.Errors["range_not_satisfiable"] == 0 {
		t.Fatalf("the faults did not happen, the test proves nothing: %+v", st)
	}
	e.clk.Step(time.Minute)
	if s, err := e.client.FetchStatus(context.Background(), aliceAccess, res.PublishID); err != nil || s.Status != tiktok.StatusPublishComplete {
		t.Fatalf("status: %+v, %v", s, err)
	}
}

// TestUploadResumesFromServerRange: the first chunk reached TikTok earlier (the answer was lost); Upload
// starts at chunk 0, gets 416 with the held range, and continues at chunk 1 without resending chunk 0.
func TestUploadResumesFromServerRange(t *testing.T) {
	e := newEnv(t, nil)
	const size = 12 * tiktok.MB
	plan, res := fileInit(t, e, size, 5*tiktok.MB)
	off, n := plan.Chunk(0)
	req, _ := http.NewRequest(http.MethodPut, res.UploadURL, io.NewSectionReader(pattern{size}, off, n))
	req.ContentLength = n
	req.Header.Set("Content-Range", plan.ContentRange(0))
	req.Header.Set("Content-Type", "video/mp4")
	resp, err := e.srv.Client().Do(req)
	if err != nil || resp.StatusCode != http.StatusPartialContent {
		t.Fatalf("manual first chunk: %v %v", resp, err)
	}
	resp.Body.Close()
	var opened []int64
	open := tiktok.ReaderAtSource(pattern{size}, size)
	err = e.client.Upload(context.Background(), tiktok.UploadRequest{UploadURL: res.UploadURL, Plan: plan,
		Open: func(o int64) (io.ReadCloser, error) { opened = append(opened, o); return open(o) }})
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	var statuses []int
	for _, ci := range e.hookCalls() {
		if ci.Endpoint == tiktok.EndpointUpload {
			statuses = append(statuses, ci.HTTPStatus)
		}
	}
	if fmt.Sprint(statuses) != "[416 201]" {
		t.Fatalf("upload answers %v, want [416 201]", statuses)
	}
	if fmt.Sprint(opened) != fmt.Sprint([]int64{0, 5 * tiktok.MB}) {
		t.Fatalf("source opened at %v", opened)
	}
}

func TestUploadTerminalErrors(t *testing.T) {
	e := newEnv(t, nil)
	plan, res := fileInit(t, e, 1000, 0)
	e.clk.Step(time.Hour)
	err := e.client.Upload(context.Background(), tiktok.UploadRequest{UploadURL: res.UploadURL, Plan: plan, Open: tiktok.ReaderAtSource(pattern{1000}, 1000)})
	var te *tiktok.Error
	if !errors.As(err, &te) || te.HTTPStatus != http.StatusForbidden || te.Class != tiktok.Terminal || te.Endpoint != tiktok.EndpointUpload {
		t.Fatalf("expired upload URL: %v", err)
	}
	if err := e.client.Upload(context.Background(), tiktok.UploadRequest{UploadURL: res.UploadURL, Plan: tiktok.ChunkPlan{VideoSize: 1000, ChunkSize: 10, TotalChunkCount: 100}, Open: tiktok.ReaderAtSource(pattern{1000}, 1000)}); tiktok.ClassOf(err) != tiktok.Terminal {
		t.Fatalf("invalid plan: %v", err)
	}
}

// TestSources checks the streaming sources: HTTP with Range, HTTP without Range, and forward-only.
func TestSources(t *testing.T) {
	const size = 100_000
	data := make([]byte, size)
	_, _ = pattern{size}.ReadAt(data, 0)
	ranged := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "v.mp4", time.Time{}, bytes.NewReader(data))
	}))
	defer ranged.Close()
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(data) }))
	defer plain.Close()
	missing := httptest.NewServer(http.NotFoundHandler())
	defer missing.Close()
	for _, tc := range []struct {
		name string
		open tiktok.Opener
	}{
		{"http with range", tiktok.HTTPSource(context.Background(), ranged.Client(), ranged.URL)},
		{"http without range", tiktok.HTTPSource(context.Background(), plain.Client(), plain.URL)},
		{"reader at", tiktok.ReaderAtSource(bytes.NewReader(data), size)},
	} {
		for _, off := range []int64{0, 12345, size - 1} {
			rc, err := tc.open(off)
			if err != nil {
				t.Fatalf("%s at %d: %v", tc.name, off, err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || !bytes.Equal(got, data[off:]) {
				t.Fatalf("%s at %d: %d bytes, %v", tc.name, off, len(got), err)
			}
		}
	}
	if _, err := tiktok.HTTPSource(context.Background(), missing.Client(), missing.URL)(0); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("404 media: %v", err)
	}
	fwd := tiktok.ForwardOnly(bytes.NewReader(data))
	rc, _ := fwd(10)
	head := make([]byte, 5)
	_, _ = io.ReadFull(rc, head)
	if !bytes.Equal(head, data[10:15]) {
		t.Fatalf("forward-only read %v", head)
	}
	if rc, err := fwd(20); err != nil {
		t.Fatalf("skip ahead: %v", err)
	} else if b, _ := io.ReadAll(io.LimitReader(rc, 3)); !bytes.Equal(b, data[20:23]) {
		t.Fatalf("after skip: %v", b)
	}
	if _, err := fwd(0); !errors.Is(err, tiktok.ErrNotRewindable) {
		t.Fatalf("rewind: %v", err)
	}
}

// TestUploadStalledSourceIsRetryable: a media server that stalls when the upload opens it may answer
// later, so the upload fails Retryable (the post gets a new init); a source that cannot be read at all
// stays Terminal.
func TestUploadStalledSourceIsRetryable(t *testing.T) {
	e := newEnv(t, nil)
	plan, res := fileInit(t, e, 1000, 0)
	stalled := func(int64) (io.ReadCloser, error) { return nil, fmt.Errorf("media get: %w", tiktok.ErrMediaStalled) }
	err := e.client.Upload(context.Background(), tiktok.UploadRequest{UploadURL: res.UploadURL, Plan: plan, Open: stalled})
	if tiktok.ClassOf(err) != tiktok.Retryable {
		t.Errorf("a stalled media server: class %s (%v), want Retryable", tiktok.ClassOf(err), err)
	}
	broken := func(int64) (io.ReadCloser, error) { return nil, errors.New("media get: HTTP 404") }
	err = e.client.Upload(context.Background(), tiktok.UploadRequest{UploadURL: res.UploadURL, Plan: plan, Open: broken})
	if tiktok.ClassOf(err) != tiktok.Terminal {
		t.Errorf("a missing media file: class %s (%v), want Terminal", tiktok.ClassOf(err), err)
	}
}
