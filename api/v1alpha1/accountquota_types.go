/*
Copyright 2026 The tiktok-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// JitterStrategy is how a backoff delay is randomised (the AWS "Exponential Backoff and Jitter" formulas).
// +kubebuilder:validation:Enum=Full;Equal;Decorrelated
// +kubebuilder:validation:MaxLength=16
type JitterStrategy string

const (
	// JitterFull: sleep = random(0, min(max, initial*2^n)).
	JitterFull JitterStrategy = "Full"
	// JitterEqual: half the capped exponential delay plus a random half.
	JitterEqual JitterStrategy = "Equal"
	// JitterDecorrelated: sleep = min(max, random(initial, previous*3)).
	JitterDecorrelated JitterStrategy = "Decorrelated"
)

// RateLimit is "at most requests calls in any sliding window of length window".
type RateLimit struct {
	// requests is the number of calls allowed in any window.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100000
	Requests int32 `json:"requests"`

	// window is the length of the sliding window, a Go duration such as 1m or 24h; it must be positive.
	// +required
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') && duration(self) > duration('0s')",message="window must be a positive duration such as 1m or 24h"
	Window metav1.Duration `json:"window"`
}

// AccountLimits are the quotas the operator keeps for one account. It never sends a call that would cross
// one of them. The defaults are TikTok's documented limits.
type AccountLimits struct {
	// postInit limits each init endpoint (direct video, inbox video, photo content): every endpoint has
	// its own window of this size. TikTok documents 6 per minute per user access token.
	// +optional
	// +kubebuilder:default={requests: 6, window: "1m"}
	PostInit RateLimit `json:"postInit,omitzero"`

	// statusFetch limits /v2/post/publish/status/fetch/. TikTok documents 30 per minute.
	// +optional
	// +kubebuilder:default={requests: 30, window: "1m"}
	StatusFetch RateLimit `json:"statusFetch,omitzero"`

	// creatorInfo limits /v2/post/publish/creator_info/query/. TikTok documents 20 per minute.
	// +optional
	// +kubebuilder:default={requests: 20, window: "1m"}
	CreatorInfo RateLimit `json:"creatorInfo,omitzero"`

	// dailyPosts caps the direct posts TikTok accepts for this creator over a rolling window
	// (about 15 per 24 hours, shared by every client of the creator).
	// +optional
	// +kubebuilder:default={requests: 15, window: "24h"}
	DailyPosts RateLimit `json:"dailyPosts,omitzero"`

	// pendingShares caps the inbox drafts (Upload mode) awaiting the creator over a rolling window
	// (TikTok documents 5 per 24 hours).
	// +optional
	// +kubebuilder:default={requests: 5, window: "24h"}
	PendingShares RateLimit `json:"pendingShares,omitzero"`

	// minInterval is the least spacing between any two calls of this account (TikTok throttles
	// sub-second bursts even under the per-minute limits). A Go duration; 0s disables the spacing.
	// +optional
	// +kubebuilder:default="1s"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$')",message="minInterval must be a non-negative duration such as 1s or 500ms"
	MinInterval metav1.Duration `json:"minInterval,omitzero"`
}

// BackoffPolicy is how long the operator waits after a failed or throttled call: initial * 2^n, capped at
// max, randomised by jitter. A Retry-After header, when TikTok sends one, is a floor.
// +kubebuilder:validation:XValidation:rule="!has(self.initial) || !has(self.max) || !self.initial.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') || !self.max.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') || duration(self.max) >= duration(self.initial)",message="backoff.max must be at least backoff.initial"
type BackoffPolicy struct {
	// initial is the first delay, a positive Go duration.
	// +optional
	// +kubebuilder:default="1s"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') && duration(self) > duration('0s')",message="backoff.initial must be a positive duration such as 1s"
	Initial metav1.Duration `json:"initial,omitzero"`

	// max caps every delay, a positive Go duration not below initial.
	// +optional
	// +kubebuilder:default="10m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') && duration(self) > duration('0s')",message="backoff.max must be a positive duration such as 10m"
	Max metav1.Duration `json:"max,omitzero"`

	// jitter is the randomisation: Full, Equal or Decorrelated.
	// +optional
	// +kubebuilder:default=Full
	Jitter JitterStrategy `json:"jitter,omitempty"`
}

// AdaptivePolicy is how the operator learns a limit tighter than spec.limits from a single unexpected 429
// and probes back to the configured limit (docs/pacing.md, "Learning the real limit").
type AdaptivePolicy struct {
	// cleanWindows is the number of full windows without a 429 before a lowered limit may rise by one
	// step, tried with a single probe call (a larger number probes more rarely). Default 10.
	// +optional
	// +kubebuilder:default=10
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	CleanWindows int32 `json:"cleanWindows,omitempty"`

	// maxStretch bounds the clean stretch before a probe, which doubles after every refused probe. A
	// positive Go duration; default 24h.
	// +optional
	// +kubebuilder:default="24h"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') && duration(self) > duration('0s')",message="adaptive.maxStretch must be a positive duration such as 24h"
	MaxStretch metav1.Duration `json:"maxStretch,omitzero"`

	// penalty is the guess of the lockout a 429 may have started: after a 429 that the window explains,
	// the account sends nothing until the window frees a slot under the learned limit and then for this
	// long (a lockout runs on past the window and every call sent into it extends it), nor before the
	// Retry-After. A Go duration. Unset: one slot of the learned limit (the window divided by it; TikTok
	// publishes no lockout length, and a guess too long costs one slot while a call sent into a lockout
	// costs a refusal and extends it); 0s: none, the window alone decides when the next call goes.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$')",message="adaptive.penalty must be a non-negative duration such as 0s or 5m"
	Penalty *metav1.Duration `json:"penalty,omitempty"`
}

// AccountQuotaSpec is one TikTok app x one authorized creator account and how the operator paces it.
type AccountQuotaSpec struct {
	// credentialsSecretRef names the Secret, in the same namespace, that holds the keys client_key,
	// client_secret, access_token and refresh_token. The Secret must carry the label
	// publish.tiktok-operator.dev/credentials: "true". The operator writes refreshed tokens (and
	// access_token_expires_at, refresh_token_expires_at) back into it.
	// +required
	CredentialsSecretRef LocalObjectReference `json:"credentialsSecretRef"`

	// endpoint is the base URL of TikTok's Open API. It must be https://, or http:// to a loopback
	// address only (127.x.x.x, localhost, [::1]) for the tiktok-sim simulator. Whether the operator calls
	// it is the manager's decision, not this object's: only endpoints on the manager's --allowed-endpoints
	// list (default https://open.tiktokapis.com alone; Helm value allowedEndpoints) are ever sent a request,
	// and so the account's tokens and client secret. Any other endpoint leaves the account Ready=False
	// with reason EndpointNotAllowed, and nothing is sent to it.
	// +optional
	// +kubebuilder:default="https://open.tiktokapis.com"
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.matches('^https://[a-zA-Z0-9[][^/?#@ ]*([/?#].*)?$') || self.matches('^http://(localhost|127[.][0-9]{1,3}[.][0-9]{1,3}[.][0-9]{1,3}|[[]::1[]])(:[0-9]{1,5})?([/?#].*)?$')",message="endpoint must be an https:// URL, or http:// to a loopback address only (127.x.x.x, localhost, [::1])"
	Endpoint string `json:"endpoint,omitempty"`

	// limits are the quotas the operator keeps for this account. Every limit defaults to TikTok's
	// documented value.
	// +optional
	// +kubebuilder:default={}
	Limits AccountLimits `json:"limits,omitzero"`

	// backoff is the delay after a failed or throttled call (1s doubling up to 10m, Full jitter by default).
	// +optional
	// +kubebuilder:default={}
	Backoff BackoffPolicy `json:"backoff,omitzero"`

	// adaptive is how the operator learns a tighter limit from one unexpected 429 and probes back to
	// spec.limits (a probe after 10 clean windows, at most every 24h after refused probes, no penalty
	// wait by default).
	// +optional
	// +kubebuilder:default={}
	Adaptive AdaptivePolicy `json:"adaptive,omitzero"`

	// allowedMediaPrefixes restricts the media URLs of this account's posts: a post whose video or photo
	// URL lies under none of these prefixes is refused (reason MediaURLNotAllowed), which keeps the
	// operator from being used to fetch arbitrary URLs. Every entry is an https:// URL with a host, an
	// optional port and an optional path, and nothing else: no userinfo, no query or fragment, no
	// dot-segments, encoded slashes, backslashes or %25.
	// A media URL lies under a prefix when both are https, their hosts are equal (case aside) and so are
	// their ports (none and 443 are the same; a prefix without a port admits no other port), and its
	// path, percent-decoded and cleaned of . and .., continues the prefix's path at a segment boundary:
	// https://cdn.example.com/public admits /public and /public/a.mp4 but not /publicity/a.mp4;
	// https://cdn.example.com/public/ admits what lies below /public/; https://cdn.example.com admits the
	// whole host. A media URL with userinfo, an encoded slash or a backslash lies under no prefix.
	// Empty allows every https:// URL for PullFromURL posts (TikTok downloads those, from prefixes
	// verified for the app); FileUpload posts, whose media the operator itself downloads, need a
	// matching entry.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=2048
	// +kubebuilder:validation:items:XValidation:rule="self.matches('^https://[a-zA-Z0-9[][^/?# ]*([/?#].*)?$')",message="allowedMediaPrefixes: every entry must be an https:// URL prefix with a host, such as https://cdn.example.com/ (scheme https, then the host)"
	// +kubebuilder:validation:items:XValidation:rule="!self.matches('^[^/?#]*//[^/?#]*@')",message="allowedMediaPrefixes: an entry must carry no userinfo (user@ before the host): https://cdn.example.com@evil.io/ is the host evil.io"
	// +kubebuilder:validation:items:XValidation:rule="!self.contains('?') && !self.contains('#')",message="allowedMediaPrefixes: an entry must carry no query (?) or fragment (#): a prefix is a scheme, a host, an optional port and a path"
	// +kubebuilder:validation:items:XValidation:rule="!self.matches('(?i)/([.]|%2e)([.]|%2e)?(/|;|$)')",message="allowedMediaPrefixes: an entry must carry no dot-segments (/./ or /../, plain or percent-encoded as %2e)"
	// +kubebuilder:validation:items:XValidation:rule="!self.matches('(?i)%(2f|5c|25)') && !self.contains('\\\\')",message="allowedMediaPrefixes: an entry must carry no encoded slashes or backslashes (%2F, %5C), no backslashes and no %25 (double encoding)"
	AllowedMediaPrefixes []string `json:"allowedMediaPrefixes,omitempty"`

	// suspend stops every call of this account while true: no post is sent, no status is polled, no
	// token is refreshed. Posts wait (their Ready condition says Suspended) and keep their order, which
	// comes from their priority, publishAt and creation time.
	// +optional
	// +kubebuilder:default=false
	Suspend bool `json:"suspend,omitempty"`
}

