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

// PostMode is how the post reaches TikTok.
// +kubebuilder:validation:Enum=DirectPost;Upload
// +kubebuilder:validation:MaxLength=16
type PostMode string

const (
	// ModeDirectPost publishes the post on the creator's profile (DIRECT_POST).
	ModeDirectPost PostMode = "DirectPost"
	// ModeUpload sends the post to the creator's inbox as a draft they finish in the app
	// (inbox/video/init for a video, MEDIA_UPLOAD for photos). It ends in phase Delivered.
	ModeUpload PostMode = "Upload"
)

// TransferMethod is how the media reaches TikTok.
// +kubebuilder:validation:Enum=PullFromURL;FileUpload
// +kubebuilder:validation:MaxLength=16
type TransferMethod string

const (
	// TransferPullFromURL lets TikTok download the media from its URL (PULL_FROM_URL); the URL's
	// domain or prefix must be verified by the app owner.
	TransferPullFromURL TransferMethod = "PullFromURL"
	// TransferFileUpload makes the operator download the video and stream it to TikTok in chunks
	// (FILE_UPLOAD). Videos only.
	TransferFileUpload TransferMethod = "FileUpload"
)

// UncertainOutcomePolicy is what the operator does when it finds an init call whose answer was never
// recorded (the process died mid-call): TikTok may or may not have taken the post.
// +kubebuilder:validation:Enum=Fail;Retry
// +kubebuilder:validation:MaxLength=16
type UncertainOutcomePolicy string

const (
	// UncertainOutcomeFail marks the post Failed with reason UncertainOutcome; a human checks the
	// creator's profile and retries with the retry annotation if needed (never a duplicate post).
	UncertainOutcomeFail UncertainOutcomePolicy = "Fail"
	// UncertainOutcomeRetry tries again (a duplicate post is possible).
	UncertainOutcomeRetry UncertainOutcomePolicy = "Retry"
)

// Phase is where a TikTokPost stands.
// +kubebuilder:validation:Enum=Pending;Scheduled;Queued;Publishing;Processing;Published;Delivered;Failed
type Phase string

const (
	// PhasePending: accepted by the operator, not yet placed in its account's queue (for example the
	// AccountQuota is missing or not ready).
	PhasePending Phase = "Pending"
	// PhaseScheduled: waiting for spec.publishAt.
	PhaseScheduled Phase = "Scheduled"
	// PhaseQueued: waiting for a slot in the account's quota or for a backoff to expire.
	PhaseQueued Phase = "Queued"
	// PhasePublishing: the init call is being made (intent recorded in status before the call).
	PhasePublishing Phase = "Publishing"
	// PhaseProcessing: TikTok accepted the init call and is downloading or processing the media.
	PhaseProcessing Phase = "Processing"
	// PhasePublished: TikTok answered PUBLISH_COMPLETE (terminal, DirectPost).
	PhasePublished Phase = "Published"
	// PhaseDelivered: TikTok answered SEND_TO_USER_INBOX: the draft is in the creator's inbox
	// (terminal, Upload).
	PhaseDelivered Phase = "Delivered"
	// PhaseFailed: the post will not be published without a human (terminal until the retry annotation).
	PhaseFailed Phase = "Failed"
)

// Outcomes of one attempt (status.attemptHistory[].outcome).
const (
	// AttemptOutcomeAccepted: TikTok accepted the init call (a publish_id came back).
	AttemptOutcomeAccepted = "Accepted"
	// AttemptOutcomeRateLimited: TikTok answered 429 (certain: the post was not taken).
	AttemptOutcomeRateLimited = "RateLimited"
	// AttemptOutcomeRejected: TikTok refused the post with a non-retryable error.
	AttemptOutcomeRejected = "Rejected"
	// AttemptOutcomeRetryableError: a transport error, a 5xx or a retryable error code.
	AttemptOutcomeRetryableError = "RetryableError"
	// AttemptOutcomeUncertain: the answer was never recorded (the operator restarted mid-call).
	AttemptOutcomeUncertain = "Uncertain"
	// AttemptOutcomeProcessingFailed: accepted, then status/fetch answered FAILED.
	AttemptOutcomeProcessingFailed = "ProcessingFailed"
)

