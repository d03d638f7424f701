package crd

import (
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
)

func newVideoPost(ns, name string) *v1alpha1.TikTokPost {
	return &v1alpha1.TikTokPost{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.TikTokPostSpec{
			AccountRef:   v1alpha1.LocalObjectReference{Name: "brand-main"},
			Video:        &v1alpha1.VideoSource{URL: "https://cdn.example.com/v.mp4"},
			Title:        "Launch day",
			PrivacyLevel: v1alpha1.PrivacyPublicToEveryone,
		},
	}
}

func newPhotoPost(ns, name string) *v1alpha1.TikTokPost {
	return &v1alpha1.TikTokPost{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.TikTokPostSpec{
			AccountRef:   v1alpha1.LocalObjectReference{Name: "brand-main"},
			Photo:        &v1alpha1.PhotoSource{URLs: []string{"https://cdn.example.com/1.jpg", "https://cdn.example.com/2.jpg"}},
			Title:        "Two photos",
			Description:  "text",
			PrivacyLevel: v1alpha1.PrivacyPublicToEveryone,
		},
	}
}

// contentChanges change one content field each; the name is the field the refusal must name.
var contentChanges = []struct {
	field  string
	photo  bool
	mutate func(*v1alpha1.TikTokPostSpec)
}{
	{"spec.title", false, func(s *v1alpha1.TikTokPostSpec) { s.Title = "Launch day (edited)" }},
	{"spec.title", false, func(s *v1alpha1.TikTokPostSpec) { s.Title = "" }},
	{"spec.privacyLevel", false, func(s *v1alpha1.TikTokPostSpec) { s.PrivacyLevel = v1alpha1.PrivacySelfOnly }},
	{"spec.video", false, func(s *v1alpha1.TikTokPostSpec) { s.Video.URL = "https://cdn.example.com/other.mp4" }},
	{"spec.video", false, func(s *v1alpha1.TikTokPostSpec) { s.Video.Transfer = v1alpha1.TransferFileUpload }},
	{"spec.video", false, func(s *v1alpha1.TikTokPostSpec) { s.Video.CoverTimestampMs = ptr.To[int32](500) }},
	{"spec.accountRef", false, func(s *v1alpha1.TikTokPostSpec) { s.AccountRef.Name = "other-account" }},
	{"spec.mode", false, func(s *v1alpha1.TikTokPostSpec) { s.Mode = v1alpha1.ModeUpload }},
	{"spec.disableComment", false, func(s *v1alpha1.TikTokPostSpec) { s.DisableComment = true }},
	{"spec.disableDuet", false, func(s *v1alpha1.TikTokPostSpec) { s.DisableDuet = true }},
	{"spec.disableStitch", false, func(s *v1alpha1.TikTokPostSpec) { s.DisableStitch = true }},
	{"spec.brandContent", false, func(s *v1alpha1.TikTokPostSpec) { s.BrandContent = true }},
	{"spec.brandOrganic", false, func(s *v1alpha1.TikTokPostSpec) { s.BrandOrganic = true }},
	{"spec.aiGenerated", false, func(s *v1alpha1.TikTokPostSpec) { s.AIGenerated = true }},
	{"spec.photo", true, func(s *v1alpha1.TikTokPostSpec) { s.Photo.URLs = append(s.Photo.URLs, "https://cdn.example.com/3.jpg") }},
	{"spec.photo", true, func(s *v1alpha1.TikTokPostSpec) { s.Photo.CoverIndex = 1 }},
	{"spec.description", true, func(s *v1alpha1.TikTokPostSpec) { s.Description = "other text" }},
	{"spec.autoAddMusic", true, func(s *v1alpha1.TikTokPostSpec) { s.AutoAddMusic = true }},
	{"spec.video", true, func(s *v1alpha1.TikTokPostSpec) {
		// photo -> video: both the photo and the video rule fire.
		s.Photo, s.Description = nil, ""
		s.Video = &v1alpha1.VideoSource{URL: "https://cdn.example.com/v.mp4"}
	}},
}

