package tiktoksim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// Wire words used in several places.
const (
	sourcePull   = "PULL_FROM_URL"
	sourceUpload = "FILE_UPLOAD"
	keyError     = "error" // the error field of every answer body
)

// Request bodies as TikTok documents them. Decoding is lenient about unknown fields, like TikTok.
type videoSource struct {
	Source          string `json:"source"`
	VideoURL        string `json:"video_url"`
	VideoSize       int64  `json:"video_size"`
	ChunkSize       int64  `json:"chunk_size"`
	TotalChunkCount int64  `json:"total_chunk_count"`
}

type videoInitBody struct {
	PostInfo *struct {
		Title              string `json:"title"`
		PrivacyLevel       string `json:"privacy_level"`
		BrandContentToggle *bool  `json:"brand_content_toggle"`
	} `json:"post_info"`
	SourceInfo *videoSource `json:"source_info"`
}

type photoInitBody struct {
	MediaType string `json:"media_type"`
	PostMode  string `json:"post_mode"`
	PostInfo  struct {
		Title              string `json:"title"`
		Description        string `json:"description"`
		PrivacyLevel       string `json:"privacy_level"`
		BrandContentToggle *bool  `json:"brand_content_toggle"`
	} `json:"post_info"`
	SourceInfo struct {
		Source          string   `json:"source"`
		PhotoImages     []string `json:"photo_images"`
		PhotoCoverIndex int      `json:"photo_cover_index"`
	} `json:"source_info"`
}

func (c *call) fail(status int, code, msg string) reply {
	return reply{status: status, body: errBody(code, msg, c.logID)}
}

func (c *call) invalid(format string, args ...any) reply {
	return c.fail(http.StatusBadRequest, "invalid_param", fmt.Sprintf(format, args...))
}

func (c *call) ok(data any) reply { return reply{status: http.StatusOK, body: okBody(data, c.logID)} }

// Scopes of the content endpoints.
const (
	scopePublish = "video.publish"
	scopeUpload  = "video.upload"
)

// defaultScopes are an account's scopes when its configuration names none.
var defaultScopes = []string{scopePublish, scopeUpload}

// grantedScopes are the scopes the account's creator granted the app: its configured ones, or the
// defaults. The token endpoint answers them and the content endpoints check them, so the two agree.
func grantedScopes(a *account) []string {
	if len(a.Scopes) == 0 {
		return defaultScopes
	}
	return a.Scopes
}

// checkScope answers 401 scope_not_authorized unless the account granted one of scopes.
func (s *Server) checkScope(c *call, scopes ...string) (reply, bool) {
	granted := grantedScopes(c.acct)
	for _, sc := range scopes {
		if slices.Contains(granted, sc) {
			return reply{}, false
		}
	}
	return c.fail(http.StatusUnauthorized, "scope_not_authorized", "the user did not authorize the scope "+strings.Join(scopes, " or ")), true
}

// checkUnaudited holds an unaudited app to private accounts, to SELF_ONLY for direct posts (guidelines),
// and to its cap of distinct users a day.
func (s *Server) checkUnaudited(c *call, direct bool, privacy string) (reply, bool) {
	if !s.cfg.Unaudited {
		return reply{}, false
	}
	if !c.acct.Creator.Private || (direct && privacy != "SELF_ONLY") {
		return c.fail(http.StatusForbidden, "unaudited_client_can_only_post_to_private_accounts",
			"an unaudited client can only post SELF_ONLY to private accounts"), true
	}
	if s.activeUserCapReached(c.acct, c.now) {
		return c.fail(http.StatusForbidden, "reached_active_user_cap", "the app reached its cap of active users a day"), true
	}
	return reply{}, false
}

// activeUserCapReached: the app is unaudited, reached its cap of distinct users over the last 24 hours,
// and a is not one of them.
func (s *Server) activeUserCapReached(a *account, now time.Time) bool {
	if !s.cfg.Unaudited {
		return false
	}
	limit := s.cfg.ActiveUserCap
	if limit <= 0 {
		limit = 5
	}
	since := now.Add(-24 * time.Hour)
	if t, ok := s.active[a.Name]; ok && t.After(since) {
		return false
	}
	n := 0
	for _, t := range s.active {
		if t.After(since) {
			n++
		}
	}
	return n >= limit
}