// CreatorInfo is what TikTok's creator_info endpoint said about the account.
type CreatorInfo struct {
	// username is the creator's TikTok handle (creator_username), at most 256 characters (cut).
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Username string `json:"username,omitempty"`
	// nickname is the creator's display name (creator_nickname), at most 256 characters (cut).
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Nickname string `json:"nickname,omitempty"`
	// avatarURL is the creator's avatar (creator_avatar_url); left out when longer than 2048 characters.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	AvatarURL string `json:"avatarURL,omitempty"`
	// privacyLevelOptions are the privacy levels this creator allows; a post whose privacyLevel is not
	// one of them fails with reason PrivacyLevelNotAllowed. Kept as plain strings so a level TikTok adds
	// later can still be recorded. At most 8 options of at most 64 characters: a longer option is left
	// out, and TikTok's four known levels are kept first when there are more than 8.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=8
	// +kubebuilder:validation:items:MaxLength=64
	PrivacyLevelOptions []string `json:"privacyLevelOptions,omitempty"`
	// maxVideoPostDurationSec is the longest video this creator may post, in seconds.
	// +optional
	MaxVideoPostDurationSec int32 `json:"maxVideoPostDurationSec,omitempty"`
	// commentDisabled is true when the creator turned comments off in the app.
	// +optional
	CommentDisabled bool `json:"commentDisabled,omitempty"`
	// duetDisabled is true when the creator turned duets off in the app.
	// +optional
	DuetDisabled bool `json:"duetDisabled,omitempty"`
	// stitchDisabled is true when the creator turned stitches off in the app.
	// +optional
	StitchDisabled bool `json:"stitchDisabled,omitempty"`
	// fetchedAt is when this information was fetched.
	// +optional
	FetchedAt *metav1.Time `json:"fetchedAt,omitempty"`
}

