package tiktoksim

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestProcessingLifecycle follows each kind of post from init to its final status on the fake clock.
func TestProcessingLifecycle(t *testing.T) {
	photo := func(mode, privacy string) map[string]any {
		return map[string]any{"media_type": "PHOTO", "post_mode": mode,
			"post_info":   map[string]any{"title": "p", "privacy_level": privacy, "brand_content_toggle": false},
			"source_info": map[string]any{"source": "PULL_FROM_URL", "photo_images": []string{"https://cdn.example.com/1.jpg"}}}
	}
	for _, tc := range []struct {
		name, path     string
		body           any
		before, after  string
		wantPostID     bool
		wantFailReason string
	}{
		{"public video", pathVideo, pullVideo("hello", "PUBLIC_TO_EVERYONE"), "PROCESSING_DOWNLOAD", "PUBLISH_COMPLETE", true, ""},
		{"private video", pathVideo, pullVideo("hello", "SELF_ONLY"), "PROCESSING_DOWNLOAD", "PUBLISH_COMPLETE", false, ""},
		{"failing video", pathVideo, pullVideo("bad #simfail:duration_check_failed", "SELF_ONLY"), "PROCESSING_DOWNLOAD", "FAILED", false, "duration_check_failed"},
		{"inbox video", pathInbox, map[string]any{"source_info": map[string]any{"source": "PULL_FROM_URL", "video_url": "https://cdn.example.com/v.mp4"}}, "PROCESSING_DOWNLOAD", "SEND_TO_USER_INBOX", false, ""},
		{"inbox video failing by URL marker", pathInbox, map[string]any{"source_info": map[string]any{"source": "PULL_FROM_URL", "video_url": "https://cdn.example.com/v.mp4?#simfail:video_pull_failed"}}, "PROCESSING_DOWNLOAD", "FAILED", false, "video_pull_failed"},
		{"photo direct", pathPhoto, photo("DIRECT_POST", "PUBLIC_TO_EVERYONE"), "PROCESSING_DOWNLOAD", "PUBLISH_COMPLETE", true, ""},
		{"photo upload", pathPhoto, photo("MEDIA_UPLOAD", ""), "PROCESSING_DOWNLOAD", "SEND_TO_USER_INBOX", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			a := h.call(tc.path, h.tok, tc.body)
			id, _ := a.data["publish_id"].(string)
			if a.status != http.StatusOK || id == "" {
				t.Fatalf("init: HTTP %d %s", a.status, a.raw)
			}
			st := h.call(pathStatus, h.tok, map[string]string{"publish_id": id})
			if st.data["status"] != tc.before {
				t.Fatalf("status right after init = %v, want %s", st.data["status"], tc.before)
			}
			h.clk.Step(h.sim.Config().Processing.Delay.D())
			st = h.call(pathStatus, h.tok, map[string]string{"publish_id": id})
			if st.data["status"] != tc.after {
				t.Fatalf("status after the delay = %v, want %s", st.data["status"], tc.after)
			}
			_, hasID := st.data["publicaly_available_post_id"]
			if hasID != tc.wantPostID {
				t.Fatalf("post id present = %v, want %v (%s)", hasID, tc.wantPostID, st.raw)
			}
			if fr, _ := st.data["fail_reason"].(string); fr != tc.wantFailReason {
				t.Fatalf("fail_reason = %q, want %q", fr, tc.wantFailReason)
			}
			posts := h.sim.Posts()
			if len(posts) != 1 || posts[0].PublishID != id || posts[0].Account != "alice" || posts[0].Status != tc.after || !posts[0].Time.Equal(t0) {
				t.Fatalf("Posts() = %+v", posts)
			}
		})
	}
}

