package controllers

import (
	"net/http"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/clock"

	"github.com/tiktok-operator/tiktok-operator/internal/identity"
	"github.com/tiktok-operator/tiktok-operator/internal/pacing"
)

// Options tune the controllers. The zero value of every field means "the production default" (see
// withDefaults), so tests set only what they compress.
type Options struct {
	// AccountSelector restricts this process to the AccountQuotas whose labels match, and to their posts:
	// several releases with disjoint selectors shard a fleet, and an account never splits across processes.
	AccountSelector labels.Selector
	// MaxConcurrentReconciles bounds the reconciles running at once, per controller. Once queue heads,
	// kicks and a post's reads of its own writes went ahead of the bulk of the work queue, more workers
	// stopped paying: the API server's CPU is the limit at scale, and each write in flight slows the next
	// intent write at a window's boundary (measured in docs/scale.md and docs/benchmarks.md).
	MaxConcurrentReconciles int
	// AccountStatusInterval is the least time between two status writes of one AccountQuota: usage and
	// queue figures change with every call, so they are coalesced.
	AccountStatusInterval time.Duration
	// CapRetryInterval bounds the hold of an account's daily or pending-share cap after a refusal its own
	// count does not explain (other apps of the creator posted): the posts wait until the oldest post of
	// the operator's own 24 h log leaves the window, or this long, whichever is sooner, then one probes
	// (default 1 h).
	CapRetryInterval time.Duration
	// RefusalMargin is the pacing engine's allowance for a server window a little longer or a clock a
	// little behind when it decides whether a 429 is explained by the window (default
	// pacing.DefaultRefusalMargin, 1 s). No flag: only a run with every duration compressed (the
	// benchmark) compresses it too.
	RefusalMargin time.Duration
	// AccountStatusQPS bounds the coalesced (non-urgent) AccountQuota status writes of the whole process,
	// per second. A fleet whose queues all move at once (a bulk apply) would otherwise write every account
	// every AccountStatusInterval, competing with the posts' own writes; under the budget each account
	// takes its turn (first come, first served) and its figures are written a little later. Changes of
	// conditions, creator info or tokens are not counted: they are written at once.
	AccountStatusQPS float64
	// StatusPollInitial is the wait before the first status/fetch of a post; each later poll waits twice
	// as long, up to StatusPollMax.
	StatusPollInitial time.Duration
	StatusPollMax     time.Duration
	// CreatorInfoTTL is how long creator_info stays cached in the AccountQuota's status.
	CreatorInfoTTL time.Duration
	// CallTimeout is the deadline of one call to TikTok (an upload chunk has its own, longer one).
	CallTimeout time.Duration
	// UploadTimeout bounds a FileUpload post's whole transfer (default 1 h, the life of TikTok's upload
	// URL); an upload still running then is stopped and retried with a new init (TikTok never got every
	// byte, so it cannot publish the first).
	UploadTimeout time.Duration
	// ProcessingTimeout is how long TikTok may process an accepted post before it fails with reason
	// ProcessingTimeout (default 6 h), counted from the accepted init call. It also ends the polling of a
	// post whose account lost its token for good.
	ProcessingTimeout time.Duration
	// AccountGoneGrace is how long a post in flight waits for its deleted AccountQuota to come back before
	// it fails with reason AccountNotFound (default 15 min). Waiting posts wait for their account without
	// limit (GitOps may apply it after them); spec.deadline bounds them.
	AccountGoneGrace time.Duration
	// TokenRefreshFraction is the part of an access token's lifetime after which it is refreshed.
	TokenRefreshFraction float64
	// TokenRefreshMinInterval is the least time between two refreshes of one account's token (default
	// 1 min), whatever TikTok answers: a refresh answer without expires_in (then a lifetime of 2 h is
	// assumed), a token with a tiny lifetime, or a new token that TikTok refuses at once would otherwise
	// make the operator refresh, and write the Secret, on every reconcile.
	TokenRefreshMinInterval time.Duration
	// Clock is the time source of every decision (a fake clock in tests of pacing and backoff).
	Clock clock.Clock
	// AllowedEndpoints are the only API endpoints the operator sends a request to (--allowed-endpoints;
	// empty: DefaultAllowedEndpoints, TikTok's API alone). An AccountQuota whose spec.endpoint (or the
	// default, when it is empty) is not admitted reports EndpointNotAllowed, and not one request goes to
	// it: its credentials stay in the cluster. The manager decides, not the namespace.
	AllowedEndpoints AllowedEndpoints
	// AllowedUploadHosts are the hosts, beyond an account's own endpoint, that a FileUpload post's bytes
	// may be sent to at an init answer's upload_url, over https (--allowed-upload-hosts; nil:
	// DefaultAllowedUploadHosts, TikTok's *.tiktokapis.com; empty: the account's endpoint only).
	AllowedUploadHosts UploadHosts
	// APITransport carries the calls to TikTok (default: a clone of http.DefaultTransport). Whatever it is,
	// redirects are never followed. Tests hand in one that trusts their local HTTPS server.
	APITransport http.RoundTripper
	// MediaClient reads the media of FileUpload posts (default: a client that never follows redirects).
	// Tests hand in one that trusts their local HTTPS server.
	MediaClient *http.Client
	// Rand is the uniform [0,1) source of the backoff jitter (injectable so tests can pin delays).
	Rand func() float64
	// Identity names this manager in the account Leases it holds (default: identity.New, the host name, "_"
	// and a random suffix, so that two processes never share one). Set it only to a name no other live
	// process uses: a fresh one, or a dead predecessor's (identity.Claim), whose Leases are then taken
	// over at once.
	Identity string
	// AccountLeaseDuration is the lease duration of the per-account Leases (default 30 s, whole seconds, at
	// least 1 s): a holder renews its Lease every third of it while the account has work, and another
	// manager takes an account over only after its Lease went unrenewed this long (docs/scaling.md).
	AccountLeaseDuration time.Duration
}

