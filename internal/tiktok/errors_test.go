package tiktok

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestClassOf(t *testing.T) {
	wrapped := fmt.Errorf("publishing: %w", &Error{Endpoint: EndpointVideoInit, Class: Uncertain})
	for _, tc := range []struct {
		err  error
		want Class
	}{
		{nil, OK},
		{&Error{Class: RateLimited}, RateLimited},
		{wrapped, Uncertain},
		{context.DeadlineExceeded, Retryable},
		{fmt.Errorf("x: %w", context.Canceled), Retryable},
		{errors.New("something else"), Terminal},
	} {
		if got := ClassOf(tc.err); got != tc.want {
			t.Errorf("ClassOf(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		status int
		code   string
		want   Class
	}{
		{429, "rate_limit_exceeded", RateLimited},
		{200, "rate_limit_exceeded", RateLimited},
		{429, "", RateLimited},
		{401, "access_token_invalid", TokenInvalid},
		{401, "", TokenInvalid},
		{401, "scope_not_authorized", Terminal},
		{500, "", Retryable},
		{503, "internal_error", Retryable},
		{200, "internal_error", Retryable},
		{400, "invalid_param", Terminal},
		{403, "spam_risk_too_many_posts", Terminal},
		{403, "privacy_level_option_mismatch", Terminal},
		{400, "invalid_grant", Terminal},
		{503, "temporarily_unavailable", Retryable},
	} {
		if got := classify(tc.status, tc.code); got != tc.want {
			t.Errorf("classify(%d, %q) = %v, want %v", tc.status, tc.code, got, tc.want)
		}
	}
}

func TestClassString(t *testing.T) {
	for c, want := range map[Class]string{OK: "OK", RateLimited: "RateLimited", TokenInvalid: "TokenInvalid", Retryable: "Retryable", Terminal: "Terminal", Uncertain: "Uncertain", Class(99): "Class(99)"} {
		if got := c.String(); got != want {
			t.Errorf("%d: %q, want %q", int(c), got, want)
		}
	}
}

func TestClassifyAnswer(t *testing.T) {
	for _, tc := range []struct {
		ep        Endpoint
		status    int
		code      string
		enveloped bool
		want      Class
	}{
		{EndpointVideoInit, 502, "", false, Uncertain},
		{EndpointInboxInit, 504, "", false, Uncertain},
		{EndpointContentInit, 500, "server_error", false, Uncertain}, // an OAuth-style string is not the envelope
		{EndpointVideoInit, 500, "internal_error", true, Retryable},
		{EndpointVideoInit, 503, "", true, Retryable},
		{EndpointVideoInit, 503, "rate_limit_exceeded", true, RateLimited},
		{EndpointVideoInit, 200, "internal_error", true, Retryable},
		{EndpointVideoInit, 400, "invalid_param", true, Terminal},
		{EndpointVideoInit, 429, "", false, RateLimited},
		{EndpointStatusFetch, 502, "", false, Retryable},
		{EndpointUpload, 500, "", false, Retryable},
		{EndpointOAuthToken, 503, "", false, Retryable},
	} {
		if got := classifyAnswer(tc.ep, tc.status, tc.code, tc.enveloped); got != tc.want {
			t.Errorf("classifyAnswer(%s, %d, %q, %v) = %v, want %v", tc.ep, tc.status, tc.code, tc.enveloped, got, tc.want)
		}
	}
}
