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

// Names shared by the controllers, the chart and the users' manifests.
const (
	// RetryAnnotation restarts a Failed TikTokPost: set it to any value different from
	// status.lastRetryAnnotation and the controller resets the attempts and tries again (the earlier
	// attempts stay in status.attemptHistory).
	RetryAnnotation = "publish.tiktok-operator.dev/retry"

	// CredentialsLabel marks the Secrets the operator may read (value CredentialsLabelValue).
	// A Secret named by an AccountQuota without this label is not read.
	CredentialsLabel = "publish.tiktok-operator.dev/credentials"
	// CredentialsLabelValue is the value CredentialsLabel must carry.
	CredentialsLabelValue = "true"

	// Finalizer is put on a TikTokPost while an init call of it may have reached TikTok (phases Publishing
	// and Processing) and removed once the post ends: a post deleted in flight keeps it until TikTok's
	// answer is recorded and a DeletedInFlight Event names the publish id. AccountQuotas carry none.
	Finalizer = "publish.tiktok-operator.dev/finalizer"
)

// Keys of the credentials Secret named by AccountQuota.spec.credentialsSecretRef.
const (
	// SecretKeyClientKey is the TikTok app's client key (read only).
	SecretKeyClientKey = "client_key"
	// SecretKeyClientSecret is the TikTok app's client secret (read only).
	SecretKeyClientSecret = "client_secret"
	// SecretKeyAccessToken is the creator's user access token (rewritten on every refresh).
	SecretKeyAccessToken = "access_token"
	// SecretKeyRefreshToken is the creator's refresh token (rewritten on every refresh, before the new
	// access token is used, because TikTok may rotate it).
	SecretKeyRefreshToken = "refresh_token"
	// SecretKeyAccessTokenExpiresAt is where the operator writes the access token's expiry (RFC 3339).
	SecretKeyAccessTokenExpiresAt = "access_token_expires_at"
	// SecretKeyRefreshTokenExpiresAt is where the operator writes the refresh token's expiry (RFC 3339).
	SecretKeyRefreshTokenExpiresAt = "refresh_token_expires_at"
)

// LocalObjectReference names an object in the same namespace.
type LocalObjectReference struct {
	// name of the object, in the namespace of the referring object.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// PrivacyLevel is who can see a post, in TikTok's own words.
// +kubebuilder:validation:Enum=PUBLIC_TO_EVERYONE;MUTUAL_FOLLOW_FRIENDS;FOLLOWER_OF_CREATOR;SELF_ONLY
// +kubebuilder:validation:MaxLength=32
type PrivacyLevel string

// Privacy levels TikTok knows. A creator allows a subset: AccountQuota.status.creator.privacyLevelOptions.
const (
	PrivacyPublicToEveryone    PrivacyLevel = "PUBLIC_TO_EVERYONE"
	PrivacyMutualFollowFriends PrivacyLevel = "MUTUAL_FOLLOW_FRIENDS"
	PrivacyFollowerOfCreator   PrivacyLevel = "FOLLOWER_OF_CREATOR"
	PrivacySelfOnly            PrivacyLevel = "SELF_ONLY"
)
