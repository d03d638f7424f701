package tiktoksim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// Endpoint names, the keys of Config.Limits and of the statistics. They match the client's Endpoint
// values so metrics and statistics line up.
const (
	EndpointCreatorInfo = "creator_info"
	EndpointVideoInit   = "video_init"
	EndpointInboxInit   = "inbox_init"
	EndpointContentInit = "content_init"
	EndpointStatusFetch = "status_fetch"
	EndpointCancel      = "cancel"
	EndpointUpload      = "upload"
	EndpointOAuthToken  = "oauth_token"
)

// The values of Config.OAuthErrorStatus.
const (
	OAuthErrorStatus200  = "200"
	OAuthErrorStatusHTTP = "http"
)

// Config is the simulator's behaviour. Load it with LoadConfig (YAML or JSON, json field names) or
// start from DefaultConfig; fields left out of a file keep their default.
type Config struct {
	// PublicURL is the base of the upload URLs it hands out; empty means derive it from the request's Host.
	PublicURL string `json:"public_url,omitempty"`
	// Limits per endpoint name, per access token, over a sliding window. Requests 0 means unlimited.
	Limits map[string]Limit `json:"limits"`
	// Burst throttles a token that sends more than Calls calls (any endpoint) within Within.
	Burst Burst `json:"burst"`
	// Penalty, when positive, extends a token's lockout on an endpoint by this much for every call
	// refused there: the first refusal locks until the window frees plus Penalty, each further call
	// made while locked adds Penalty again.
	Penalty Duration `json:"penalty"`
	// RetryAfterHeader adds Retry-After (seconds until a slot frees) to 429 answers. TikTok documents
	// none, so it is off by default; turn it on to test clients that honour it.
	RetryAfterHeader bool `json:"retry_after_header"`
	// DailyPosts caps direct posts (video and photo) per account over a rolling window.
	DailyPosts Limit `json:"daily_posts"`
	// PendingShares caps inbox uploads (inbox video, photo MEDIA_UPLOAD) per account over a rolling window.
	PendingShares Limit `json:"pending_shares"`
	// Token lifetimes. TikTok's docs say 24h/365d, a 2026 revision 2h/180d.
	AccessTokenTTL  Duration `json:"access_token_ttl"`
	RefreshTokenTTL Duration `json:"refresh_token_ttl"`
	// OAuthErrorStatus is the HTTP status of the token endpoint's error answers: "200" (the default, and
	// what client authors who tested TikTok report: HTTP 200 with {"error","error_description","log_id"})
	// or "http" (400 for most errors, 401 for invalid_client, the reading of TikTok's oauth page).
	OAuthErrorStatus string `json:"oauth_error_status,omitempty"`
	// RotateRefreshTokens makes a refresh issue a new refresh token and invalidate the old one.
	RotateRefreshTokens bool `json:"rotate_refresh_tokens"`
	// Processing controls what happens after an init is accepted.
	Processing Processing `json:"processing"`
	// VerifiedURLPrefixes are the media URL prefixes the app owner verified with TikTok; a PULL_FROM_URL
	// outside them gets 403 url_ownership_unverified (media-transfer). Empty means nothing is verified, so
	// every PULL_FROM_URL is refused, as TikTok refuses an app that verified nothing: a configuration that
	// pulls media must list its prefixes (FILE_UPLOAD needs none).
	VerifiedURLPrefixes []string `json:"verified_url_prefixes,omitempty"`
	// Unaudited makes the app one TikTok has not audited: it may post only SELF_ONLY, only to private
	// accounts (CreatorInfo.Private), else 403 unaudited_client_can_only_post_to_private_accounts, and to
	// at most ActiveUserCap distinct users per rolling 24 hours (403 reached_active_user_cap) (guidelines).
	Unaudited bool `json:"unaudited"`
	// ActiveUserCap is the unaudited app's number of distinct users a day; 0 means 5.
	ActiveUserCap int `json:"active_user_cap,omitempty"`
	// Accounts known at start; more can be added at run time.
	Accounts []Account `json:"accounts,omitempty"`
	// Apps are the TikTok apps Login Kit knows: the authorize page (/v2/auth/authorize/) and the
	// authorization_code grant serve only these (authorize.go).
	Apps []App `json:"apps,omitempty"`
	// Faults injected at random into API and upload answers (never into /sim).
	Faults Faults `json:"faults"`
	// Seed of the random source (faults, tokens, ids); 0 means 1. Same seed, same run.
	Seed uint64 `json:"seed,omitempty"`
}