// accepted records that the app posted for a (an accepted init), for the active-user cap.
func (s *Server) accepted(a *account, now time.Time) { s.active[a.Name] = now }

func (s *Server) creatorInfo(c *call) reply {
	if r, bad := s.checkScope(c, scopePublish); bad {
		return r
	}
	a := c.acct
	data := map[string]any{
		"creator_avatar_url":          a.Creator.AvatarURL,
		"creator_username":            a.Creator.Username,
		"creator_nickname":            a.Creator.Nickname,
		"privacy_level_options":       a.Creator.PrivacyLevelOptions,
		"comment_disabled":            a.Creator.CommentDisabled,
		"duet_disabled":               a.Creator.DuetDisabled,
		"stitch_disabled":             a.Creator.StitchDisabled,
		"max_video_post_duration_sec": a.Creator.MaxVideoPostDurationSec,
	}
	// TikTok answers 200 with an error code when the creator cannot post now (documented as intended).
	code, msg := "ok", ""
	switch {
	case a.Banned:
		code, msg = "spam_risk_user_banned_from_posting", "the user is banned from posting"
	case s.dailyCapReached(a, c.now):
		code, msg = "spam_risk_too_many_posts", "the daily post cap is reached"
	case s.activeUserCapReached(a, c.now):
		code, msg = "reached_active_user_cap", "the app reached its cap of active users a day"
	}
	return reply{status: http.StatusOK, body: map[string]any{
		"data": data, keyError: map[string]string{"code": code, "message": msg, "log_id": c.logID},
	}}
}

func (s *Server) videoInit(c *call) reply {
	var b videoInitBody
	if err := json.Unmarshal(c.body, &b); err != nil || b.PostInfo == nil || b.SourceInfo == nil {
		return c.invalid("want post_info and source_info")
	}
	if r, bad := s.checkScope(c, scopePublish); bad {
		return r
	}
	if b.PostInfo.BrandContentToggle == nil {
		return c.invalid("post_info.brand_content_toggle is required")
	}
	if r, bad := s.checkAccount(c); bad {
		return r
	}
	if n := len(utf16.Encode([]rune(b.PostInfo.Title))); n > 2200 {
		return c.invalid("title is %d UTF-16 units, at most 2200", n)
	}
	if r, bad := s.checkPrivacy(c, b.PostInfo.PrivacyLevel, true); bad {
		return r
	}
	if r, bad := s.checkVideoSource(c, b.SourceInfo); bad {
		return r
	}
	if r, bad := s.checkUnaudited(c, true, b.PostInfo.PrivacyLevel); bad {
		return r
	}
	if s.dailyCapReached(c.acct, c.now) {
		return c.fail(http.StatusForbidden, "spam_risk_too_many_posts", "the daily post cap is reached")
	}
	c.acct.dailyLog.add(c.now)
	s.accepted(c.acct, c.now)
	p := s.newPost(c, ModeDirectPost, MediaVideo, b.SourceInfo, b.PostInfo.Title, b.PostInfo.PrivacyLevel)
	return c.ok(s.initData(c, p))
}

func (s *Server) inboxInit(c *call) reply {
	var b videoInitBody
	if err := json.Unmarshal(c.body, &b); err != nil || b.SourceInfo == nil {
		return c.invalid("want source_info")
	}
	if r, bad := s.checkScope(c, scopeUpload); bad {
		return r
	}
	if r, bad := s.checkAccount(c); bad {
		return r
	}
	if r, bad := s.checkVideoSource(c, b.SourceInfo); bad {
		return r
	}
	if r, bad := s.checkUnaudited(c, false, ""); bad {
		return r
	}
	if s.pendingCapReached(c.acct, c.now) {
		return c.fail(http.StatusForbidden, "spam_risk_too_many_pending_share", "too many pending shares")
	}
	c.acct.pendingLog.add(c.now)
	s.accepted(c.acct, c.now)
	p := s.newPost(c, ModeMediaUpload, MediaVideo, b.SourceInfo, "", "")
	return c.ok(s.initData(c, p))
}