// schedulingChanges change one scheduling field each: always allowed.
var schedulingChanges = []struct {
	field  string
	mutate func(*v1alpha1.TikTokPostSpec)
}{
	{"publishAt", func(s *v1alpha1.TikTokPostSpec) {
		s.PublishAt = &metav1.Time{Time: time.Date(2027, 1, 1, 9, 0, 0, 0, time.UTC)}
	}},
	{"deadline", func(s *v1alpha1.TikTokPostSpec) {
		s.Deadline = &metav1.Time{Time: time.Date(2027, 1, 2, 9, 0, 0, 0, time.UTC)}
	}},
	{"priority", func(s *v1alpha1.TikTokPostSpec) { s.Priority = 7 }},
	{"suspend", func(s *v1alpha1.TikTokPostSpec) { s.Suspend = true }},
	{"maxAttempts", func(s *v1alpha1.TikTokPostSpec) { s.MaxAttempts = 3 }},
	{"onUncertainOutcome", func(s *v1alpha1.TikTokPostSpec) { s.OnUncertainOutcome = v1alpha1.UncertainOutcomeRetry }},
}

// recordAttempt writes, through the status subresource, what the controller writes before its first call.
func recordAttempt(t *testing.T, p *v1alpha1.TikTokPost, attempts int32, publishID string) {
	t.Helper()
	now := metav1.NowMicro()
	p.Status = v1alpha1.TikTokPostStatus{
		ObservedGeneration: p.Generation,
		Phase:              v1alpha1.PhasePublishing,
		Attempts:           attempts,
		LastAttemptTime:    &now,
		PublishID:          publishID,
		AttemptHistory:     []v1alpha1.AttemptRecord{{Attempt: 1, StartTime: now}},
		Conditions: []metav1.Condition{{
			Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonPublishing,
			Message: "init call in flight", LastTransitionTime: metav1.Now(), ObservedGeneration: p.Generation,
		}},
	}
	if err := k8sClient.Status().Update(ctx(t), p); err != nil {
		t.Fatalf("status update refused: %v", err)
	}
	got := &v1alpha1.TikTokPost{}
	if err := k8sClient.Get(ctx(t), client.ObjectKeyFromObject(p), got); err != nil {
		t.Fatal(err)
	}
	if got.Status.Attempts != attempts || got.Status.PublishID != publishID {
		t.Fatalf("status not recorded: %+v", got.Status)
	}
}

// updateSpec re-reads the post, applies mutate to its spec and updates it.
func updateSpec(t *testing.T, key client.ObjectKey, mutate func(*v1alpha1.TikTokPostSpec)) error {
	t.Helper()
	p := &v1alpha1.TikTokPost{}
	if err := k8sClient.Get(ctx(t), key, p); err != nil {
		t.Fatal(err)
	}
	mutate(&p.Spec)
	return k8sClient.Update(ctx(t), p)
}

// Once status records an attempt, every content field is fixed and the scheduling fields stay editable.
func TestContentImmutableAfterFirstAttempt(t *testing.T) {
	ns := newNamespace(t)
	video, photo := newVideoPost(ns, "video"), newPhotoPost(ns, "photo")
	for _, p := range []*v1alpha1.TikTokPost{video, photo} {
		if err := k8sClient.Create(ctx(t), p); err != nil {
			t.Fatalf("create %s: %v", p.Name, err)
		}
		recordAttempt(t, p, 1, "")
	}
	for _, c := range contentChanges {
		key := client.ObjectKeyFromObject(video)
		if c.photo {
			key = client.ObjectKeyFromObject(photo)
		}
		t.Run("refused/"+c.field, func(t *testing.T) {
			err := updateSpec(t, key, c.mutate)
			if err == nil {
				t.Fatalf("change of %s accepted after the first attempt", c.field)
			}
			if !apierrors.IsInvalid(err) {
				t.Errorf("want 422 Invalid, got %v", err)
			}
			msg := err.Error()
			// One rule locks the content (see the TikTokPost type): the path is spec, the message names the field.
			for _, w := range []string{"spec: Forbidden", c.field + " cannot change once the first attempt has started"} {
				if !strings.Contains(msg, w) {
					t.Errorf("refusal does not mention %q:\n%s", w, msg)
				}
			}
		})
	}
	for _, c := range schedulingChanges {
		t.Run("accepted/"+c.field, func(t *testing.T) {
			if err := updateSpec(t, client.ObjectKeyFromObject(video), c.mutate); err != nil {
				t.Errorf("change of spec.%s refused after the first attempt: %v", c.field, err)
			}
		})
	}
	// The other validation rules still hold on update: deadline before publishAt.
	err := updateSpec(t, client.ObjectKeyFromObject(video), func(s *v1alpha1.TikTokPostSpec) {
		s.Deadline = &metav1.Time{Time: s.PublishAt.Add(-time.Hour)}
	})
	if err == nil || !strings.Contains(err.Error(), "spec.deadline must be after spec.publishAt") {
		t.Errorf("deadline before publishAt on update: got %v", err)
	}
	// Metadata (the retry annotation, labels) stays editable.
	if err := updateSpecAndMeta(t, client.ObjectKeyFromObject(video)); err != nil {
		t.Errorf("annotation change refused: %v", err)
	}
}

