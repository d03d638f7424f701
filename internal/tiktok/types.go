package tiktok

// Privacy levels a post may ask for; the creator's allowed subset comes from CreatorInfo.
const (
	PrivacyPublic    = "PUBLIC_TO_EVERYONE"
	PrivacyFriends   = "MUTUAL_FOLLOW_FRIENDS"
	PrivacyFollowers = "FOLLOWER_OF_CREATOR"
	PrivacySelfOnly  = "SELF_ONLY"
)

// Source says how TikTok gets the media.
type Source string

const (
	SourcePullFromURL Source = "PULL_FROM_URL"
	SourceFileUpload  Source = "FILE_UPLOAD"
)

// PostMode is the photo endpoint's mode: publish now, or send to the creator's inbox.
type PostMode string

const (
	PostModeDirect PostMode = "DIRECT_POST"
	PostModeUpload PostMode = "MEDIA_UPLOAD"
)

// Processing statuses returned by FetchStatus.
const (
	StatusProcessingUpload   = "PROCESSING_UPLOAD"
	StatusProcessingDownload = "PROCESSING_DOWNLOAD"
	StatusSendToUserInbox    = "SEND_TO_USER_INBOX"
	StatusPublishComplete    = "PUBLISH_COMPLETE"
	StatusFailed             = "FAILED"
)

// CreatorInfo is the creator_info answer: what this creator may post right now.
type CreatorInfo struct {
	AvatarURL               string   `json:"creator_avatar_url"`
	Username                string   `json:"creator_username"`
	Nickname                string   `json:"creator_nickname"`
	PrivacyLevelOptions     []string `json:"privacy_level_options"`
	CommentDisabled         bool     `json:"comment_disabled"`
	DuetDisabled            bool     `json:"duet_disabled"`
	StitchDisabled          bool     `json:"stitch_disabled"`
	MaxVideoPostDurationSec int32    `json:"max_video_post_duration_sec"`
}

// VideoPostInfo is post_info of a Direct Post video.
type VideoPostInfo struct {
	Title                 string `json:"title,omitempty"`
	PrivacyLevel          string `json:"privacy_level"`
	DisableDuet           bool   `json:"disable_duet"`
	DisableStitch         bool   `json:"disable_stitch"`
	DisableComment        bool   `json:"disable_comment"`
	VideoCoverTimestampMs int32  `json:"video_cover_timestamp_ms,omitempty"`
	BrandContentToggle    bool   `json:"brand_content_toggle"`
	BrandOrganicToggle    bool   `json:"brand_organic_toggle"`
	IsAIGC                bool   `json:"is_aigc"`
}

// VideoSource is source_info of the video endpoints. Build it with PullFromURL or FileUpload.
type VideoSource struct {
	Source          Source `json:"source"`
	VideoURL        string `json:"video_url,omitempty"`
	VideoSize       int64  `json:"video_size,omitempty"`
	ChunkSize       int64  `json:"chunk_size,omitempty"`
	TotalChunkCount int64  `json:"total_chunk_count,omitempty"`
}

// PullFromURL is a source TikTok downloads itself; the URL's prefix must be verified for the app.
func PullFromURL(videoURL string) VideoSource {
	return VideoSource{Source: SourcePullFromURL, VideoURL: videoURL}
}

// FileUpload is a source the operator uploads in chunks with Upload, following plan.
func FileUpload(plan ChunkPlan) VideoSource {
	return VideoSource{Source: SourceFileUpload, VideoSize: plan.VideoSize, ChunkSize: plan.ChunkSize, TotalChunkCount: plan.TotalChunkCount}
}

// DirectVideoRequest is the body of video/init (Direct Post).
type DirectVideoRequest struct {
	PostInfo   VideoPostInfo `json:"post_info"`
	SourceInfo VideoSource   `json:"source_info"`
}

// InboxVideoRequest is the body of inbox/video/init (a draft in the creator's inbox).
type InboxVideoRequest struct {
	SourceInfo VideoSource `json:"source_info"`
}

// PhotoPostInfo is post_info of a photo post.
type PhotoPostInfo struct {
	Title              string `json:"title,omitempty"`
	Description        string `json:"description,omitempty"`
	PrivacyLevel       string `json:"privacy_level,omitempty"` // required for DIRECT_POST
	DisableComment     bool   `json:"disable_comment"`
	AutoAddMusic       bool   `json:"auto_add_music"`
	BrandContentToggle bool   `json:"brand_content_toggle"`
	BrandOrganicToggle bool   `json:"brand_organic_toggle"`
}

// PhotoRequest is the body of content/init. MediaType and the source (PULL_FROM_URL, the only one
// TikTok accepts for photos) are filled in by InitPhoto.
type PhotoRequest struct {
	PostMode        PostMode      `json:"post_mode"`
	PostInfo        PhotoPostInfo `json:"post_info"`
	PhotoImages     []string      `json:"-"`
	PhotoCoverIndex int           `json:"-"`
}

// InitResult is the answer of the three init endpoints. UploadURL is set only for FILE_UPLOAD; it
// carries an upload token in its query, so treat it as a secret (errors print it without the query).
type InitResult struct {
	PublishID string `json:"publish_id"`
	UploadURL string `json:"upload_url,omitempty"`
}

// PublishStatus is the status/fetch answer.
type PublishStatus struct {
	Status          string  `json:"status"`
	FailReason      string  `json:"fail_reason,omitempty"`
	PostIDs         PostIDs `json:"publicaly_available_post_id,omitempty"`
	UploadedBytes   int64   `json:"uploaded_bytes,omitempty"`
	DownloadedBytes int64   `json:"downloaded_bytes,omitempty"`
}

// Token is the OAuth token endpoint's answer. Lifetimes are as TikTok sent them: never assume one.
type Token struct {
	AccessToken      AccessToken
	ExpiresIn        int64 // seconds
	RefreshToken     RefreshToken
	RefreshExpiresIn int64 // seconds
	OpenID           string
	Scope            []string
	TokenType        string
}