func (s *Server) contentInit(c *call) reply {
	var b photoInitBody
	if err := json.Unmarshal(c.body, &b); err != nil {
		return c.invalid("body is not the photo init JSON")
	}
	switch {
	case b.MediaType != MediaPhoto:
		return c.invalid("media_type must be PHOTO")
	case b.PostMode != ModeDirectPost && b.PostMode != ModeMediaUpload:
		return c.invalid("post_mode must be DIRECT_POST or MEDIA_UPLOAD")
	case b.SourceInfo.Source != sourcePull:
		return c.invalid("photos only support PULL_FROM_URL")
	case len(b.SourceInfo.PhotoImages) < 1 || len(b.SourceInfo.PhotoImages) > 35:
		return c.invalid("photo_images must hold 1 to 35 URLs")
	case b.SourceInfo.PhotoCoverIndex < 0 || b.SourceInfo.PhotoCoverIndex >= len(b.SourceInfo.PhotoImages):
		return c.invalid("photo_cover_index out of range")
	case len(utf16.Encode([]rune(b.PostInfo.Title))) > 90:
		return c.invalid("photo title is at most 90 characters")
	case len(utf16.Encode([]rune(b.PostInfo.Description))) > 4000:
		return c.invalid("description is at most 4000 characters")
	}
	scope := scopeUpload
	if b.PostMode == ModeDirectPost {
		scope = scopePublish
	}
	if r, bad := s.checkScope(c, scope); bad {
		return r
	}
	if b.PostMode == ModeDirectPost && b.PostInfo.BrandContentToggle == nil {
		return c.invalid("post_info.brand_content_toggle is required")
	}
	if r, bad := s.checkAccount(c); bad {
		return r
	}
	for _, u := range b.SourceInfo.PhotoImages {
		if r, bad := s.checkURL(c, u); bad {
			return r
		}
	}
	src := &videoSource{Source: sourcePull, VideoURL: strings.Join(b.SourceInfo.PhotoImages, " ")}
	if b.PostMode == ModeDirectPost {
		if r, bad := s.checkPrivacy(c, b.PostInfo.PrivacyLevel, true); bad {
			return r
		}
		if r, bad := s.checkUnaudited(c, true, b.PostInfo.PrivacyLevel); bad {
			return r
		}
		if s.dailyCapReached(c.acct, c.now) {
			return c.fail(http.StatusForbidden, "spam_risk_too_many_posts", "the daily post cap is reached")
		}
		c.acct.dailyLog.add(c.now)
	} else {
		if r, bad := s.checkUnaudited(c, false, ""); bad {
			return r
		}
		if s.pendingCapReached(c.acct, c.now) {
			return c.fail(http.StatusForbidden, "spam_risk_too_many_pending_share", "too many pending shares")
		}
		c.acct.pendingLog.add(c.now)
	}
	s.accepted(c.acct, c.now)
	p := s.newPost(c, b.PostMode, MediaPhoto, src, b.PostInfo.Title, b.PostInfo.PrivacyLevel)
	return c.ok(s.initData(c, p))
}

func (s *Server) statusFetch(c *call) reply {
	if r, bad := s.checkScope(c, scopePublish, scopeUpload); bad {
		return r
	}
	p, r, bad := s.lookupPost(c)
	if bad {
		return r
	}
	return c.ok(p.status(c.now))
}

func (s *Server) cancel(c *call) reply {
	p, r, bad := s.lookupPost(c)
	if bad {
		return r
	}
	if p.source != sourcePull || p.media != MediaVideo || p.cancelled || !c.now.Before(p.readyAt) {
		return c.fail(http.StatusBadRequest, "publish_not_cancellable", "only a PULL_FROM_URL video still downloading can be cancelled")
	}
	p.cancelled = true
	return c.ok(map[string]any{})
}

func (s *Server) lookupPost(c *call) (*post, reply, bool) {
	var b struct {
		PublishID string `json:"publish_id"`
	}
	if err := json.Unmarshal(c.body, &b); err != nil || b.PublishID == "" {
		return nil, c.invalid("want publish_id"), true
	}
	p := s.posts[b.PublishID]
	if p == nil {
		return nil, c.fail(http.StatusBadRequest, "invalid_publish_id", "no such publish_id"), true
	}
	if p.account != c.acct.Name {
		return nil, c.fail(http.StatusBadRequest, "token_not_authorized_for_specified_publish_id", "publish_id belongs to another user"), true
	}
	return p, reply{}, false
}