func updateSpecAndMeta(t *testing.T, key client.ObjectKey) error {
	p := &v1alpha1.TikTokPost{}
	if err := k8sClient.Get(ctx(t), key, p); err != nil {
		t.Fatal(err)
	}
	p.Annotations = map[string]string{v1alpha1.RetryAnnotation: "1"}
	p.Labels = map[string]string{"campaign": "launch"}
	return k8sClient.Update(ctx(t), p)
}

// A publishID alone (attempts not counted) also fixes the content.
func TestContentImmutableOncePublishIDRecorded(t *testing.T) {
	ns := newNamespace(t)
	p := newVideoPost(ns, "video")
	if err := k8sClient.Create(ctx(t), p); err != nil {
		t.Fatal(err)
	}
	recordAttempt(t, p, 0, "v_pub_url~v2-1.123")
	err := updateSpec(t, client.ObjectKeyFromObject(p), func(s *v1alpha1.TikTokPostSpec) { s.Title = "edited" })
	if err == nil || !strings.Contains(err.Error(), "spec.title cannot change") {
		t.Errorf("title change with a publishID recorded: got %v, want refused naming spec.title", err)
	}
}

// Before any attempt every content field may change; status without an attempt does not lock it.
func TestContentEditableBeforeFirstAttempt(t *testing.T) {
	ns := newNamespace(t)
	video, photo := newVideoPost(ns, "video"), newPhotoPost(ns, "photo")
	for _, p := range []*v1alpha1.TikTokPost{video, photo} {
		if err := k8sClient.Create(ctx(t), p); err != nil {
			t.Fatal(err)
		}
	}
	// A queued post has a status, but no attempt yet.
	queued := &v1alpha1.TikTokPost{}
	if err := k8sClient.Get(ctx(t), client.ObjectKeyFromObject(video), queued); err != nil {
		t.Fatal(err)
	}
	queued.Status = v1alpha1.TikTokPostStatus{Phase: v1alpha1.PhaseQueued, QueuePosition: 3,
		NextAttemptTime: &metav1.Time{Time: time.Now().Add(time.Minute)}}
	if err := k8sClient.Status().Update(ctx(t), queued); err != nil {
		t.Fatalf("status update refused: %v", err)
	}
	for _, c := range contentChanges[:len(contentChanges)-1] {
		key := client.ObjectKeyFromObject(video)
		if c.photo {
			key = client.ObjectKeyFromObject(photo)
		}
		if err := updateSpec(t, key, c.mutate); err != nil {
			t.Errorf("change of %s refused before the first attempt: %v", c.field, err)
		}
	}
}

// A boolean left out counts as false: after the first attempt, writing an explicit false (as a GitOps tool
// does when a manifest spells it out) or taking it out again is no change, and true still is.
func TestContentLockLeftOutBooleanIsFalse(t *testing.T) {
	ns := newNamespace(t)
	p := newVideoPost(ns, "video")
	if err := k8sClient.Create(ctx(t), p); err != nil {
		t.Fatal(err)
	}
	recordAttempt(t, p, 1, "")
	patch := func(body string) error {
		return k8sClient.Patch(ctx(t), p, client.RawPatch(types.MergePatchType, []byte(body)))
	}
	for _, body := range []string{
		`{"spec":{"disableComment":false,"disableDuet":false,"disableStitch":false,"brandContent":false,` +
			`"brandOrganic":false,"aiGenerated":false,"autoAddMusic":false}}`,
		`{"spec":{"disableComment":null,"aiGenerated":null}}`,
	} {
		if err := patch(body); err != nil {
			t.Errorf("%s refused after the first attempt: %v", body, err)
		}
	}
	// A status write on a post whose content is locked goes through (the spec is unchanged).
	recordAttempt(t, p, 2, "")
	for _, f := range []string{"disableComment", "disableStitch", "aiGenerated"} {
		err := patch(`{"spec":{"` + f + `":true}}`)
		if err == nil || !strings.Contains(err.Error(), "spec."+f+" cannot change once the first attempt has started") {
			t.Errorf("%s false -> true after the first attempt: got %v, want refused naming spec.%s", f, err, f)
		}
	}
}