// VideoSource is the video of a video post.
type VideoSource struct {
	// url is where the video is, https:// only. With PullFromURL TikTok downloads it (its domain must be
	// verified by the app owner); with FileUpload the operator downloads it and uploads the bytes.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.matches('^https://[a-zA-Z0-9[][^/?#@ ]*([/?#].*)?$')",message="video.url must be an https:// URL (TikTok pulls media over https only)"
	URL string `json:"url"`

	// transfer is how the video reaches TikTok: PullFromURL (TikTok downloads it) or FileUpload (the
	// operator streams the bytes in chunks).
	// +optional
	// +kubebuilder:default=PullFromURL
	Transfer TransferMethod `json:"transfer,omitempty"`

	// coverTimestampMs is the frame, in milliseconds from the start, used as the cover.
	// +optional
	// +kubebuilder:validation:Minimum=0
	CoverTimestampMs *int32 `json:"coverTimestampMs,omitempty"`
}

// PhotoSource is the images of a photo post (a carousel).
// +kubebuilder:validation:XValidation:rule="!has(self.coverIndex) || self.coverIndex < size(self.urls)",message="photo.coverIndex must point into photo.urls (0 to the number of urls minus 1)",fieldPath=".coverIndex"
// +kubebuilder:validation:XValidation:rule="!has(self.transfer) || self.transfer == 'PullFromURL'",message="photo.transfer must be PullFromURL: TikTok accepts photo posts only as PULL_FROM_URL (FileUpload is for videos)",fieldPath=".transfer"
type PhotoSource struct {
	// urls are the images, in order, 1 to 35 https:// URLs (WebP or JPEG, up to 1080p, 20 MB each).
	// +required
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=35
	// +kubebuilder:validation:items:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.all(u, u.matches('^https://[a-zA-Z0-9[][^/?#@ ]*([/?#].*)?$'))",message="photo.urls: every URL must be https:// (TikTok pulls media over https only)"
	URLs []string `json:"urls"`

	// coverIndex is the 0-based index in urls of the cover image.
	// +optional
	// +kubebuilder:default=0
	// +kubebuilder:validation:Minimum=0
	CoverIndex int32 `json:"coverIndex,omitempty"`

	// transfer is how the photos reach TikTok. TikTok accepts only PullFromURL for photos; the field
	// exists so that FileUpload is refused with a clear message.
	// +optional
	// +kubebuilder:default=PullFromURL
	Transfer TransferMethod `json:"transfer,omitempty"`
}

// Implementation notes on the spec's rules and defaults, kept out of the generated description (the
// measurements are in docs/scale.md): the API server runs these rules on every write of the post,
// status writes included, and each field a rule reads costs it a copy of the schema's property map, so
// every rule reads first the field that settles it for most posts (a description or autoAddMusic left
// out, a privacyLevel set). The booleans and priority have no default written into the object (left
// out, they are false and 0): a default the API server writes is a field it decodes, validates, tracks
// in managedFields and sends to every watcher on every write of the post.

