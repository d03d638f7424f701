package tiktok

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// ProbeSize asks a media server for a file's size before a FILE_UPLOAD init, which must state it. It
// sends HEAD and, if the server does not tell the length that way, a GET of the first byte (a Range
// answer's Content-Range carries the total). Errors are *Error of EndpointUpload: Retryable for a
// transport failure, a 5xx or a server that sends no response headers within the Header timeout of
// opts (at most one; zero fields and no opts mean the defaults; the error then wraps ErrMediaStalled),
// Terminal for any other answer (a 404 will not heal by retrying). No body is read.
func ProbeSize(ctx context.Context, hc *http.Client, mediaURL string, opts ...MediaTimeouts) (int64, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	to := mediaTimeouts(opts)
	size, status, err := probe(ctx, hc, http.MethodHead, mediaURL, to.Header)
	if err == nil && size < 0 {
		size, status, err = probe(ctx, hc, http.MethodGet, mediaURL, to.Header)
	}
	switch {
	case err != nil:
		return 0, &Error{Endpoint: EndpointUpload, Class: Retryable, Code: "media_unreachable",
			Message: "reading the media's size failed", Err: err}
	case status >= 500:
		return 0, &Error{Endpoint: EndpointUpload, Class: Retryable, Code: "media_unavailable", HTTPStatus: status,
			Message: fmt.Sprintf("the media server answered HTTP %d", status)}
	case status >= 300:
		return 0, &Error{Endpoint: EndpointUpload, Class: Terminal, Code: "media_unavailable", HTTPStatus: status,
			Message: fmt.Sprintf("the media server answered HTTP %d (redirects are not followed)", status)}
	case size <= 0:
		return 0, &Error{Endpoint: EndpointUpload, Class: Terminal, Code: "media_size_unknown",
			Message: "the media server does not tell the file's size"}
	}
	return size, nil
}

// probe returns the total size a HEAD or a one-byte ranged GET reports (-1 if none) and the status.
// The server has headerTimeout to send its headers.
func probe(ctx context.Context, hc *http.Client, method, mediaURL string, headerTimeout time.Duration) (int64, int, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := http.NewRequestWithContext(ctx, method, mediaURL, nil)
	if err != nil {
		return -1, 0, redactURLError(err)
	}
	if method == http.MethodGet {
		req.Header.Set("Range", "bytes=0-0")
	}
	resp, err := doMedia(hc, req, cancel, headerTimeout)
	if err != nil {
		return -1, 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode == http.StatusPartialContent {
		if r, ok := parseContentRange(resp.Header.Get("Content-Range")); ok && r.Total >= 0 {
			return r.Total, resp.StatusCode, nil
		}
		return -1, resp.StatusCode, nil
	}
	if resp.StatusCode == http.StatusOK && method == http.MethodHead {
		if n, err := strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64); err == nil && n > 0 {
			return n, resp.StatusCode, nil
		}
	}
	return -1, resp.StatusCode, nil
}
