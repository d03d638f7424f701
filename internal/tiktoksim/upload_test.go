package tiktoksim

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// fileInit starts a FILE_UPLOAD direct post and returns its publish id and upload URL.
func (h *harness) fileInit(size, chunk, count int64) (string, string) {
	h.t.Helper()
	a := h.call(pathVideo, h.tok, map[string]any{
		"post_info":   map[string]any{"privacy_level": "PUBLIC_TO_EVERYONE", "title": "file", "brand_content_toggle": false},
		"source_info": map[string]any{"source": "FILE_UPLOAD", "video_size": size, "chunk_size": chunk, "total_chunk_count": count},
	})
	if a.status != http.StatusOK {
		h.t.Fatalf("file init: HTTP %d %s", a.status, a.raw)
	}
	u, _ := a.data["upload_url"].(string)
	if !strings.HasPrefix(u, h.srv.URL+"/upload/?upload_id=") {
		h.t.Fatalf("upload_url %q does not point back at the simulator %s", u, h.srv.URL)
	}
	return a.data["publish_id"].(string), u
}

func (h *harness) put(u string, first, last, total int64, n int64) answer {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodPut, u, io.LimitReader(zeros{}, n))
	req.ContentLength = n
	req.Header.Set("Content-Type", "video/mp4")
	req.Header.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, last, total))
	return h.do(req)
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestUploadSequence(t *testing.T) {
	const size, chunk = 12*mib + 7, 5 * mib // 2 chunks: 5 MiB, then 7 MiB + 7
	h := newHarness(t, nil)
	id, u := h.fileInit(size, chunk, 2)
	if st := h.call(pathStatus, h.tok, map[string]string{"publish_id": id}); st.data["status"] != "PROCESSING_UPLOAD" {
		t.Fatalf("before upload: %s", st.raw)
	}
	steps := []struct {
		name                string
		first, last, length int64
		url                 string
		status              int
		contentRange        string
	}{
		{"second chunk first", chunk, size - 1, size - chunk, u, 416, fmt.Sprintf("bytes */%d", size)},
		{"wrong chunk end", 0, chunk, chunk + 1, u, 400, ""},
		{"short body", 0, chunk - 1, chunk - 1, u, 400, ""},
		{"wrong upload token", 0, chunk - 1, chunk, strings.Replace(u, "upload_token=", "upload_token=x", 1), 403, ""},
		{"unknown upload", 0, chunk - 1, chunk, strings.Replace(u, "upload_id=", "upload_id=9", 1), 404, ""},
		{"first chunk", 0, chunk - 1, chunk, u, 206, fmt.Sprintf("bytes 0-%d/%d", chunk-1, size)},
		{"first chunk again", 0, chunk - 1, chunk, u, 416, fmt.Sprintf("bytes 0-%d/%d", chunk-1, size)},
		{"last chunk", chunk, size - 1, size - chunk, u, 201, fmt.Sprintf("bytes 0-%d/%d", size-1, size)},
	}
	for _, s := range steps {
		var a answer
		if s.name == "short body" {
			req, _ := http.NewRequest(http.MethodPut, s.url, io.LimitReader(zeros{}, s.length))
			req.ContentLength = s.length
			req.Header.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", s.first, chunk-1, size))
			a = h.do(req)
		} else {
			a = h.put(s.url, s.first, s.last, size, s.length)
		}
		if a.status != s.status {
			t.Fatalf("%s: HTTP %d, want %d (%s)", s.name, a.status, s.status, a.raw)
		}
		if s.contentRange != "" && a.header.Get("Content-Range") != s.contentRange {
			t.Fatalf("%s: Content-Range %q, want %q", s.name, a.header.Get("Content-Range"), s.contentRange)
		}
	}
	st := h.call(pathStatus, h.tok, map[string]string{"publish_id": id})
	if st.data["status"] != "PROCESSING_UPLOAD" || st.data["uploaded_bytes"] != float64(size) {
		t.Fatalf("right after upload: %s", st.raw)
	}
	h.clk.Step(h.sim.Config().Processing.Delay.D())
	if st := h.call(pathStatus, h.tok, map[string]string{"publish_id": id}); st.data["status"] != "PUBLISH_COMPLETE" {
		t.Fatalf("after processing: %s", st.raw)
	}
}

func TestUploadURLExpires(t *testing.T) {
	h := newHarness(t, nil)
	_, u := h.fileInit(1000, 1000, 1)
	h.clk.Step(time.Hour)
	if a := h.put(u, 0, 999, 1000, 1000); a.status != http.StatusForbidden {
		t.Fatalf("upload after an hour: HTTP %d", a.status)
	}
}

func TestPublicURLConfig(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.PublicURL = "https://sim.example/" })
	a := h.call(pathVideo, h.tok, map[string]any{
		"post_info":   map[string]any{"privacy_level": "SELF_ONLY", "brand_content_toggle": false},
		"source_info": map[string]any{"source": "FILE_UPLOAD", "video_size": 10, "chunk_size": 10, "total_chunk_count": 1},
	})
	if u, _ := a.data["upload_url"].(string); !strings.HasPrefix(u, "https://sim.example/upload/?upload_id=") {
		t.Fatalf("upload_url = %q", u)
	}
}