// TestInitRefusals checks each documented refusal of the init endpoints.
func TestInitRefusals(t *testing.T) {
	long := strings.Repeat("é", 2201)
	fileSrc := func(size, chunk, count int64) map[string]any {
		return map[string]any{"post_info": map[string]any{"privacy_level": "SELF_ONLY", "brand_content_toggle": false},
			"source_info": map[string]any{"source": "FILE_UPLOAD", "video_size": size, "chunk_size": chunk, "total_chunk_count": count}}
	}
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		path   string
		body   any
		status int
		code   string
	}{
		{"unverified URL", func(c *Config) { c.VerifiedURLPrefixes = []string{"https://media.example.org/"} }, pathVideo, pullVideo("t", "SELF_ONLY"), 403, "url_ownership_unverified"},
		{"privacy mismatch", func(c *Config) { c.Accounts[0].Creator.PrivacyLevelOptions = []string{"SELF_ONLY"} }, pathVideo, pullVideo("t", "PUBLIC_TO_EVERYONE"), 403, "privacy_level_option_mismatch"},
		{"banned", func(c *Config) { c.Accounts[0].Banned = true }, pathVideo, pullVideo("t", "SELF_ONLY"), 403, "spam_risk_user_banned_from_posting"},
		{"title too long", nil, pathVideo, pullVideo(long, "SELF_ONLY"), 400, "invalid_param"},
		{"no privacy", nil, pathVideo, pullVideo("t", ""), 400, "invalid_param"},
		{"http URL", nil, pathVideo, map[string]any{"post_info": map[string]any{"privacy_level": "SELF_ONLY", "brand_content_toggle": false}, "source_info": map[string]any{"source": "PULL_FROM_URL", "video_url": "http://cdn.example.com/v.mp4"}}, 400, "invalid_param"},
		{"bad chunk count", nil, pathVideo, fileSrc(50_000_123, 10_000_000, 6), 400, "invalid_param"},
		{"chunk too small", nil, pathVideo, fileSrc(50_000_000, 1_000_000, 50), 400, "invalid_param"},
		{"small file not whole", nil, pathVideo, fileSrc(1000, 500, 2), 400, "invalid_param"},
		{"photo 36 images", nil, pathPhoto, map[string]any{"media_type": "PHOTO", "post_mode": "MEDIA_UPLOAD", "source_info": map[string]any{"source": "PULL_FROM_URL", "photo_images": make([]string, 36)}}, 400, "invalid_param"},
		{"photo FILE_UPLOAD", nil, pathPhoto, map[string]any{"media_type": "PHOTO", "post_mode": "MEDIA_UPLOAD", "source_info": map[string]any{"source": "FILE_UPLOAD", "photo_images": []string{"https://x/1.jpg"}}}, 400, "invalid_param"},
		{"bad token", nil, pathCreator, nil, 401, "access_token_invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.mutate)
			tok := h.tok
			if tc.code == "access_token_invalid" {
				tok = "act.nobody"
			}
			a := h.call(tc.path, tok, tc.body)
			if a.status != tc.status || a.code != tc.code {
				t.Fatalf("HTTP %d %q, want %d %q (%s)", a.status, a.code, tc.status, tc.code, a.raw)
			}
			if len(h.sim.Posts()) != 0 {
				t.Fatalf("a refused init created a post")
			}
		})
	}
}

func TestStatusAndCancelRefusals(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Accounts = append(c.Accounts, Account{Name: "bob", AccessToken: "act.bob"})
	})
	id := h.call(pathVideo, h.tok, pullVideo("t", "SELF_ONLY")).data["publish_id"].(string)
	if a := h.call(pathStatus, h.tok, map[string]string{"publish_id": "v_pub_url~v2-1.999"}); a.status != 400 || a.code != "invalid_publish_id" {
		t.Fatalf("unknown id: HTTP %d %q", a.status, a.code)
	}
	if a := h.call(pathStatus, "act.bob", map[string]string{"publish_id": id}); a.status != 400 || a.code != "token_not_authorized_for_specified_publish_id" {
		t.Fatalf("other user's id: HTTP %d %q", a.status, a.code)
	}
	if a := h.call(pathCancel, h.tok, map[string]string{"publish_id": id}); a.status != 200 {
		t.Fatalf("cancel while downloading: HTTP %d %s", a.status, a.raw)
	}
	if a := h.call(pathStatus, h.tok, map[string]string{"publish_id": id}); a.data["status"] != "FAILED" || a.data["fail_reason"] != "publish_cancelled" {
		t.Fatalf("status after cancel: %s", a.raw)
	}
	if a := h.call(pathCancel, h.tok, map[string]string{"publish_id": id}); a.status != 400 || a.code != "publish_not_cancellable" {
		t.Fatalf("second cancel: HTTP %d %q", a.status, a.code)
	}
	id2 := h.call(pathVideo, h.tok, pullVideo("t", "SELF_ONLY")).data["publish_id"].(string)
	h.clk.Step(time.Minute)
	if a := h.call(pathCancel, h.tok, map[string]string{"publish_id": id2}); a.code != "publish_not_cancellable" {
		t.Fatalf("cancel after completion: HTTP %d %q", a.status, a.code)
	}
}

func TestCreatorInfo(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Accounts[0].Creator = CreatorInfo{Nickname: "Alice", PrivacyLevelOptions: []string{"SELF_ONLY"}, MaxVideoPostDurationSec: 300, DuetDisabled: true}
	})
	a := h.call(pathCreator, h.tok, nil)
	if a.status != 200 || a.code != "" || a.data["creator_nickname"] != "Alice" || a.data["max_video_post_duration_sec"] != float64(300) || a.data["duet_disabled"] != true {
		t.Fatalf("creator_info: %s", a.raw)
	}
	if err := h.sim.Ban("alice", true); err != nil {
		t.Fatal(err)
	}
	if a := h.call(pathCreator, h.tok, nil); a.status != 200 || a.code != "spam_risk_user_banned_from_posting" {
		t.Fatalf("banned creator_info: HTTP %d %q", a.status, a.code)
	}
}
