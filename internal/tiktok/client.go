package tiktok

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"k8s.io/utils/clock"
)

// DefaultBaseURL is TikTok's API host.
const DefaultBaseURL = "https://open.tiktokapis.com"

const (
	defaultTimeout   = 30 * time.Second
	defaultUserAgent = "tiktok-operator"
	// maxAnswerBytes bounds how much of an answer is read: TikTok's answers are a few hundred bytes.
	maxAnswerBytes = 1 << 20
)

// Options configures a Client. The zero value works against TikTok.
type Options struct {
	// BaseURL of the API, default DefaultBaseURL. Tests point it at the simulator.
	BaseURL string
	// HTTPClient sends the requests, default a new http.Client without its own timeout. The Client uses a
	// copy of it that follows no redirect, whatever its CheckRedirect says: a redirect would re-send a call
	// (its access token, or the OAuth form with the client secret) to a host nobody chose. A 3xx answer
	// is an error (see ClassOf).
	HTTPClient *http.Client
	// Timeout bounds every call (each upload chunk is one call), default 30s. The caller's context
	// deadline applies too; the earlier wins.
	Timeout time.Duration
	// Hook, when set, is called after every HTTP exchange, failed ones included, from the calling goroutine.
	Hook func(CallInfo)
	// UserAgent header, default "tiktok-operator".
	UserAgent string
	// Clock stamps CallInfo.Sent and Answered and parses Retry-After dates, default the real clock.
	Clock clock.PassiveClock
	// ChunkRetries is how many times Upload retries one chunk after a 5xx or a transport failure, default 3.
	ChunkRetries int
	// ChunkBackoff is the wait before the n-th retry of a chunk (n from 1), default n*500ms.
	ChunkBackoff func(n int) time.Duration
	// AllowUpload, when set, is asked before an upload whether its upload_url (an init answer's) may
	// receive the media; an error makes Upload fail Terminal before the source is opened or a byte sent.
	AllowUpload func(uploadURL string) error
}

// CallInfo describes one HTTP exchange with TikTok, for pacing and metrics. It never holds a token.
type CallInfo struct {
	Endpoint   Endpoint
	Sent       time.Time // just before the request was handed to the transport
	Answered   time.Time // when the answer (or the failure) was known
	HTTPStatus int       // 0 if no answer arrived
	Code       string    // TikTok's error code, "" on success
	Class      Class
}

// Client calls TikTok. It is safe for concurrent use and holds no per-account state.
type Client struct {
	base      string
	hc        *http.Client
	timeout   time.Duration
	hook      func(CallInfo)
	ua        string
	clock     clock.PassiveClock
	retries   int
	backoffFn func(int) time.Duration
	allowUp   func(string) error
}

// New returns a Client configured by opts, with defaults for the zero fields.
func New(opts Options) *Client {
	c := &Client{
		base:      strings.TrimRight(opts.BaseURL, "/"),
		hc:        opts.HTTPClient,
		timeout:   opts.Timeout,
		hook:      opts.Hook,
		ua:        opts.UserAgent,
		clock:     opts.Clock,
		retries:   opts.ChunkRetries,
		backoffFn: opts.ChunkBackoff,
		allowUp:   opts.AllowUpload,
	}
	if c.base == "" {
		c.base = DefaultBaseURL
	}
	hc := http.Client{}
	if opts.HTTPClient != nil {
		hc = *opts.HTTPClient
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.hc = &hc
	if c.timeout <= 0 {
		c.timeout = defaultTimeout
	}
	if c.ua == "" {
		c.ua = defaultUserAgent
	}
	if c.clock == nil {
		c.clock = clock.RealClock{}
	}
	if c.retries <= 0 {
		c.retries = 3
	}
	if c.backoffFn == nil {
		c.backoffFn = func(n int) time.Duration { return time.Duration(n) * 500 * time.Millisecond }
	}
	return c
}

// request is one HTTP exchange to make.
type request struct {
	endpoint    Endpoint
	method      string
	url         string
	token       AccessToken // sent as a Bearer token when not empty
	contentType string
	body        io.Reader
	length      int64 // Content-Length; -1 when unknown
	header      http.Header
}

// answer is what came back from a successful exchange (any HTTP status).
type answer struct {
	status int
	header http.Header
	env    envelope
	body   []byte
}

// send performs one exchange, reports it to the hook, and returns the decoded answer. The error is
// always an *Error; it is nil only for a 2xx answer without an error code.
func (c *Client) send(ctx context.Context, r request) (answer, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	// written turns true as soon as any request header is written towards a connection: from then on
	// TikTok may receive the request, so a failure is Uncertain (see ClassOf).
	var written atomic.Bool
	trace := &httptrace.ClientTrace{WroteHeaderField: func(string, []string) { written.Store(true) }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), r.method, r.url, r.body)
	if err != nil {
		return answer{}, &Error{Endpoint: r.endpoint, Class: Terminal, Err: fmt.Errorf("build request: %w", redactURLError(err))}
	}
	if r.length >= 0 {
		req.ContentLength = r.length
		if r.length == 0 {
			req.Body = http.NoBody
		}
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", c.ua)
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+string(r.token))
	}

	info := CallInfo{Endpoint: r.endpoint, Sent: c.clock.Now()}
	resp, err := c.hc.Do(req)
	if err != nil {
		info.Answered = c.clock.Now()
		e := &Error{Endpoint: r.endpoint, Class: Retryable, Err: redactURLError(err)}
		if written.Load() {
			e.Class = Uncertain
		}
		info.Class = e.Class
		c.report(info)
		return answer{}, e
	}
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes+1))
	_ = resp.Body.Close()
	info.Answered = c.clock.Now()
	info.HTTPStatus = resp.StatusCode
	a := answer{status: resp.StatusCode, header: resp.Header, body: body}
	e := c.judge(r.endpoint, &a, readErr)
	if e != nil {
		info.Code, info.Class = e.Code, e.Class
	}
	c.report(info)
	if e != nil {
		return a, e
	}
	return a, nil
}