// TokenStatus describes the account's tokens (never the tokens themselves).
type TokenStatus struct {
	// accessTokenExpiresAt is when the current access token expires, from TikTok's expires_in.
	// Set after the credentials are first read or refreshed; cleared when the Secret is missing.
	// +optional
	AccessTokenExpiresAt *metav1.Time `json:"accessTokenExpiresAt,omitempty"`
	// refreshTokenExpiresAt is when the current refresh token expires, from TikTok's refresh_expires_in.
	// Set after the first refresh; cleared when the Secret is missing.
	// +optional
	RefreshTokenExpiresAt *metav1.Time `json:"refreshTokenExpiresAt,omitempty"`
	// lastRefreshTime is when the operator last refreshed the tokens successfully. Set after every
	// successful refresh; never cleared.
	// +optional
	LastRefreshTime *metav1.Time `json:"lastRefreshTime,omitempty"`
}

// LimitUsage is one limit as the pacing engine sees it now (for dashboards).
type LimitUsage struct {
	// name of the limit: postInit (or postInit/<call> per init endpoint), statusFetch, creatorInfo,
	// dailyPosts, pendingShares.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	Name string `json:"name"`
	// limit is the configured number of calls per window (spec.limits).
	// +optional
	Limit int32 `json:"limit,omitempty"`
	// effectiveLimit is the number the engine allows now: lowered after an unexpected 429, raised back
	// after clean windows, never above limit.
	// +optional
	EffectiveLimit int32 `json:"effectiveLimit,omitempty"`
	// window is the length of the sliding window.
	// +optional
	Window metav1.Duration `json:"window,omitzero"`
	// used is the number of calls counted in the current window.
	// +optional
	Used int32 `json:"used,omitempty"`
	// nextSlotAt is the earliest time a call of this kind may go; unset when a slot is free now.
	// +optional
	NextSlotAt *metav1.Time `json:"nextSlotAt,omitempty"`
	// loweredAt is when the effective limit was last lowered by an unexpected 429, or last confirmed one
	// step up by a probe: the start of the clean stretch the next probe counts from. Set while
	// effectiveLimit is below limit (or a raised step awaits its probe); cleared once the limit is back
	// at limit and confirmed.
	// +optional
	LoweredAt *metav1.Time `json:"loweredAt,omitempty"`
	// nextProbeAt is when the clean stretch ends (spec.adaptive.cleanWindows windows, doubled after each
	// refused probe, at most spec.adaptive.maxStretch) and the limit may rise one step, tried with a
	// single probe call; a time in the past means a raised step awaits its probe. Set and cleared with
	// loweredAt.
	// +optional
	NextProbeAt *metav1.Time `json:"nextProbeAt,omitempty"`
}