// DefaultOptions are the production defaults, the one place they are written: withDefaults fills a zero
// field from here, and the manager's flags take their defaults from here. AccountSelector, Clock and
// Identity are left out: their defaults (everything, the real clock, a name unique to the process) are
// not values to print in --help.
func DefaultOptions() Options {
	return Options{
		MaxConcurrentReconciles: 4,
		AccountStatusInterval:   5 * time.Second,
		CapRetryInterval:        time.Hour,
		RefusalMargin:           pacing.DefaultRefusalMargin,
		AccountStatusQPS:        10,
		StatusPollInitial:       2 * time.Second,
		StatusPollMax:           time.Minute,
		CreatorInfoTTL:          6 * time.Hour,
		CallTimeout:             30 * time.Second,
		UploadTimeout:           time.Hour,
		ProcessingTimeout:       6 * time.Hour,
		AccountGoneGrace:        15 * time.Minute,
		TokenRefreshFraction:    0.8,
		TokenRefreshMinInterval: time.Minute,
		AllowedEndpoints:        MustParseAllowedEndpoints(DefaultAllowedEndpoints),
		AllowedUploadHosts:      MustParseUploadHosts(DefaultAllowedUploadHosts),
		AccountLeaseDuration:    30 * time.Second,
	}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.AccountSelector == nil {
		o.AccountSelector = labels.Everything()
	}
	// An unset (or nonsensical, <= 0) setting takes its default.
	positiveOr(&o.MaxConcurrentReconciles, d.MaxConcurrentReconciles)
	positiveOr(&o.AccountStatusInterval, d.AccountStatusInterval)
	positiveOr(&o.CapRetryInterval, d.CapRetryInterval)
	positiveOr(&o.RefusalMargin, d.RefusalMargin)
	positiveOr(&o.AccountStatusQPS, d.AccountStatusQPS)
	positiveOr(&o.StatusPollInitial, d.StatusPollInitial)
	positiveOr(&o.StatusPollMax, d.StatusPollMax)
	positiveOr(&o.CreatorInfoTTL, d.CreatorInfoTTL)
	positiveOr(&o.CallTimeout, d.CallTimeout)
	positiveOr(&o.UploadTimeout, d.UploadTimeout)
	positiveOr(&o.ProcessingTimeout, d.ProcessingTimeout)
	positiveOr(&o.AccountGoneGrace, d.AccountGoneGrace)
	positiveOr(&o.TokenRefreshMinInterval, d.TokenRefreshMinInterval)
	positiveOr(&o.AccountLeaseDuration, d.AccountLeaseDuration)
	if o.TokenRefreshFraction <= 0 || o.TokenRefreshFraction >= 1 {
		o.TokenRefreshFraction = d.TokenRefreshFraction
	}
	if len(o.AllowedEndpoints) == 0 {
		o.AllowedEndpoints = d.AllowedEndpoints
	}
	if o.AllowedUploadHosts == nil {
		o.AllowedUploadHosts = d.AllowedUploadHosts
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Identity == "" {
		o.Identity = identity.New()
	}
	// A Lease counts whole seconds.
	o.AccountLeaseDuration = max(o.AccountLeaseDuration.Round(time.Second), time.Second)
	return o
}

// positiveOr sets *v to def when *v is not positive (unset, or a value no setting can mean).
func positiveOr[T ~int | ~int32 | ~int64 | ~float64](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}