func (s *Server) checkAccount(c *call) (reply, bool) {
	if c.acct.Banned {
		return c.fail(http.StatusForbidden, "spam_risk_user_banned_from_posting", "the user is banned from posting"), true
	}
	return reply{}, false
}

func (s *Server) checkPrivacy(c *call, level string, required bool) (reply, bool) {
	if level == "" && required {
		return c.invalid("privacy_level is required"), true
	}
	if !slices.Contains(c.acct.Creator.PrivacyLevelOptions, level) {
		return c.fail(http.StatusForbidden, "privacy_level_option_mismatch", "privacy_level is not among the creator's options"), true
	}
	return reply{}, false
}

func (s *Server) checkURL(c *call, u string) (reply, bool) {
	if !strings.HasPrefix(u, "https://") {
		return c.invalid("media URLs must be https"), true
	}
	for _, p := range s.cfg.VerifiedURLPrefixes {
		if strings.HasPrefix(u, p) {
			return reply{}, false
		}
	}
	return c.fail(http.StatusForbidden, "url_ownership_unverified", "the URL prefix is not verified for this app"), true
}

func (s *Server) checkVideoSource(c *call, src *videoSource) (reply, bool) {
	switch src.Source {
	case sourcePull:
		if src.VideoURL == "" {
			return c.invalid("video_url is required"), true
		}
		return s.checkURL(c, src.VideoURL)
	case sourceUpload:
		if err := checkChunkPlan(src.VideoSize, src.ChunkSize, src.TotalChunkCount); err != nil {
			return c.invalid("%v", err), true
		}
		return reply{}, false
	}
	return c.invalid("source must be PULL_FROM_URL or FILE_UPLOAD"), true
}

func (s *Server) dailyCapReached(a *account, now time.Time) bool {
	l := s.cfg.DailyPosts
	return l.Requests > 0 && a.dailyLog.count(now, l.Window.D()) >= l.Requests
}

func (s *Server) pendingCapReached(a *account, now time.Time) bool {
	l := s.cfg.PendingShares
	return l.Requests > 0 && a.pendingLog.count(now, l.Window.D()) >= l.Requests
}

// newPost records an accepted init. Callers hold s.mu.
func (s *Server) newPost(c *call, mode, media string, src *videoSource, title, privacy string) *post {
	n := s.nextSeq()
	kind := "url"
	if src.Source == sourceUpload {
		kind = "file"
	}
	prefix := "v"
	if media == MediaPhoto {
		prefix = "p"
	}
	p := &post{
		id:      prefix + "_pub_" + kind + "~v2-1." + strconv.FormatInt(n, 10),
		account: c.acct.Name, title: title, mode: mode, media: media, source: src.Source, privacy: privacy,
		created:    c.now,
		failReason: failReasonIn(s.cfg.Processing.FailMarker, title, src.VideoURL),
		size:       src.VideoSize,
	}
	if mode == ModeDirectPost && privacy == "PUBLIC_TO_EVERYONE" {
		p.postID = 7300000000000000000 + n
	}
	if src.Source == sourceUpload {
		u := &upload{
			id: strconv.FormatInt(n, 10), token: s.randomToken("upt."), post: p,
			size: src.VideoSize, chunk: src.ChunkSize, count: src.TotalChunkCount,
			expires: c.now.Add(s.cfg.Processing.UploadURLTTL.D()),
		}
		p.upload = u
		s.uploads[u.id] = u
	} else {
		p.readyAt = c.now.Add(s.cfg.Processing.Delay.D())
	}
	s.posts[p.id] = p
	s.order = append(s.order, p)
	return p
}

func (s *Server) initData(c *call, p *post) map[string]any {
	d := map[string]any{"publish_id": p.id}
	if p.upload != nil {
		d["upload_url"] = c.baseURL + "/upload/?upload_id=" + p.upload.id + "&upload_token=" + p.upload.token
	}
	return d
}