// QueueStatus counts this account's posts.
type QueueStatus struct {
	// waiting is the number of posts in the account's pacing queue: due, and waiting for an init call (a
	// Scheduled post joins it at its publishAt, so it is not counted before).
	// +optional
	Waiting int32 `json:"waiting,omitempty"`
	// inFlight is the number of posts between their init call and a final answer (Publishing, Processing).
	// +optional
	InFlight int32 `json:"inFlight,omitempty"`
	// publishedLast24h is the number of posts Published or Delivered in the last 24 hours.
	// +optional
	PublishedLast24h int32 `json:"publishedLast24h,omitempty"`
	// failedLast24h is the number of posts that became Failed in the last 24 hours.
	// +optional
	FailedLast24h int32 `json:"failedLast24h,omitempty"`
}

// RecordedCall is one call the pacing engine counted against the account's windows.
type RecordedCall struct {
	// call is the kind of call: DirectVideoInit, InboxVideoInit, DirectPhotoInit, UploadPhotoInit,
	// StatusFetch, CreatorInfo.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	Call string `json:"call"`
	// sent is when the request left the operator.
	// +required
	Sent metav1.MicroTime `json:"sent"`
	// answered is when the answer arrived; unset while the call was in flight at checkpoint time
	// (the engine then counts it until sent plus the window, the worst case).
	// +optional
	Answered *metav1.MicroTime `json:"answered,omitempty"`
	// outcome is what the pacing engine made of the call, which decides the windows it still counts in:
	// Pending (no answer yet when the checkpoint was taken: counted everywhere), Accepted, Rejected (a
	// certain refusal: its rate window only), Throttled (a 429: its rate window only) or Uncertain (it may
	// have been taken: counted everywhere). Not TikTok's error code: the posts' attemptHistory and
	// lastError carry those.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	Outcome string `json:"outcome,omitempty"`
}

