package tiktoksim

import (
	"sort"
	"strings"
	"time"
)

// Post modes and media kinds as AcceptedPost reports them.
const (
	ModeDirectPost  = "DIRECT_POST"
	ModeMediaUpload = "MEDIA_UPLOAD" // inbox draft (inbox video or photo MEDIA_UPLOAD)
	MediaVideo      = "VIDEO"
	MediaPhoto      = "PHOTO"
)

// post is one accepted init and its processing.
type post struct {
	id, account, title, mode, media, source, privacy string
	created                                          time.Time
	readyAt                                          time.Time // final status from then on; zero while an upload is pending
	failReason                                       string    // from the fail marker
	cancelled                                        bool
	postID                                           int64 // TikTok's post id once public
	upload                                           *upload
	size                                             int64
}

// status computes the post's state at now. Everything is derived from timestamps, so processing works
// on a fake clock and on the real clock without timers.
func (p *post) status(now time.Time) map[string]any {
	st := map[string]any{}
	switch {
	case p.cancelled:
		st["status"], st["fail_reason"] = "FAILED", "publish_cancelled"
	case p.upload != nil && !p.upload.done:
		st["status"], st["uploaded_bytes"] = "PROCESSING_UPLOAD", p.upload.received
	case now.Before(p.readyAt):
		if p.upload != nil {
			st["status"], st["uploaded_bytes"] = "PROCESSING_UPLOAD", p.upload.received
		} else {
			st["status"], st["downloaded_bytes"] = "PROCESSING_DOWNLOAD", 0
		}
	case p.failReason != "":
		st["status"], st["fail_reason"] = "FAILED", p.failReason
	case p.mode == ModeMediaUpload:
		st["status"] = "SEND_TO_USER_INBOX"
	default:
		st["status"] = "PUBLISH_COMPLETE"
		if p.postID != 0 {
			st["publicaly_available_post_id"] = []int64{p.postID}
		}
	}
	if p.upload != nil {
		st["uploaded_bytes"] = p.upload.received
	}
	return st
}

// AcceptedPost is a post the simulator accepted, as tests and /sim/posts see it.
type AcceptedPost struct {
	PublishID  string    `json:"publish_id"`
	Title      string    `json:"title"`
	Account    string    `json:"account"`
	Mode       string    `json:"mode"`   // DIRECT_POST or MEDIA_UPLOAD
	Media      string    `json:"media"`  // VIDEO or PHOTO
	Source     string    `json:"source"` // PULL_FROM_URL or FILE_UPLOAD
	Privacy    string    `json:"privacy,omitempty"`
	Time       time.Time `json:"time"` // when the init was accepted
	Status     string    `json:"status"`
	FailReason string    `json:"fail_reason,omitempty"`
	PostIDs    []int64   `json:"post_ids,omitempty"`
}

// Posts lists the accepted posts in acceptance order, with their status now.
func (s *Server) Posts() []AcceptedPost {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	out := make([]AcceptedPost, 0, len(s.order))
	for _, p := range s.order {
		st := p.status(now)
		ap := AcceptedPost{
			PublishID: p.id, Title: p.title, Account: p.account, Mode: p.mode, Media: p.media,
			Source: p.source, Privacy: p.privacy, Time: p.created,
		}
		ap.Status, _ = st["status"].(string)
		ap.FailReason, _ = st["fail_reason"].(string)
		ap.PostIDs, _ = st["publicaly_available_post_id"].([]int64)
		out = append(out, ap)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}

// failReasonIn returns the fail_reason requested by the marker in any of texts, or "".
func failReasonIn(marker string, texts ...string) string {
	if marker == "" {
		return ""
	}
	for _, t := range texts {
		i := strings.Index(t, marker)
		if i < 0 {
			continue
		}
		rest := t[i+len(marker):]
		end := strings.IndexFunc(rest, func(r rune) bool {
			return r != '_' && (r < 'a' || r > 'z') && (r < '0' || r > '9')
		})
		if end >= 0 {
			rest = rest[:end]
		}
		if rest != "" {
			return rest
		}
	}
	return ""
}
