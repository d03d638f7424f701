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

// Bounds of the status fields whose values TikTok chooses. The CRD admits no more (the maxLength and
// maxItems markers on the fields carry these numbers: a marker cannot name a constant, and
// TestStatusBoundsMatchTheCRD reads the generated CRD to check that they agree), and the controllers
// cut what TikTok sends to exactly these bounds, in characters, as valid UTF-8, so that an answer of
// any size is still written: a value over a bound would make every status write of the object fail
// with 422, and the object would be stuck.
const (
	// MaxErrorCodeLength bounds TikTok's error.code and fail_reason (status.lastError.code,
	// status.attemptHistory[].code). TikTok's longest documented code has 51 characters.
	MaxErrorCodeLength = 128
	// MaxErrorMessageLength bounds TikTok's error.message (status.lastError.message).
	MaxErrorMessageLength = 1024
	// MaxLogIDLength bounds TikTok's log_id (status.lastError.logID).
	MaxLogIDLength = 128
	// MaxPublishIDLength bounds TikTok's publish_id (status.publishID). A longer one cannot be recorded,
	// so it cannot be followed: the attempt is an uncertain outcome.
	MaxPublishIDLength = 128
	// MaxProcessingStatusLength bounds status/fetch's status word (status.processingStatus).
	MaxProcessingStatusLength = 64
	// MaxPostIDs bounds status.postIDs (a post is one video or one carousel: TikTok sends one id).
	MaxPostIDs = 35
	// MaxPostIDLength bounds one post id (an int64 has at most 20 digits).
	MaxPostIDLength = 32
	// MaxCreatorNameLength bounds the creator's username and nickname (status.creator).
	MaxCreatorNameLength = 256
	// MaxAvatarURLLength bounds status.creator.avatarURL; a longer URL is left out, not cut.
	MaxAvatarURLLength = 2048
	// MaxPrivacyLevelOptions bounds status.creator.privacyLevelOptions (TikTok knows four levels).
	MaxPrivacyLevelOptions = 8
	// MaxPrivacyLevelOptionLength bounds one privacy level option; a longer one is left out, not cut.
	MaxPrivacyLevelOptionLength = 64
)