// PacingCheckpoint is the pacing engine's state, saved so that a restarted operator resumes it and the
// first minute after a restart is never over quota.
type PacingCheckpoint struct {
	// takenAt is when the checkpoint was taken.
	// +required
	TakenAt metav1.MicroTime `json:"takenAt"`
	// calls are the calls still inside one of the account's windows at takenAt, oldest first.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=500
	Calls []RecordedCall `json:"calls,omitempty"`

	// episodeStart is when the current episode of unexpected 429s began: a 429 for a call sent before it
	// belongs to that episode and does not lower the limits again. Set when TikTok throttles a call the
	// engine believed inside the quota; cleared once no cooldown runs and no limit is lowered.
	// +optional
	EpisodeStart *metav1.MicroTime `json:"episodeStart,omitempty"`

	// lastCooldown is the last cooldown delay the engine chose (Decorrelated jitter grows from it). Set
	// and cleared with episodeStart.
	// +optional
	LastCooldown *metav1.Duration `json:"lastCooldown,omitempty"`

	// lowered lists the windows whose effective limit the engine lowered after an unexpected 429 and has
	// not raised back to spec.limits yet, so that a restart keeps what was learned. An entry is added when
	// a limit is lowered and removed once it is back at spec.limits.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	Lowered []LoweredLimit `json:"lowered,omitempty"`
}

// LoweredLimit is one window whose effective limit is below the configured one.
type LoweredLimit struct {
	// name of the window, as in status.usage (postInit/<call>, statusFetch, creatorInfo, ...).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	Name string `json:"name"`
	// effective is the number of calls per window the engine allows now.
	// +required
	// +kubebuilder:validation:Minimum=1
	Effective int32 `json:"effective"`
	// since is the start of the current clean stretch: the limit rises by one after each clean window
	// counted from here.
	// +required
	Since metav1.MicroTime `json:"since"`
	// failedAt is the effective limit that drew the last unexpected 429 (climbing back to it is slower);
	// unset when unknown.
	// +optional
	// +kubebuilder:validation:Minimum=0
	FailedAt int32 `json:"failedAt,omitempty"`
	// probeMultiplier stretches the clean stretch needed before the limit climbs back to failedAt; it
	// doubles each time that level fails again. Unset means 1.
	// +optional
	// +kubebuilder:validation:Minimum=0
	ProbeMultiplier int32 `json:"probeMultiplier,omitempty"`
}

