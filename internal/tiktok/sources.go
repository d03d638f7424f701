package tiktok

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// ReaderAtSource opens a file-like source (an *os.File, a bytes.Reader) of size bytes at any offset.
func ReaderAtSource(ra io.ReaderAt, size int64) Opener {
	return func(off int64) (io.ReadCloser, error) {
		if off < 0 || off > size {
			return nil, fmt.Errorf("offset %d outside 0..%d", off, size)
		}
		return io.NopCloser(io.NewSectionReader(ra, off, size-off)), nil
	}
}

// HTTPSource streams mediaURL with GET, asking for "Range: bytes=OFFSET-" when reopening past the
// start. A server that ignores Range (200 instead of 206) is read from the start and the first OFFSET
// bytes are discarded, which costs transfer but never memory. Each open waits at most the Header
// timeout of opts (at most one; zero fields and no opts mean the defaults) for the response headers,
// and every read of the stream at most its Idle timeout for a byte; past them the open or the read
// fails with an error wrapping ErrMediaStalled.
func HTTPSource(ctx context.Context, hc *http.Client, mediaURL string, opts ...MediaTimeouts) Opener {
	if hc == nil {
		hc = http.DefaultClient
	}
	to := mediaTimeouts(opts)
	return func(off int64) (io.ReadCloser, error) {
		rctx, cancel := context.WithCancelCause(ctx)
		req, err := http.NewRequestWithContext(rctx, http.MethodGet, mediaURL, nil)
		if err != nil {
			cancel(nil)
			return nil, fmt.Errorf("media request: %w", redactURLError(err))
		}
		if off > 0 {
			req.Header.Set("Range", "bytes="+strconv.FormatInt(off, 10)+"-")
		}
		resp, err := doMedia(hc, req, cancel, to.Header)
		if err != nil {
			cancel(nil)
			return nil, fmt.Errorf("media get: %w", err)
		}
		body := newIdleBody(resp.Body, to.Idle, cancel)
		switch {
		case resp.StatusCode == http.StatusPartialContent && startsAt(resp.Header.Get("Content-Range"), off):
			return body, nil
		case resp.StatusCode == http.StatusOK:
			if _, err := io.CopyN(io.Discard, body, off); err != nil {
				_ = body.Close()
				return nil, fmt.Errorf("media skip to %d: %w", off, err)
			}
			return body, nil
		default:
			_ = body.Close()
			return nil, fmt.Errorf("media get: HTTP %d", resp.StatusCode)
		}
	}
}

// startsAt reports whether a 206's Content-Range is the range from off that was asked for.
func startsAt(contentRange string, off int64) bool {
	r, ok := parseContentRange(contentRange)
	return ok && r.First == off
}

// ForwardOnly adapts a plain io.Reader that cannot seek (a pipe). It can open at its current position
// or skip ahead, never go back: a chunk retry after a partial send then fails with ErrNotRewindable.
// Prefer ReaderAtSource or HTTPSource, which make retries and resumption work.
func ForwardOnly(r io.Reader) Opener {
	var pos int64
	return func(off int64) (io.ReadCloser, error) {
		if off < pos {
			return nil, fmt.Errorf("open at %d after reading %d: %w", off, pos, ErrNotRewindable)
		}
		if _, err := io.CopyN(io.Discard, r, off-pos); err != nil {
			return nil, fmt.Errorf("skip to %d: %w", off, err)
		}
		pos = off
		return io.NopCloser(&posReader{r: r, pos: &pos}), nil
	}
}

type posReader struct {
	r   io.Reader
	pos *int64
}

func (p *posReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	*p.pos += int64(n)
	return n, err
}