// Limit is n requests per window.
type Limit struct {
	Requests int      `json:"requests"`
	Window   Duration `json:"window"`
}

// Burst is the sub-second throttle TikTok applies besides the per-minute limits; its real numbers are
// unpublished, so it is off by default.
type Burst struct {
	Enabled bool     `json:"enabled"`
	Calls   int      `json:"calls"`
	Within  Duration `json:"within"`
}

// Processing is the life of an accepted post.
type Processing struct {
	// Delay from the init (PULL_FROM_URL) or the last chunk (FILE_UPLOAD) to the final status.
	Delay Duration `json:"delay"`
	// UploadURLTTL is how long an upload URL works (TikTok: one hour).
	UploadURLTTL Duration `json:"upload_url_ttl"`
	// FailMarker in a title or media URL, followed by a fail_reason, makes the post end FAILED with that
	// reason: a title "demo #simfail:duration_check_failed" fails with duration_check_failed.
	FailMarker string `json:"fail_marker"`
}

// Faults are probabilities (0..1) per answer. ServerError and ErrorBody200 strike before the request is
// processed (nothing happens); MalformedJSON and Drop strike after (the request took effect, the client
// cannot know): they exercise the client's Uncertain class.
type Faults struct {
	ServerError   float64  `json:"server_error"`        // HTTP 500 internal_error
	ErrorBody200  float64  `json:"error_body_200"`      // HTTP 200 with an internal_error body
	MalformedJSON float64  `json:"malformed_json"`      // HTTP 200 with a truncated JSON body
	Slow          float64  `json:"slow"`                // answer after SlowDelay (real time)
	SlowDelay     Duration `json:"slow_delay"`          //
	Drop          float64  `json:"drop"`                // close the connection without an answer
	Endpoints     []string `json:"endpoints,omitempty"` // limit faults to these endpoints; empty means all
}

// Account is one authorized creator of the app.
type Account struct {
	Name         string      `json:"name"`
	ClientKey    string      `json:"client_key"`
	ClientSecret string      `json:"client_secret"`
	OpenID       string      `json:"open_id"`
	AccessToken  string      `json:"access_token"`
	RefreshToken string      `json:"refresh_token"`
	Creator      CreatorInfo `json:"creator"`
	Banned       bool        `json:"banned"`
	// Scopes the creator granted the app; empty means video.publish and video.upload. A call needing a
	// scope not granted gets 401 scope_not_authorized: creator_info, direct posts (video and photo) need
	// video.publish, inbox uploads (video and photo) video.upload, status/fetch either.
	Scopes []string `json:"scopes,omitempty"`
}

// App is one TikTok app as its Login Kit settings register it.
type App struct {
	ClientKey    string `json:"client_key"`
	ClientSecret string `json:"client_secret"`
	// RedirectURIs are the registered redirect URIs. A desktop app registers a loopback URI whose port
	// may be the wildcard *, such as http://127.0.0.1:*/callback/ (login-kit-desktop); a request's
	// redirect_uri must match one exactly, the wildcard port aside.
	RedirectURIs []string `json:"redirect_uris"`
	// Scopes the app may ask for; empty means user.info.basic, video.publish and video.upload.
	Scopes []string `json:"scopes,omitempty"`
	// Creators are the handles of the creators who may sign in on the consent page (the first is
	// preselected). A handle that is the username of an account of this app authorizes that account again;
	// another becomes a new account named after the handle. Empty means the app's accounts.
	Creators []string `json:"creators,omitempty"`
}

// CreatorInfo is what creator_info answers for an account. Empty privacy options mean all four;
// a zero max duration means 600 seconds.
type CreatorInfo struct {
	Username                string   `json:"username"`
	Nickname                string   `json:"nickname"`
	AvatarURL               string   `json:"avatar_url,omitempty"`
	PrivacyLevelOptions     []string `json:"privacy_level_options,omitempty"`
	MaxVideoPostDurationSec int      `json:"max_video_post_duration_sec"`
	CommentDisabled         bool     `json:"comment_disabled"`
	DuetDisabled            bool     `json:"duet_disabled"`
	StitchDisabled          bool     `json:"stitch_disabled"`
	// Private marks a private account, the only kind an unaudited app may post to. creator_info does not
	// answer it.
	Private bool `json:"private"`
}