// AccountQuotaStatus is what the operator knows of the account. Written coalesced, not on every call.
type AccountQuotaStatus struct {
	// observedGeneration is the metadata.generation the controller last acted on. Set on every
	// reconcile that writes status; never cleared.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready (credentials read and creator info fetched: the account can post), Reconciling,
	// Stalled (a terminal problem such as CredentialsInvalid or AccountBanned), Throttled (an account
	// cooldown is running), Contended (reason AccountHeldElsewhere: a manager found the account's Lease
	// held by another manager and left the account alone; the message names the holder). Ready is set
	// from the first reconcile; Reconciling and Stalled are removed when false; Throttled is removed when
	// the cooldown ends; Contended is set by a manager that does not hold the account, and removed by the
	// holder when it names another holder or was not set again for ten lease durations.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`

	// creator is what TikTok's creator_info said. Set after the first successful creator_info call and
	// refreshed periodically; cleared when the credentials change to another account.
	// +optional
	Creator *CreatorInfo `json:"creator,omitempty"`

	// token describes the tokens' lifetimes (never the tokens). Set once the credentials were read;
	// cleared when the Secret is missing.
	// +optional
	Token *TokenStatus `json:"token,omitempty"`

	// usage is one entry per limit, for dashboards. Set from the first reconcile; rewritten coalesced.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=32
	Usage []LimitUsage `json:"usage,omitempty"`

	// throttledUntil is the end of the account cooldown after an unexpected 429: no call goes before it.
	// Set when TikTok throttles a call the engine believed was inside the quota; cleared when the
	// cooldown ends.
	// +optional
	ThrottledUntil *metav1.Time `json:"throttledUntil,omitempty"`

	// consecutiveThrottles counts unexpected 429s without a successful call in between; it drives the
	// cooldown's exponential backoff. Reset to 0 by the next successful call.
	// +optional
	ConsecutiveThrottles int32 `json:"consecutiveThrottles,omitempty"`

	// queue counts this account's posts by state. Set from the first reconcile; rewritten coalesced.
	// +optional
	Queue *QueueStatus `json:"queue,omitempty"`

	// checkpoint is the pacing engine's state, so a restart resumes it. Written coalesced after calls;
	// never cleared (calls older than every window are dropped from it).
	// +optional
	Checkpoint *PacingCheckpoint `json:"checkpoint,omitempty"`
}

// AccountQuota is one TikTok app x one authorized creator account: its credentials, its quotas, and the
// pacing state the operator keeps so that TikTok never sees a call over quota.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=aq,categories=tiktok
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=".status.conditions[?(@.type==\"Ready\")].status"
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=".status.conditions[?(@.type==\"Ready\")].reason"
// +kubebuilder:printcolumn:name="Waiting",type=integer,JSONPath=".status.queue.waiting"
// +kubebuilder:printcolumn:name="In Flight",type=integer,JSONPath=".status.queue.inFlight",priority=1
// +kubebuilder:printcolumn:name="Published 24h",type=integer,JSONPath=".status.queue.publishedLast24h"
// +kubebuilder:printcolumn:name="Throttled Until",type=string,JSONPath=".status.throttledUntil",priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=".metadata.creationTimestamp"
type AccountQuota struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the account's credentials and quotas.
	// +required
	Spec AccountQuotaSpec `json:"spec"`

	// status is what the operator knows of the account.
	// +optional
	Status AccountQuotaStatus `json:"status,omitzero"`
}

// AccountQuotaList is a list of AccountQuotas.
// +kubebuilder:object:root=true
type AccountQuotaList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AccountQuota `json:"items"`
}

func init() {
	SchemeBuilder.Register(&AccountQuota{}, &AccountQuotaList{})
}