// judge decides whether an answer is a success, parsing the error body whatever the status.
func (c *Client) judge(ep Endpoint, a *answer, readErr error) *Error {
	ok := a.status >= 200 && a.status < 300
	if readErr == nil && len(a.body) > maxAnswerBytes {
		readErr = fmt.Errorf("answer larger than %d bytes", maxAnswerBytes)
	}
	var decodeErr error
	if readErr == nil {
		a.env, decodeErr = decodeEnvelope(a.body)
	}
	e := &Error{
		Endpoint:   ep,
		HTTPStatus: a.status,
		Code:       a.env.code(),
		Message:    a.env.message(),
		LogID:      a.env.logID(),
		RetryAfter: c.retryAfter(a.header),
	}
	if ok && readErr == nil && decodeErr != nil && ep == EndpointUpload {
		// The upload host's 2xx bodies are not documented; the status alone says the chunk is stored.
		decodeErr = nil
	}
	switch {
	case a.status >= 300 && a.status < 400:
		// A redirect is never followed (it would carry the call, token or client secret included, to a host
		// nobody admitted), and TikTok's API does not redirect. A 3xx is an answer that did not perform the
		// call: the server that gave it created, refreshed or cancelled nothing, so it is certain and
		// Terminal (even on an init endpoint: no post can exist from it; retrying the same URL gets the same
		// redirect). Its body is not read as TikTok's.
		e.Class, e.Code, e.Message, e.LogID = Terminal, "redirect_not_followed", redirectWords(a), ""
		return e
	case readErr != nil || decodeErr != nil:
		e.Err = errors.Join(readErr, decodeErr)
		if ok {
			e.Class = Uncertain // TikTok answered "done" but we cannot read what it did
		} else {
			e.Class = classifyAnswer(ep, a.status, "", false)
		}
		return e
	case ok && e.Code == "":
		return nil
	}
	e.Class = classifyAnswer(ep, a.status, e.Code, a.env.Error.Object)
	return e
}

func (c *Client) report(info CallInfo) {
	if c.hook != nil {
		c.hook(info)
	}
}

// retryAfter parses a Retry-After header (seconds or an HTTP date); 0 when absent or unreadable,
// including a number of seconds too large for a time.Duration (it would overflow to a negative wait).
func (c *Client) retryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s < 0 || s > int64(math.MaxInt64/time.Second) {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(c.clock.Now()); d > 0 {
			return d
		}
	}
	return 0
}

// redirectWords says where a 3xx answer pointed: the target's scheme and host only (a Location may carry
// a token in its query).
func redirectWords(a *answer) string {
	to := "nowhere (no Location)"
	if loc := a.header.Get("Location"); loc != "" {
		to = "an unreadable Location"
		if u, err := url.Parse(loc); err == nil {
			to = "a relative Location"
			if u.Host != "" {
				to = u.Scheme + "://" + u.Host
			}
		}
	}
	return fmt.Sprintf("the endpoint answered HTTP %d, a redirect to %s, which is not followed", a.status, to)
}

// redactURLError strips the query from the URL inside a *url.Error: an upload URL carries its upload
// token there, and errors must not print secrets.
func redactURLError(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	cp := *ue
	cp.URL = redactURL(ue.URL)
	return &cp
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "[unparseable url]"
	}
	if u.RawQuery != "" {
		u.RawQuery = "[redacted]"
	}
	u.User = nil
	return u.String()
}

// jsonRequest builds a JSON POST to a fixed endpoint.
func (c *Client) jsonRequest(ep Endpoint, tok AccessToken, body []byte) request {
	return request{
		endpoint:    ep,
		method:      http.MethodPost,
		url:         c.base + ep.Path(),
		token:       tok,
		contentType: "application/json; charset=UTF-8",
		body:        bytes.NewReader(body),
		length:      int64(len(body)),
	}
}
