// Package tiktok is the operator's only way to talk to TikTok's Content Posting and OAuth APIs.
//
// One Client serves every account: tokens are passed per call and never stored, printed or logged
// (see AccessToken). Every call runs under a context deadline, reports itself to an optional Hook
// (the pacing engine and the metrics count calls from it), and fails with a single error type, *Error,
// whose Class tells the caller what is safe to do next. The Class rule that matters most is Uncertain:
// the operator publishes each post at most once, so any failure after which TikTok may have accepted the
// request is Uncertain, never Retryable (see ClassOf).
package tiktok
