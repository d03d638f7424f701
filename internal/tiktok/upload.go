package tiktok

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Opener returns the media's bytes from offset to the end. Upload opens the source once and reads it
// straight through; it reopens only to retry a chunk or to resume where TikTok says it stopped, so the
// file is never held in memory (not even one chunk).
type Opener func(offset int64) (io.ReadCloser, error)

// UploadRequest describes one chunked upload to the upload_url of a FILE_UPLOAD init.
type UploadRequest struct {
	UploadURL   string
	Plan        ChunkPlan // the plan sent in the init call's source_info
	ContentType string    // video/mp4 (default), video/quicktime or video/webm
	Open        Opener
	// Progress, when set, is called with the bytes TikTok has confirmed after each accepted chunk.
	Progress func(uploaded, total int64)
}

// ErrNotRewindable is returned by a ForwardOnly source asked to go back.
var ErrNotRewindable = errors.New("source cannot be reopened before its current position")

// Upload sends the file in order, one PUT per chunk with Content-Range. A 5xx or a transport failure
// retries the chunk (Options.ChunkRetries times, reopening the source at the chunk's start); a 416 makes
// it resume at the offset TikTok reports in Content-Range (so a chunk TikTok got despite a lost answer
// is not sent twice). Any other refusal (400 bad headers, 403 expired URL, 404 unknown upload) returns.
// Retries are safe here, unlike init calls: a chunk is keyed by its byte range. An upload URL that
// Options.AllowUpload refuses fails Terminal (code upload_url_not_allowed) before the source is opened.
func (c *Client) Upload(ctx context.Context, req UploadRequest) error {
	plan := req.Plan
	if err := plan.Validate(); err != nil {
		return &Error{Endpoint: EndpointUpload, Class: Terminal, Err: err}
	}
	if req.Open == nil {
		return &Error{Endpoint: EndpointUpload, Class: Terminal, Err: errors.New("upload: no source")}
	}
	if c.allowUp != nil {
		if err := c.allowUp(req.UploadURL); err != nil {
			return &Error{Endpoint: EndpointUpload, Class: Terminal, Code: "upload_url_not_allowed", Message: err.Error()}
		}
	}
	ctype := req.ContentType
	if ctype == "" {
		ctype = "video/mp4"
	}
	var (
		src      io.ReadCloser
		pos      int64 // offset of the next byte src yields
		failures int   // consecutive failures of the current chunk
		resumes  int   // 416 resumptions, bounded so a confused server cannot loop us forever
	)
	defer func() {
		if src != nil {
			_ = src.Close()
		}
	}()
	for i := int64(0); i < plan.TotalChunkCount; {
		off, n := plan.Chunk(i)
		if src == nil || pos != off {
			if src != nil {
				_ = src.Close()
			}
			var err error
			if src, err = req.Open(off); err != nil {
				src = nil
				// A media server that stalled may answer later: the post is tried again (a new init, since
				// TikTok cannot publish what it got so far). Anything else about the source is final.
				class := Terminal
				if errors.Is(err, ErrMediaStalled) {
					class = Retryable
				}
				return &Error{Endpoint: EndpointUpload, Class: class, Err: fmt.Errorf("open source at %d: %w", off, err)}
			}
			pos = off
		}
		body := &chunkBody{r: io.LimitReader(src, n)}
		a, err := c.send(ctx, request{
			endpoint: EndpointUpload, method: http.MethodPut, url: req.UploadURL, contentType: ctype,
			body: body, length: n, header: http.Header{"Content-Range": {plan.ContentRange(i)}},
		})
		// The transport may still be reading the body after Do returns (an early answer); detach it so
		// src is ours alone again, and learn exactly how far src has moved.
		pos += body.detach()
		if err == nil {
			failures = 0
			i++
			if req.Progress != nil {
				req.Progress(off+n, plan.VideoSize)
			}
			continue
		}
		var te *Error
		if !errors.As(err, &te) {
			return err
		}
		switch {
		case te.HTTPStatus == http.StatusRequestedRangeNotSatisfiable:
			next, ok := resumeOffset(a.header)
			resumes++
			if !ok || resumes > int(plan.TotalChunkCount)+c.retries {
				return te
			}
			if next == plan.VideoSize {
				if req.Progress != nil {
					req.Progress(next, plan.VideoSize)
				}
				return nil // TikTok already has every byte
			}
			j := plan.chunkAt(next)
			if j < 0 {
				te.Err = errors.Join(te.Err, fmt.Errorf("server resumes at %d, not a chunk boundary", next))
				return te
			}
			i, failures = j, 0
		case te.Class == Retryable || te.Class == Uncertain:
			failures++
			if failures > c.retries {
				return te
			}
			if src != nil {
				_ = src.Close()
				src = nil
			}
			if err := sleepCtx(ctx, c.backoffFn(failures)); err != nil {
				return te
			}
		default:
			return te
		}
	}
	return nil
}

// resumeOffset reads where the server wants the upload to continue from a 416 answer's Content-Range
// ("bytes 0-LAST/TOTAL" means it holds LAST+1 bytes, "bytes */TOTAL" means none) or, failing that, a
// Range header ("bytes=0-LAST"). Anything else, malformed or not starting at 0, is false.
func resumeOffset(h http.Header) (int64, bool) {
	if v := strings.Trim(h.Get("Content-Range"), " \t"); v != "" {
		r, ok := parseContentRange(v)
		switch {
		case !ok:
			return 0, false
		case r.First < 0:
			return 0, true
		}
		return heldUpTo(r.First, r.Last)
	}
	if v := strings.Trim(h.Get("Range"), " \t"); v != "" {
		if len(v) < len("bytes=") || !strings.EqualFold(v[:len("bytes=")], "bytes=") {
			return 0, false
		}
		first, last, ok := strings.Cut(v[len("bytes="):], "-")
		if !ok {
			return 0, false
		}
		f, ok1 := parseDigits(first)
		l, ok2 := parseDigits(last)
		if !ok1 || !ok2 {
			return 0, false
		}
		return heldUpTo(f, l)
	}
	return 0, false
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// chunkBody is one chunk's request body. detach cuts it off from the source: reads after it fail, and
// a read in progress finishes first, so the source is never read by two goroutines at once.
type chunkBody struct {
	mu       sync.Mutex
	r        io.Reader
	n        int64
	detached bool
}

var errDetached = errors.New("chunk body detached after the answer")

func (c *chunkBody) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.detached {
		return 0, errDetached
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// detach stops further reads and returns the bytes read from the source.
func (c *chunkBody) detach() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.detached = true
	return c.n
}
