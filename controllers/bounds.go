package controllers

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/tiktok-operator/tiktok-operator/internal/tiktok"
)

// Values TikTok chooses are made valid UTF-8 (invalid bytes become U+FFFD: a label value that is not UTF-8
// panics the Prometheus client) and cut on a character boundary before they reach a condition, an Event or
// a metric label.

// truncate makes s valid UTF-8 and cuts it to at most n characters (runes, as the API server counts a
// string's maxLength), ending a cut string with "...".
func truncate(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	tail := "..."
	if n < len(tail) {
		tail = ""
	}
	i := 0
	for range n - len(tail) {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i] + tail
}

// truncateBytes is truncate by bytes, for an Event's note (the API server takes at most 1024 bytes).
func truncateBytes(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	i := 0
	for i < len(s) {
		_, size := utf8.DecodeRuneInString(s[i:])
		if i+size > n-3 {
			break
		}
		i += size
	}
	return s[:i] + "..."
}

// maxEventNote is the API server's bound on an Event's note (events.k8s.io/v1), in bytes.
const maxEventNote = 1024

// eventNote formats an Event's note within its bound.
func eventNote(format string, args ...any) string {
	return truncateBytes(fmt.Sprintf(format, args...), maxEventNote)
}

// metricCodes are the code label values besides ok, transport and the http_ words: the error codes
// TikTok documents for the Content Posting API and its OAuth token endpoint. Any other code is counted
// as "other", so a code TikTok (or a proxy) invents adds no series.
var metricCodes = map[string]bool{
	// Content Posting API.
	"rate_limit_exceeded":                                true,
	"access_token_invalid":                               true,
	"scope_not_authorized":                               true,
	"invalid_param":                                      true,
	"invalid_params":                                     true,
	"spam_risk_too_many_posts":                           true,
	"spam_risk_too_many_pending_share":                   true,
	"spam_risk_user_banned_from_posting":                 true,
	"reached_active_user_cap":                            true,
	"unaudited_client_can_only_post_to_private_accounts": true,
	"url_ownership_unverified":                           true,
	"privacy_level_option_mismatch":                      true,
	"app_version_check_failed":                           true,
	"invalid_publish_id":                                 true,
	"token_not_authorized_for_specified_publish_id":      true,
	"publish_not_cancellable":                            true,
	"internal_error":                                     true,
	// OAuth (the token endpoint's "error").
	"invalid_request":         true,
	"invalid_client":          true,
	"invalid_grant":           true,
	"unauthorized_client":     true,
	"unsupported_grant_type":  true,
	"invalid_scope":           true,
	"server_error":            true,
	"temporarily_unavailable": true,
}

// metricHTTPStatuses are the statuses of an answer without a code that keep their own label value;
// any other is counted by its class (http_4xx, http_5xx, http_other).
var metricHTTPStatuses = map[int]bool{400: true, 401: true, 403: true, 404: true, 408: true, 413: true,
	429: true, 500: true, 502: true, 503: true, 504: true}

// callCode is the code label of a call: "ok", one of metricCodes, "other" for a code TikTok does not
// document, "transport" when no answer came, or an http_ word for an answer without a code. The set is
// fixed: no answer adds a series.
func callCode(info tiktok.CallInfo) string {
	switch {
	case info.Code != "" && metricCodes[info.Code]:
		return info.Code
	case info.Code != "":
		return "other"
	case info.HTTPStatus == 0:
		return "transport"
	case info.HTTPStatus >= 200 && info.HTTPStatus < 300:
		return "ok"
	case metricHTTPStatuses[info.HTTPStatus]:
		return fmt.Sprintf("http_%d", info.HTTPStatus)
	case info.HTTPStatus >= 400 && info.HTTPStatus < 500:
		return "http_4xx"
	case info.HTTPStatus >= 500 && info.HTTPStatus < 600:
		return "http_5xx"
	default:
		return "http_other"
	}
}
