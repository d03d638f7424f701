package controllers

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktok"
)

// Values TikTok chooses reach status fields, Events and metric labels only through this file: each is
// made valid UTF-8 (invalid bytes become U+FFFD: a label value that is not UTF-8 panics the Prometheus
// client) and cut, on a character boundary, to the bound the CRD admits (api/v1alpha1/bounds.go): a value
// over it would make every status write of the object fail with 422, and the object would be stuck.

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

// boundCode is an error code or fail_reason as status records it.
func boundCode(code string) string { return truncate(code, v1alpha1.MaxErrorCodeLength) }

// boundError cuts the fields of a PostError that TikTok chooses to their bounds.
func boundError(e v1alpha1.PostError) *v1alpha1.PostError {
	e.Code = boundCode(e.Code)
	e.Message = truncate(e.Message, v1alpha1.MaxErrorMessageLength)
	e.LogID = truncate(e.LogID, v1alpha1.MaxLogIDLength)
	return &e
}

// usablePublishID says whether a publish id can be recorded as it is: a cut or repaired one would name
// another post (or none) in every later status/fetch.
func usablePublishID(id string) bool {
	return utf8.ValidString(id) && utf8.RuneCountInString(id) <= v1alpha1.MaxPublishIDLength
}

// boundPostIDs turns TikTok's post ids into status.postIDs: the first MaxPostIDs of them.
func boundPostIDs(ids tiktok.PostIDs) []string {
	if len(ids) == 0 {
		return nil
	}
	out := make([]string, 0, min(len(ids), v1alpha1.MaxPostIDs))
	for _, id := range ids[:min(len(ids), v1alpha1.MaxPostIDs)] {
		out = append(out, truncate(fmt.Sprint(id), v1alpha1.MaxPostIDLength))
	}
	return out
}

// knownPrivacyLevels are TikTok's privacy levels, kept first when a creator_info answer lists more
// options than status admits.
var knownPrivacyLevels = []string{
	tiktok.PrivacyPublic, tiktok.PrivacyFriends, tiktok.PrivacyFollowers, tiktok.PrivacySelfOnly,
}

// creatorStatusOf turns a creator_info answer into status.creator: names cut to their bound, an avatar
// URL over its bound left out (a cut URL is a wrong URL), privacy options over their bound left out (a
// cut option is another word), repeats dropped, and at most MaxPrivacyLevelOptions of them, TikTok's
// known levels first when there are more.
func creatorStatusOf(info *tiktok.CreatorInfo) *v1alpha1.CreatorInfo {
	c := &v1alpha1.CreatorInfo{
		Username:                truncate(info.Username, v1alpha1.MaxCreatorNameLength),
		Nickname:                truncate(info.Nickname, v1alpha1.MaxCreatorNameLength),
		MaxVideoPostDurationSec: info.MaxVideoPostDurationSec,
		CommentDisabled:         info.CommentDisabled, DuetDisabled: info.DuetDisabled, StitchDisabled: info.StitchDisabled,
	}
	if utf8.ValidString(info.AvatarURL) && utf8.RuneCountInString(info.AvatarURL) <= v1alpha1.MaxAvatarURLLength {
		c.AvatarURL = info.AvatarURL
	}
	var opts []string
	for _, o := range info.PrivacyLevelOptions {
		if utf8.ValidString(o) && utf8.RuneCountInString(o) <= v1alpha1.MaxPrivacyLevelOptionLength && !slices.Contains(opts, o) {
			opts = append(opts, o)
		}
	}
	if len(opts) > v1alpha1.MaxPrivacyLevelOptions {
		known := slices.DeleteFunc(slices.Clone(opts), func(o string) bool { return !slices.Contains(knownPrivacyLevels, o) })
		others := slices.DeleteFunc(opts, func(o string) bool { return slices.Contains(knownPrivacyLevels, o) })
		opts = append(known, others...)[:v1alpha1.MaxPrivacyLevelOptions]
	}
	c.PrivacyLevelOptions = opts
	return c
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
