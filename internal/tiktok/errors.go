package tiktok

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Class tells the caller what it may do after a call. The zero value, OK, is the class of a nil error.
type Class int

const (
	// OK: the call succeeded.
	OK Class = iota
	// RateLimited: TikTok refused the call for quota (HTTP 429 or rate_limit_exceeded). It did not take
	// the request; retry after a delay (RetryAfter, when TikTok sends one, is a floor).
	RateLimited
	// TokenInvalid: the access token is expired or revoked (access_token_invalid). Refresh the token,
	// then retry once (see WithRefresh). TikTok did not take the request.
	TokenInvalid
	// Retryable: TikTok certainly did not act on the request and a later retry may succeed: an HTTP 5xx
	// (on an init endpoint, only one carrying TikTok's error envelope), internal_error, or a transport
	// failure before any byte of the request left this process.
	Retryable
	// Terminal: TikTok answered and refused; retrying the same request will not help (most 4xx codes).
	// Some codes lift with time (spam_risk_too_many_posts, spam_risk_too_many_pending_share): read Code.
	Terminal
	// Uncertain: the request may have reached TikTok and been acted on, but no usable answer came back
	// (timeout or reset after the request was written, an unreadable 2xx body, a gateway's 5xx page
	// answering an init call). For an init call the post may exist; a blind retry may publish it twice.
	Uncertain
)

var classNames = [...]string{"OK", "RateLimited", "TokenInvalid", "Retryable", "Terminal", "Uncertain"}

// String returns the class name, suitable as a metric label.
func (c Class) String() string {
	if c < 0 || int(c) >= len(classNames) {
		return fmt.Sprintf("Class(%d)", int(c))
	}
	return classNames[c]
}

// Error is the one error type the client returns. It never holds a token: messages come from TikTok's
// error body, and URLs are stripped of their query (the upload URL carries an upload token).
type Error struct {
	Endpoint   Endpoint
	HTTPStatus int    // 0 when no answer arrived
	Code       string // TikTok's error.code (or the OAuth "error" string); "" when none
	Message    string
	LogID      string
	RetryAfter time.Duration // from a Retry-After header, when present; TikTok does not document one
	Class      Class
	Err        error // the underlying transport or decoding error, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "tiktok %s", e.Endpoint)
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, " HTTP %d", e.HTTPStatus)
	}
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.LogID != "" {
		fmt.Fprintf(&b, " (log_id %s)", e.LogID)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	fmt.Fprintf(&b, " [%s]", e.Class)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ClassOf returns the class of err, and OK for nil. For an *Error anywhere in the chain it returns that
// error's Class, which the client sets by these rules, in order:
//
//  0. A redirect (any 3xx) is never followed and is Terminal, code redirect_not_followed: the server that
//     answered it did not perform the call (TikTok's API does not redirect), and the same call would get
//     the same answer.
//  1. An answer with a parseable error body or a 4xx status is certain: TikTok decided and did not take
//     the request. rate_limit_exceeded or 429 is RateLimited; access_token_invalid (or a 401 without a
//     code) is TokenInvalid; internal_error, server_error, temporarily_unavailable or a 5xx is Retryable
//     (TikTok documents 5xx as "retry later"); everything else is Terminal.
//  2. Except: on an init endpoint (video/init, inbox/video/init, content/init) a 5xx is Retryable only
//     when its body is TikTok's error envelope, {"error":{"code":...,"message":...,"log_id":...}} (the
//     code may be blank or any of the retryable ones). A 5xx without it (a gateway's 502 or 504 page,
//     an empty or unreadable body, JSON of another shape) may come from a proxy after TikTok took the
//     call, so it is Uncertain. On the other endpoints (status/fetch, creator_info, cancel, the OAuth
//     token, the upload PUT) nothing is created twice by a retry, and any 5xx stays Retryable.
//  3. A 2xx answer whose body cannot be read or parsed is Uncertain: TikTok may have acted.
//  4. A transport failure (including the context deadline) is Retryable if it happened before the
//     request's headers were written to a connection (DNS, dial refused, TLS, no connection yet), and
//     Uncertain from the moment a header byte may have left: a timeout after the body was sent, a
//     reset while waiting for the answer, a body cut off mid-answer.
//  5. On the OAuth token endpoint an error given as OAuth's string "error" (with any status, 200 included)
//     is Terminal for the client errors of RFC 6749 (invalid_request, invalid_client, invalid_grant,
//     unauthorized_client, unsupported_grant_type, invalid_scope: the credentials or the request are
//     wrong), RateLimited for rate_limit_exceeded or a 429, and Retryable otherwise (server_error,
//     temporarily_unavailable, and any code the client does not know).
//
// An error that did not come from the client is classified as Retryable if it is a context error
// (nothing was sent on its behalf) and Terminal otherwise.
func ClassOf(err error) Class {
	if err == nil {
		return OK
	}
	var te *Error
	if errors.As(err, &te) {
		return te.Class
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return Retryable
	}
	return Terminal
}

// classifyAnswer maps an answer to a class: rules 1 and 2 of ClassOf. enveloped says the body held
// TikTok's error envelope (an "error" object).
func classifyAnswer(ep Endpoint, status int, code string, enveloped bool) Class {
	if ep == EndpointOAuthToken && code != "" && !enveloped {
		return classifyOAuth(status, code)
	}
	c := classify(status, code)
	if c == Retryable && status >= 500 && ep.IsInit() && !enveloped {
		return Uncertain
	}
	return c
}

// oauthClientErrors are the OAuth error codes (RFC 6749, section 5.2) that say the request or the
// credentials are wrong: sending them again cannot help.
var oauthClientErrors = map[string]bool{
	"invalid_request": true, "invalid_client": true, "invalid_grant": true,
	"unauthorized_client": true, "unsupported_grant_type": true, "invalid_scope": true,
}

// classifyOAuth maps the token endpoint's OAuth error (a string "error", whatever the HTTP status: TikTok
// is reported to answer them with HTTP 200) to a class: rule 5 of ClassOf.
func classifyOAuth(status int, code string) Class {
	switch {
	case oauthClientErrors[code]:
		return Terminal
	case code == "rate_limit_exceeded" || status == 429:
		return RateLimited
	}
	return Retryable // server_error, temporarily_unavailable, and codes this client does not know
}

// classify maps an answer TikTok gave (status and error code) to a class: rule 1 of ClassOf.
func classify(status int, code string) Class {
	switch code {
	case "rate_limit_exceeded":
		return RateLimited
	case "access_token_invalid":
		return TokenInvalid
	case "internal_error", "server_error", "temporarily_unavailable":
		return Retryable
	}
	switch {
	case status == 429:
		return RateLimited
	case status == 401 && code == "":
		return TokenInvalid
	case status >= 500:
		return Retryable
	}
	return Terminal
}
