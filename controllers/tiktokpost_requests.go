package controllers

import (
	"context"
	"fmt"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktok"
)

// initOutput is what a successful init call leaves: the publish id and, for FileUpload, where and how
// the bytes go.
type initOutput struct {
	publishID string
	uploadURL string
	plan      tiktok.ChunkPlan
	mediaURL  string
}

// initCall sends the init call the post's spec asks for. For FileUpload it first asks the media server
// for the file's size (TikTok wants the chunk plan in the init call).
func (r *TikTokPostReconciler) initCall(ctx context.Context, s *postScope, tok tiktok.AccessToken) (*initOutput, error) {
	spec := &s.post.Spec
	c, err := r.TikTok.forAccount(s.account)
	if err != nil {
		// stepAccount holds such a post back before its intent; should it get here, nothing is sent.
		return nil, &tiktok.Error{Class: tiktok.Retryable, Code: "endpoint_not_allowed", Message: err.Error()}
	}
	if spec.Photo != nil {
		res, err := c.InitPhoto(ctx, tok, photoRequest(spec))
		if err != nil {
			return nil, err
		}
		return &initOutput{publishID: res.PublishID}, nil
	}
	src := tiktok.PullFromURL(spec.Video.URL)
	var plan tiktok.ChunkPlan
	if spec.Video.Transfer == v1alpha1.TransferFileUpload {
		size, err := r.TikTok.mediaSize(ctx, spec.Video.URL)
		if err != nil {
			return nil, err
		}
		if plan, err = tiktok.PlanChunks(size, 0); err != nil {
			return nil, &tiktok.Error{Endpoint: tiktok.EndpointUpload, Class: tiktok.Terminal, Code: "invalid_media_size",
				Message: fmt.Sprintf("the media at spec.video.url has %d bytes: %v", size, err)}
		}
		src = tiktok.FileUpload(plan)
	}
	var res *tiktok.InitResult
	if spec.Mode == v1alpha1.ModeUpload {
		res, err = c.InitInboxVideo(ctx, tok, tiktok.InboxVideoRequest{SourceInfo: src})
	} else {
		res, err = c.InitDirectVideo(ctx, tok, directVideoRequest(spec, src))
	}
	if err != nil {
		return nil, err
	}
	return &initOutput{publishID: res.PublishID, uploadURL: res.UploadURL, plan: plan, mediaURL: spec.Video.URL}, nil
}

// directVideoRequest maps the spec onto TikTok's video/init body.
func directVideoRequest(spec *v1alpha1.TikTokPostSpec, src tiktok.VideoSource) tiktok.DirectVideoRequest {
	info := tiktok.VideoPostInfo{
		Title:              spec.Title,
		PrivacyLevel:       string(spec.PrivacyLevel),
		DisableDuet:        spec.DisableDuet,
		DisableStitch:      spec.DisableStitch,
		DisableComment:     spec.DisableComment,
		BrandContentToggle: spec.BrandContent,
		BrandOrganicToggle: spec.BrandOrganic,
		IsAIGC:             spec.AIGenerated,
	}
	if spec.Video.CoverTimestampMs != nil {
		info.VideoCoverTimestampMs = *spec.Video.CoverTimestampMs
	}
	return tiktok.DirectVideoRequest{PostInfo: info, SourceInfo: src}
}

// photoRequest maps the spec onto TikTok's content/init body.
func photoRequest(spec *v1alpha1.TikTokPostSpec) tiktok.PhotoRequest {
	mode := tiktok.PostModeDirect
	if spec.Mode == v1alpha1.ModeUpload {
		mode = tiktok.PostModeUpload
	}
	return tiktok.PhotoRequest{
		PostMode: mode,
		PostInfo: tiktok.PhotoPostInfo{
			Title:              spec.Title,
			Description:        spec.Description,
			PrivacyLevel:       string(spec.PrivacyLevel),
			DisableComment:     spec.DisableComment,
			AutoAddMusic:       spec.AutoAddMusic,
			BrandContentToggle: spec.BrandContent,
			BrandOrganicToggle: spec.BrandOrganic,
		},
		PhotoImages:     append([]string(nil), spec.Photo.URLs...),
		PhotoCoverIndex: int(spec.Photo.CoverIndex),
	}
}
