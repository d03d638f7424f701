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

// Condition types (kstatus): Ready is always present after the first reconcile; Reconciling and Stalled are
// removed when false; Throttled is removed when the throttle ends.
const (
	// ConditionReady is True when the post is Published or Delivered, or the account can post.
	ConditionReady = "Ready"
	// ConditionReconciling is True while work is pending (queued, publishing, processing).
	ConditionReconciling = "Reconciling"
	// ConditionStalled is True on a terminal failure that needs a human.
	ConditionStalled = "Stalled"
	// ConditionThrottled is True while an account cooldown or a backoff holds calls back.
	ConditionThrottled = "Throttled"
	// ConditionContended (AccountQuota only) is True when a manager found the account's Lease held by another
	// manager and left the account alone: more than one manager matches the account (overlapping
	// --account-selector values, or replicas without --leader-elect). Its message names the holder. Removed
	// by the holder when it names another holder or is older than ten lease durations (a manager that still
	// finds the account held elsewhere sets it again).
	ConditionContended = "Contended"
)

// Condition reasons (CamelCase, as metav1.Condition requires).
const (
	// Progress of a post.
	ReasonPending    = "Pending"
	ReasonScheduled  = "Scheduled"
	ReasonQueued     = "Queued"
	ReasonPublishing = "Publishing"
	ReasonProcessing = "Processing"
	ReasonPublished  = "Published"
	ReasonDelivered  = "Delivered"
	ReasonSuspended  = "Suspended"
	ReasonRetrying   = "Retrying"

	// Terminal failures of a post (Ready=False, Stalled=True, phase Failed).
	ReasonUncertainOutcome       = "UncertainOutcome"
	ReasonMaxAttemptsExceeded    = "MaxAttemptsExceeded"
	ReasonDeadlineExceeded       = "DeadlineExceeded"
	ReasonPrivacyLevelNotAllowed = "PrivacyLevelNotAllowed"
	ReasonMediaURLNotAllowed     = "MediaURLNotAllowed"
	ReasonTikTokRejected         = "TikTokRejected"
	ReasonProcessingFailed       = "ProcessingFailed"
	ReasonUploadFailed           = "UploadFailed"
	// ReasonProcessingTimeout: TikTok accepted the post but did not finish processing it within the
	// manager's --processing-timeout (counted from the accepted init call).
	ReasonProcessingTimeout = "ProcessingTimeout"
	// ReasonUploadURLNotAllowed: TikTok's init answer gave an upload_url that is neither on the account's
	// endpoint nor https on a host of the manager's --allowed-upload-hosts; no byte was sent to it.
	ReasonUploadURLNotAllowed = "UploadURLNotAllowed"

	// Waiting on the account (post) or problems of the account (AccountQuota).
	ReasonAccountNotFound    = "AccountNotFound"
	ReasonAccountNotReady    = "AccountNotReady"
	ReasonRateLimited        = "RateLimited"
	ReasonRetryableError     = "RetryableError"
	ReasonQuotaExhausted     = "QuotaExhausted"
	ReasonCredentialsInvalid = "CredentialsInvalid"
	ReasonCredentialsMissing = "CredentialsMissing"
	ReasonTokenRefreshFailed = "TokenRefreshFailed"
	ReasonSecretWriteFailed  = "SecretWriteFailed"
	ReasonAccountBanned      = "AccountBanned"
	ReasonAccountReady       = "AccountReady"
	ReasonCreatorInfoFailed  = "CreatorInfoFailed"

	// ReasonDailyCapReachedElsewhere (ReasonPendingShareCapReachedElsewhere), on an AccountQuota's
	// Throttled condition: TikTok refused a post by the account's daily (pending-share) cap, which the
	// operator's own posts do not fill: other apps of the creator posted. The cap is held until
	// status.throttledUntil, then one post probes.
	ReasonDailyCapReachedElsewhere        = "DailyCapReachedElsewhere"
	ReasonPendingShareCapReachedElsewhere = "PendingShareCapReachedElsewhere"

	// Event reasons of a refreshed token pair whose Secret is no longer the account's (spec.credentialsSecretRef
	// changed, or the Secret was deleted and created again, before the pair was written): the pair goes back
	// to the Secret it was refreshed from, or is dropped when that Secret is gone. Never into another Secret.
	ReasonOrphanedTokensWritten = "OrphanedTokensWritten"
	ReasonOrphanedTokensDropped = "OrphanedTokensDropped"
	// ReasonAccountHeldElsewhere (condition Contended, and a Warning Event on the AccountQuota): another
	// manager holds the account's Lease, so this one makes no call for the account and writes none of its
	// posts.
	ReasonAccountHeldElsewhere = "AccountHeldElsewhere"
	// ReasonEndpointNotAllowed: the account's endpoint (spec.endpoint, or TikTok's when empty) is not on
	// the manager's --allowed-endpoints; no request is sent to it (Stalled: the administrators or the
	// account's owner must act).
	ReasonEndpointNotAllowed = "EndpointNotAllowed"
)
