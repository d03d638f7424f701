package e2e

import (
	"bytes"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
)

// mediaServer serves a few MB of video bytes over HTTPS with Range support, like a CDN.
func mediaServer(t *testing.T, size int) (*httptest.Server, []byte) {
	t.Helper()
	data := make([]byte, size)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "video/mp4")
		http.ServeContent(w, r, "video.mp4", time.Unix(0, 0), bytes.NewReader(data))
	}))
	t.Cleanup(srv.Close)
	return srv, data
}

// TestPublishEveryKind publishes one post of every kind end to end and checks what the status says,
// what TikTok (the simulator) received, and what it cost in status writes.
func TestPublishEveryKind(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	media, data := mediaServer(t, 7<<20+12345) // 7 MiB and a bit: one chunk under TikTok's rules
	e.account("brand", func(aq *v1alpha1.AccountQuota) {
		aq.Spec.AllowedMediaPrefixes = append(aq.Spec.AllowedMediaPrefixes, media.URL+"/")
	})
	publishAt := metav1.NewTime(time.Now().Add(4 * time.Second).Truncate(time.Second))
	e.post("by-url", "brand", nil)
	e.post("by-upload", "brand", func(s *v1alpha1.TikTokPostSpec) {
		s.Video.URL = media.URL + "/clip.mp4"
		s.Video.Transfer = v1alpha1.TransferFileUpload
	})
	e.post("photos", "brand", func(s *v1alpha1.TikTokPostSpec) {
		s.Video = nil
		s.Photo = &v1alpha1.PhotoSource{URLs: []string{"https://cdn.example.com/a.jpg", "https://cdn.example.com/b.jpg"}, CoverIndex: 1}
		s.Description = "two photos"
	})
	e.post("to-inbox", "brand", func(s *v1alpha1.TikTokPostSpec) {
		s.Mode = v1alpha1.ModeUpload
		s.PrivacyLevel = ""
	})
	e.post("scheduled", "brand", func(s *v1alpha1.TikTokPostSpec) { s.PublishAt = &publishAt })

	opts := fastOptions()
	opts.MediaClient = media.Client()
	e.startManager(opts)
	posts := e.waitPosts(60*time.Second, nil)

	want := map[string]v1alpha1.Phase{"by-url": v1alpha1.PhasePublished, "by-upload": v1alpha1.PhasePublished,
		"photos": v1alpha1.PhasePublished, "to-inbox": v1alpha1.PhaseDelivered, "scheduled": v1alpha1.PhasePublished}
	for _, p := range posts {
		st := p.Status
		if st.Phase != want[p.Name] {
			t.Errorf("%s: phase %s, want %s (conditions %+v, lastError %+v)", p.Name, st.Phase, want[p.Name], st.Conditions, st.LastError)
			continue
		}
		if st.Attempts != 1 || st.PublishID == "" || st.PublishedAt == nil || st.ObservedGeneration != p.Generation {
			t.Errorf("%s: attempts %d, publishID %q, publishedAt %v, observedGeneration %d", p.Name, st.Attempts, st.PublishID, st.PublishedAt, st.ObservedGeneration)
		}
		if !meta.IsStatusConditionTrue(st.Conditions, v1alpha1.ConditionReady) ||
			meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionReconciling) != nil ||
			meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionStalled) != nil {
			t.Errorf("%s: conditions %+v, want Ready=True and no Reconciling/Stalled", p.Name, st.Conditions)
		}
		if st.Phase == v1alpha1.PhasePublished && len(st.PostIDs) == 0 {
			t.Errorf("%s: a public post has no post ids", p.Name)
		}
		if n := len(st.AttemptHistory); n != 1 || st.AttemptHistory[0].EndTime == nil || st.AttemptHistory[0].Outcome != v1alpha1.AttemptOutcomeAccepted {
			t.Errorf("%s: attempt history %+v", p.Name, st.AttemptHistory)
		}
		// Invariant "bounded writes": a published post costs a handful of status writes.
		t.Logf("%s: %d status writes", p.Name, e.writes.statusWrites("TikTokPost", p.Name))
		if w := e.writes.statusWrites("TikTokPost", p.Name); w > 6 {
			t.Errorf("%s: %d status writes, want at most 6", p.Name, w)
		}
	}

	accepted := e.sim.Posts()
	if len(accepted) != 5 {
		t.Fatalf("the simulator accepted %d posts, want 5: %+v", len(accepted), accepted)
	}
	byTitle := map[string]int{}
	for i, a := range accepted {
		byTitle[a.Title]++
		switch a.Title {
		case "by-upload":
			if a.Source != "FILE_UPLOAD" {
				t.Errorf("by-upload went as %s", a.Source)
			}
		case "photos":
			if a.Media != "PHOTO" {
				t.Errorf("photos went as %s", a.Media)
			}
		case "scheduled":
			if a.Time.Before(publishAt.Time) {
				t.Errorf("scheduled was sent at %s, before its publishAt %s", a.Time, publishAt.Time)
			}
		}
		_ = i
	}
	for title, n := range byTitle {
		if n != 1 && title != "to-inbox" {
			t.Errorf("%s accepted %d times", title, n)
		}
	}
	if got := e.getPost("by-upload").Status.UploadProgress; got != nil && got.TotalBytes != int64(len(data)) {
		t.Errorf("upload progress %+v, want total %d", got, len(data))
	}
	if strings.Contains(e.logs.String(), "panic") {
		t.Errorf("the manager logged a panic:\n%s", e.logs.String())
	}
}