// DefaultConfig returns TikTok's documented values: 6/min per init endpoint per token, 30/min
// status/fetch, 20/min creator_info, 15 direct posts and 5 pending shares per rolling 24h, access tokens
// 24h and refresh tokens 365d (rotating), upload URLs 1h. Burst and penalty are off, no faults, and
// posts finish processing 5s after the init or upload.
func DefaultConfig() Config {
	minute := Duration(time.Minute)
	return Config{
		Limits: map[string]Limit{
			EndpointCreatorInfo: {Requests: 20, Window: minute},
			EndpointVideoInit:   {Requests: 6, Window: minute},
			EndpointInboxInit:   {Requests: 6, Window: minute},
			EndpointContentInit: {Requests: 6, Window: minute},
			EndpointStatusFetch: {Requests: 30, Window: minute},
		},
		Burst:               Burst{Enabled: false, Calls: 5, Within: Duration(time.Second)},
		DailyPosts:          Limit{Requests: 15, Window: Duration(24 * time.Hour)},
		PendingShares:       Limit{Requests: 5, Window: Duration(24 * time.Hour)},
		AccessTokenTTL:      Duration(24 * time.Hour),
		RefreshTokenTTL:     Duration(365 * 24 * time.Hour),
		OAuthErrorStatus:    OAuthErrorStatus200,
		RotateRefreshTokens: true,
		Processing: Processing{
			Delay:        Duration(5 * time.Second),
			UploadURLTTL: Duration(time.Hour),
			FailMarker:   "#simfail:",
		},
		Faults: Faults{SlowDelay: Duration(2 * time.Second)},
	}
}

// LoadConfig parses YAML (or JSON) over DefaultConfig, so a file only states what differs.
func LoadConfig(data []byte) (Config, error) {
	cfg := DefaultConfig()
	if err := yaml.UnmarshalStrict(data, &cfg); err != nil {
		return Config{}, fmt.Errorf("sim config: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Validate reports settings that cannot work.
func (c Config) Validate() error {
	for name, l := range c.Limits {
		if l.Requests < 0 || (l.Requests > 0 && l.Window <= 0) {
			return fmt.Errorf("sim config: limit %s: want requests >= 0 and a positive window", name)
		}
	}
	if c.Burst.Enabled && (c.Burst.Calls <= 0 || c.Burst.Within <= 0) {
		return fmt.Errorf("sim config: burst: want calls > 0 and within > 0")
	}
	for _, p := range []float64{c.Faults.ServerError, c.Faults.ErrorBody200, c.Faults.MalformedJSON, c.Faults.Slow, c.Faults.Drop} {
		if p < 0 || p > 1 {
			return fmt.Errorf("sim config: fault probability %v outside 0..1", p)
		}
	}
	switch c.OAuthErrorStatus {
	case "", OAuthErrorStatus200, OAuthErrorStatusHTTP:
	default:
		return fmt.Errorf("sim config: oauth_error_status %q: want %q or %q", c.OAuthErrorStatus, OAuthErrorStatus200, OAuthErrorStatusHTTP)
	}
	if err := validateApps(c.Apps); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, a := range c.Accounts {
		if a.Name == "" || seen[a.Name] {
			return fmt.Errorf("sim config: account name %q empty or repeated", a.Name)
		}
		seen[a.Name] = true
	}
	return nil
}

// Duration is a time.Duration written as "90s", "5m", "24h" or "365d" (a plain number is seconds).
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] != '"' {
		secs, err := strconv.ParseFloat(string(b), 64)
		if err != nil {
			return fmt.Errorf("duration %s: %w", b, err)
		}
		*d = Duration(secs * float64(time.Second))
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := parseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil {
			return 0, fmt.Errorf("duration %q: %w", s, err)
		}
		return time.Duration(n * float64(24*time.Hour)), nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("duration %q: %w", s, err)
	}
	return v, nil
}