// TikTokPostSpec is one post: its content (fixed once the first attempt has started) and how the operator
// schedules it (editable at any time). The booleans and priority left out are false and 0.
// +kubebuilder:validation:XValidation:rule="has(self.video) != has(self.photo)",message="exactly one of spec.video or spec.photo must be set"
// +kubebuilder:validation:XValidation:rule="!has(self.photo) || !has(self.title) || self.title.size() <= 90",message="spec.title must be at most 90 characters for a photo post (2200 for a video post)",fieldPath=".title"
// +kubebuilder:validation:XValidation:rule="!has(self.description) || self.description.size() == 0 || !has(self.video)",message="spec.description is for photo posts only: put a video's text in spec.title",fieldPath=".description"
// +kubebuilder:validation:XValidation:rule="!has(self.autoAddMusic) || !self.autoAddMusic || !has(self.video)",message="spec.autoAddMusic is for photo posts only",fieldPath=".autoAddMusic"
// +kubebuilder:validation:XValidation:rule="has(self.privacyLevel) || (has(self.mode) && self.mode == 'Upload')",message="spec.privacyLevel is required when spec.mode is DirectPost (TikTok requires post_info.privacy_level)",fieldPath=".privacyLevel"
// +kubebuilder:validation:XValidation:rule="!has(self.publishAt) || !has(self.deadline) || self.deadline > self.publishAt",message="spec.deadline must be after spec.publishAt",fieldPath=".deadline"
type TikTokPostSpec struct {
	// accountRef names the AccountQuota, in the same namespace, that publishes this post.
	// Fixed once the first attempt has started.
	// +required
	AccountRef LocalObjectReference `json:"accountRef"`

	// mode is DirectPost (publish on the creator's profile, ends Published) or Upload (a draft in the
	// creator's inbox, ends Delivered). Photo posts support both. Fixed once the first attempt has started.
	// +optional
	// +kubebuilder:default=DirectPost
	Mode PostMode `json:"mode,omitempty"`

	// video makes this a video post. Exactly one of video and photo. Fixed once the first attempt has started.
	// +optional
	Video *VideoSource `json:"video,omitempty"`

	// photo makes this a photo post (1 to 35 images). Exactly one of video and photo. Fixed once the first
	// attempt has started.
	// +optional
	Photo *PhotoSource `json:"photo,omitempty"`

	// title is the post's caption: at most 2200 characters for a video post, 90 for a photo post.
	// TikTok counts UTF-16 code units (an emoji outside the BMP counts 2); the API server counts characters.
	// Ignored by TikTok for a video in Upload mode. Fixed once the first attempt has started.
	// +optional
	// +kubebuilder:validation:MaxLength=2200
	Title string `json:"title,omitempty"`

	// description is a photo post's text, at most 4000 characters; photo posts only.
	// Fixed once the first attempt has started.
	// +optional
	// +kubebuilder:validation:MaxLength=4000
	Description string `json:"description,omitempty"`

	// privacyLevel is who can see the post: PUBLIC_TO_EVERYONE, MUTUAL_FOLLOW_FRIENDS,
	// FOLLOWER_OF_CREATOR or SELF_ONLY. Required for DirectPost, optional for Upload. It must be one of the
	// creator's options (AccountQuota status.creator.privacyLevelOptions), or the post fails with reason
	// PrivacyLevelNotAllowed. Fixed once the first attempt has started.
	// +optional
	PrivacyLevel PrivacyLevel `json:"privacyLevel,omitempty"`

	// disableComment turns comments off for this post. Fixed once the first attempt has started.
	// +optional
	DisableComment bool `json:"disableComment,omitempty"`

	// disableDuet turns duets off for this post (video posts). Fixed once the first attempt has started.
	// +optional
	DisableDuet bool `json:"disableDuet,omitempty"`

	// disableStitch turns stitches off for this post (video posts). Fixed once the first attempt has started.
	// +optional
	DisableStitch bool `json:"disableStitch,omitempty"`

	// brandContent marks the post as paid partnership promoting a third-party brand (brand_content_toggle).
	// Fixed once the first attempt has started.
	// +optional
	BrandContent bool `json:"brandContent,omitempty"`

	// brandOrganic marks the post as promoting the creator's own business (brand_organic_toggle).
	// Fixed once the first attempt has started.
	// +optional
	BrandOrganic bool `json:"brandOrganic,omitempty"`

	// aiGenerated labels the content as AI-generated (is_aigc). Fixed once the first attempt has started.
	// +optional
	AIGenerated bool `json:"aiGenerated,omitempty"`

	// autoAddMusic lets TikTok add music to a photo post (photo posts only).
	// Fixed once the first attempt has started.
	// +optional
	AutoAddMusic bool `json:"autoAddMusic,omitempty"`

	// publishAt is the earliest time the post may be sent; unset means as soon as the quota allows.
	// Editable at any time.
	// +optional
	PublishAt *metav1.Time `json:"publishAt,omitempty"`

	// deadline is when the operator gives up if TikTok has not accepted the post by then (phase Failed,
	// reason DeadlineExceeded). Must be after publishAt when both are set. Editable at any time.
	// +optional
	Deadline *metav1.Time `json:"deadline,omitempty"`

	// priority orders the posts of one account: higher goes first, then earlier publishAt, then older
	// creation time, then name. Editable at any time.
	// +optional
	// +kubebuilder:validation:Minimum=-1000000
	// +kubebuilder:validation:Maximum=1000000
	Priority int32 `json:"priority,omitempty"`

	// maxAttempts is the number of init calls the operator makes before the post fails with reason
	// MaxAttemptsExceeded (1 to 100). Editable at any time.
	// +optional
	// +kubebuilder:default=10
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	MaxAttempts int32 `json:"maxAttempts,omitempty"`

	// onUncertainOutcome is what to do when the operator finds an init call whose answer it never
	// recorded (it died mid-call): Fail (phase Failed, reason UncertainOutcome; never a duplicate post) or
	// Retry (call again; a duplicate is possible). Editable at any time.
	// +optional
	// +kubebuilder:default=Fail
	OnUncertainOutcome UncertainOutcomePolicy `json:"onUncertainOutcome,omitempty"`

	// suspend keeps the post out of the queue while true (no call is made; a call in flight finishes).
	// Editable at any time.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// PostError is the last error TikTok (or the transport) returned for this post. Never contains a token.
type PostError struct {
	// code is TikTok's error.code (for example rate_limit_exceeded), or a status/fetch fail_reason, or
	// an operator code such as transport_error. At most 128 characters (a longer code is cut).
	// +optional
	// +kubebuilder:validation:MaxLength=128
	Code string `json:"code,omitempty"`
	// message is TikTok's error.message, or the transport error. At most 1024 characters (cut).
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Message string `json:"message,omitempty"`
	// httpStatus is the HTTP status of the answer; 0 when there was none.
	// +optional
	HTTPStatus int32 `json:"httpStatus,omitempty"`
	// logID is TikTok's log_id, for TikTok support. At most 128 characters (cut).
	// +optional
	// +kubebuilder:validation:MaxLength=128
	LogID string `json:"logID,omitempty"`
	// time is when the error was received.
	// +optional
	Time *metav1.Time `json:"time,omitempty"`
	// retryable is true when the operator will try again.
	// +optional
	Retryable bool `json:"retryable,omitempty"`
}

// AttemptRecord is one init attempt.
type AttemptRecord struct {
	// attempt is the attempt's number in the post's current run, from 1 (status.attempts once its intent
	// was recorded). The retry annotation starts a new run: numbering restarts at 1, after the earlier
	// run's entries.
	// +required
	Attempt int32 `json:"attempt"`
	// startTime is when the intent to call was recorded, just before the call.
	// +required
	StartTime metav1.MicroTime `json:"startTime"`
	// endTime is when the answer arrived; unset while in flight or when the outcome is uncertain.
	// +optional
	EndTime *metav1.MicroTime `json:"endTime,omitempty"`
	// outcome: Accepted, RateLimited, Rejected, RetryableError, Uncertain or ProcessingFailed; empty
	// while in flight.
	// +optional
	Outcome string `json:"outcome,omitempty"`
	// code is why the attempt failed: TikTok's error.code, an operator code (such as
	// publish_id_unusable), or status/fetch's fail_reason for ProcessingFailed. Empty when the attempt
	// was accepted or in flight, and when the failure had no code (status.lastError then says what it
	// was). At most 128 characters (cut).
	// +optional
	// +kubebuilder:validation:MaxLength=128
	Code string `json:"code,omitempty"`
	// delay is the backoff chosen after this attempt; unset when none.
	// +optional
	Delay *metav1.Duration `json:"delay,omitempty"`
	// intentID names who wrote this attempt's intent: the manager process (a random identity it chooses
	// at start) and that process's own count of intents. Set with the intent, before the call; never
	// changed. It is how an unanswered attempt is judged: the process that wrote it knows whether it
	// started the call, and abandons an attempt it never sent; for any other process (a restart, a second
	// manager) an unanswered attempt may have reached TikTok and is an uncertain outcome.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	IntentID string `json:"intentID,omitempty"`
}

// UploadProgress is the progress of a FileUpload transfer.
type UploadProgress struct {
	// uploadedBytes is the number of bytes TikTok acknowledged.
	// +optional
	UploadedBytes int64 `json:"uploadedBytes,omitempty"`
	// totalBytes is the size of the video.
	// +optional
	TotalBytes int64 `json:"totalBytes,omitempty"`
}

// TikTokPostStatus is where the post stands. Conditions carry the failure reason (Ready=False, reason).
type TikTokPostStatus struct {
	// observedGeneration is the metadata.generation the controller last acted on. Set on every status
	// write; never cleared.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// phase is where the post stands: Pending, Scheduled, Queued, Publishing, Processing, Published,
	// Delivered or Failed. Set from the first reconcile; never cleared.
	// +optional
	Phase Phase `json:"phase,omitempty"`

	// conditions: Ready (True once Published or Delivered; False with the reason otherwise, such as
	// Queued or MaxAttemptsExceeded), Reconciling (True while work is pending, removed when false),
	// Stalled (True on a terminal failure, removed when false), Throttled (True while the account's
	// cooldown or a backoff holds the post, removed when it ends).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`

	// attempts is the number of init calls started for this post (counted when the intent is recorded,
	// before the call). Once above 0 the content fields of spec cannot change. Reset to 0 by the retry
	// annotation.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Attempts int32 `json:"attempts,omitempty"`

	// lastAttemptTime is when the last init call started (microsecond precision): the startTime of the
	// newest attemptHistory entry. Set with each attempt; kept by the retry annotation, like
	// attemptHistory.
	// +optional
	LastAttemptTime *metav1.MicroTime `json:"lastAttemptTime,omitempty"`

	// nextAttemptTime is the projected time of the next init call: the account's next free slot or the
	// end of a backoff. Set when the post enters the queue and rewritten only when the projection moves
	// by more than a window; cleared once the post leaves the queue (Publishing and after).
	// +optional
	NextAttemptTime *metav1.Time `json:"nextAttemptTime,omitempty"`

	// backoffDelay is the jittered delay chosen after the last failed attempt. Set after a failed
	// attempt; cleared when an attempt is accepted and by the retry annotation.
	// +optional
	BackoffDelay *metav1.Duration `json:"backoffDelay,omitempty"`

	// lastError is the last error for this post. Set when a call fails; kept after a later success for
	// the record until the post is Published or Delivered, when it is cleared; cleared by the retry
	// annotation.
	// +optional
	LastError *PostError `json:"lastError,omitempty"`

	// attemptHistory is the last 10 attempts, oldest first, retries included. An entry is added when an
	// attempt starts (its intent is recorded before the call) and completed when it ends; an attempt the
	// operator abandoned before sending it is removed. Kept by the retry annotation: those calls reached
	// TikTok and still count in its windows, and a restarted operator rebuilds the account's pacing from
	// them.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=10
	AttemptHistory []AttemptRecord `json:"attemptHistory,omitempty"`

	// queuePosition is the post's projected place in its account's queue (1 = next). Set when the post
	// enters the queue and rewritten only when it moves by more than a window's worth; cleared when the
	// post leaves the queue.
	// +optional
	QueuePosition int32 `json:"queuePosition,omitempty"`

	// publishID is TikTok's publish_id for the accepted init call. Set when TikTok accepts an init call;
	// cleared by the retry annotation. Once set the content fields of spec cannot change. At most 128
	// characters: an init call answered with a longer publish_id cannot be followed and is an uncertain
	// outcome.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	PublishID string `json:"publishID,omitempty"`

	// processingStatus is TikTok's own word from status/fetch: PROCESSING_UPLOAD, PROCESSING_DOWNLOAD,
	// SEND_TO_USER_INBOX, PUBLISH_COMPLETE or FAILED. Set after the first status/fetch; cleared by the
	// retry annotation. At most 64 characters (cut).
	// +optional
	// +kubebuilder:validation:MaxLength=64
	ProcessingStatus string `json:"processingStatus,omitempty"`

	// uploadProgress is the progress of a FileUpload transfer. Set while the operator uploads chunks;
	// kept after; cleared by the retry annotation.
	// +optional
	UploadProgress *UploadProgress `json:"uploadProgress,omitempty"`

	// postIDs are TikTok's public post ids (publicaly_available_post_id), as strings. Set when TikTok
	// reports them, after moderation of a public post (can take hours); never set for private posts.
	// At most 35 ids (the first TikTok sends) of at most 32 characters.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=35
	// +kubebuilder:validation:items:MaxLength=32
	PostIDs []string `json:"postIDs,omitempty"`

	// publishedAt is when TikTok reported PUBLISH_COMPLETE (or SEND_TO_USER_INBOX for Upload mode).
	// Set once; never cleared (the retry annotation acts on Failed posts only, which have none).
	// +optional
	PublishedAt *metav1.Time `json:"publishedAt,omitempty"`

	// lastRetryAnnotation is the value of the publish.tiktok-operator.dev/retry annotation the operator
	// last acted on; a different value restarts a Failed post. Set when a retry is acted on; never cleared.
	// +optional
	LastRetryAnnotation string `json:"lastRetryAnnotation,omitempty"`
}

// Implementation notes on the content lock (the XValidation rule on the type below), kept out of the
// generated description (controller-gen uses only the comment block directly above the type):
// the content lock is one rule, not one per field: the API server evaluates a root rule on every
// status write too, so one rule per field multiplies that cost (docs/scale.md). An unchanged spec
// (every status write) is settled by one comparison before the fields are compared one by one; a
// boolean left out counts as false, so writing an explicit false later is no change. The message
// names the first field that changed; the field path is spec.

// TikTokPost is one TikTok post (a video or a photo carousel) that the operator publishes when the
// account's quota allows, retrying and recording every decision in its status. Its content is fixed once
// the first attempt has started; the Ready condition's reason says why a post waits or failed.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=ttpost,categories=tiktok
// +kubebuilder:printcolumn:name="Account",type=string,JSONPath=".spec.accountRef.name"
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=".status.phase"
// +kubebuilder:printcolumn:name="Attempts",type=integer,JSONPath=".status.attempts"
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=".status.conditions[?(@.type==\"Ready\")].status"
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=".status.conditions[?(@.type==\"Ready\")].reason"
// +kubebuilder:printcolumn:name="Next Attempt",type=string,JSONPath=".status.nextAttemptTime",priority=1
// +kubebuilder:printcolumn:name="Post ID",type=string,JSONPath=".status.postIDs[0]",priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=".metadata.creationTimestamp"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.status) || ((!has(oldSelf.status.attempts) || oldSelf.status.attempts == 0) && (!has(oldSelf.status.publishID) || size(oldSelf.status.publishID) == 0)) || self.spec == oldSelf.spec || (self.spec.accountRef == oldSelf.spec.accountRef && (has(self.spec.mode) ? has(oldSelf.spec.mode) && self.spec.mode == oldSelf.spec.mode : !has(oldSelf.spec.mode)) && (has(self.spec.video) ? has(oldSelf.spec.video) && self.spec.video == oldSelf.spec.video : !has(oldSelf.spec.video)) && (has(self.spec.photo) ? has(oldSelf.spec.photo) && self.spec.photo == oldSelf.spec.photo : !has(oldSelf.spec.photo)) && (has(self.spec.title) ? has(oldSelf.spec.title) && self.spec.title == oldSelf.spec.title : !has(oldSelf.spec.title)) && (has(self.spec.description) ? has(oldSelf.spec.description) && self.spec.description == oldSelf.spec.description : !has(oldSelf.spec.description)) && (has(self.spec.privacyLevel) ? has(oldSelf.spec.privacyLevel) && self.spec.privacyLevel == oldSelf.spec.privacyLevel : !has(oldSelf.spec.privacyLevel)) && (has(self.spec.disableComment) && self.spec.disableComment) == (has(oldSelf.spec.disableComment) && oldSelf.spec.disableComment) && (has(self.spec.disableDuet) && self.spec.disableDuet) == (has(oldSelf.spec.disableDuet) && oldSelf.spec.disableDuet) && (has(self.spec.disableStitch) && self.spec.disableStitch) == (has(oldSelf.spec.disableStitch) && oldSelf.spec.disableStitch) && (has(self.spec.brandContent) && self.spec.brandContent) == (has(oldSelf.spec.brandContent) && oldSelf.spec.brandContent) && (has(self.spec.brandOrganic) && self.spec.brandOrganic) == (has(oldSelf.spec.brandOrganic) && oldSelf.spec.brandOrganic) && (has(self.spec.aiGenerated) && self.spec.aiGenerated) == (has(oldSelf.spec.aiGenerated) && oldSelf.spec.aiGenerated) && (has(self.spec.autoAddMusic) && self.spec.autoAddMusic) == (has(oldSelf.spec.autoAddMusic) && oldSelf.spec.autoAddMusic))",messageExpression="'spec.' + (self.spec.accountRef != oldSelf.spec.accountRef ? 'accountRef' : !(has(self.spec.mode) ? has(oldSelf.spec.mode) && self.spec.mode == oldSelf.spec.mode : !has(oldSelf.spec.mode)) ? 'mode' : !(has(self.spec.video) ? has(oldSelf.spec.video) && self.spec.video == oldSelf.spec.video : !has(oldSelf.spec.video)) ? 'video' : !(has(self.spec.photo) ? has(oldSelf.spec.photo) && self.spec.photo == oldSelf.spec.photo : !has(oldSelf.spec.photo)) ? 'photo' : !(has(self.spec.title) ? has(oldSelf.spec.title) && self.spec.title == oldSelf.spec.title : !has(oldSelf.spec.title)) ? 'title' : !(has(self.spec.description) ? has(oldSelf.spec.description) && self.spec.description == oldSelf.spec.description : !has(oldSelf.spec.description)) ? 'description' : !(has(self.spec.privacyLevel) ? has(oldSelf.spec.privacyLevel) && self.spec.privacyLevel == oldSelf.spec.privacyLevel : !has(oldSelf.spec.privacyLevel)) ? 'privacyLevel' : (has(self.spec.disableComment) && self.spec.disableComment) != (has(oldSelf.spec.disableComment) && oldSelf.spec.disableComment) ? 'disableComment' : (has(self.spec.disableDuet) && self.spec.disableDuet) != (has(oldSelf.spec.disableDuet) && oldSelf.spec.disableDuet) ? 'disableDuet' : (has(self.spec.disableStitch) && self.spec.disableStitch) != (has(oldSelf.spec.disableStitch) && oldSelf.spec.disableStitch) ? 'disableStitch' : (has(self.spec.brandContent) && self.spec.brandContent) != (has(oldSelf.spec.brandContent) && oldSelf.spec.brandContent) ? 'brandContent' : (has(self.spec.brandOrganic) && self.spec.brandOrganic) != (has(oldSelf.spec.brandOrganic) && oldSelf.spec.brandOrganic) ? 'brandOrganic' : (has(self.spec.aiGenerated) && self.spec.aiGenerated) != (has(oldSelf.spec.aiGenerated) && oldSelf.spec.aiGenerated) ? 'aiGenerated' : 'autoAddMusic') + ' cannot change once the first attempt has started (status.attempts > 0): delete and recreate the TikTokPost to change it'",fieldPath=".spec",reason=FieldValueForbidden
type TikTokPost struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the post's content and scheduling.
	// +required
	Spec TikTokPostSpec `json:"spec"`

	// status is where the post stands.
	// +optional
	Status TikTokPostStatus `json:"status,omitzero"`
}

// TikTokPostList is a list of TikTokPosts.
// +kubebuilder:object:root=true
type TikTokPostList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []TikTokPost `json:"items"`
}

func init() {
	SchemeBuilder.Register(&TikTokPost{}, &TikTokPostList{})
}
