package crd

import (
	"fmt"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

const (
	goodVideo = `{url: "https://cdn.example.com/v.mp4"}`
	goodPhoto = `{urls: ["https://cdn.example.com/1.jpg", "https://cdn.example.com/2.jpg", "https://cdn.example.com/3.jpg"]}`
)

func photoURLs(n int) string {
	urls := make([]string, n)
	for i := range urls {
		urls[i] = fmt.Sprintf(`"https://cdn.example.com/%d.jpg"`, i)
	}
	return "[" + strings.Join(urls, ", ") + "]"
}

// invalidCases are manifests the API server must refuse; want lists substrings of the refusal: the field's
// path and the rule it broke.
var invalidCases = []struct {
	name string
	kind string
	spec string // YAML of the spec; "" for no spec at all
	want []string
}{
	// TikTokPost: wrong types.
	{"maxAttempts-string", "TikTokPost", `{accountRef: {name: a}, privacyLevel: SELF_ONLY, video: ` + goodVideo + `, maxAttempts: "ten"}`,
		[]string{"spec.maxAttempts", "must be of type integer"}},
	{"title-number", "TikTokPost", `{accountRef: {name: a}, privacyLevel: SELF_ONLY, video: ` + goodVideo + `, title: 42}`,
		[]string{"spec.title", "must be of type string"}},
	{"video-string", "TikTokPost", `{accountRef: {name: a}, privacyLevel: SELF_ONLY, video: "https://cdn.example.com/v.mp4"}`,
		[]string{"spec.video", "must be of type object"}},
	{"suspend-string", "TikTokPost", `{accountRef: {name: a}, privacyLevel: SELF_ONLY, video: ` + goodVideo + `, suspend: "yes"}`,
		[]string{"spec.suspend", "must be of type boolean"}},
	{"photo-urls-string", "TikTokPost", `{accountRef: {name: a}, privacyLevel: SELF_ONLY, photo: {urls: "https://cdn.example.com/1.jpg"}}`,
		[]string{"spec.photo.urls", "must be of type array"}},
	{"publishAt-not-a-time", "TikTokPost", `{accountRef: {name: a}, privacyLevel: SELF_ONLY, video: ` + goodVideo + `, publishAt: "tomorrow"}`,
		[]string{"spec.publishAt", "date-time"}},
	{"unknown-field", "TikTokPost", `{accountRef: {name: a}, privacyLevel: SELF_ONLY, video: ` + goodVideo + `, titel: "typo"}`,
		[]string{"spec.titel", "unknown field"}},
	// TikTokPost: enums.
	{"unknown-mode", "TikTokPost", `{accountRef: {name: a}, mode: Draft, privacyLevel: SELF_ONLY, video: ` + goodVideo + `}`,
		[]string{"spec.mode", `Unsupported value: "Draft"`, `"DirectPost"`, `"Upload"`}},
	{"unknown-transfer", "TikTokPost", `{accountRef: {name: a}, privacyLevel: SELF_ONLY, video: {url: "https://cdn.example.com/v.mp4", transfer: Stream}}`,
		[]string{"spec.video.transfer", `Unsupported value: "Stream"`, `"PullFromURL"`, `"FileUpload"`}},
	{"unknown-privacyLevel", "TikTokPost", `{accountRef: {name: a}, privacyLevel: FRIENDS, video: ` + goodVideo + `}`,
		[]string{"spec.privacyLevel", `Unsupported value: "FRIENDS"`, `"PUBLIC_TO_EVERYONE"`, `"SELF_ONLY"`}},
	{"unknown-onUncertainOutcome", "TikTokPost", `{accountRef: {name: a}, privacyLevel: SELF_ONLY, video: ` + goodVideo + `, onUncertainOutcome: Ignore}`,
		[]string{"spec.onUncertainOutcome", `Unsupported value: "Ignore"`, `"Fail"`, `"Retry"`}},
	// TikTokPost: lengths and counts.
	{"title-too-long-video", "TikTokPost", `{accountRef: {name: a}, privacyLevel: SELF_ONLY, video: ` + goodVideo + `, title: "` + strings.Repeat("x", 2201) + `"}`,
		[]string{"spec.title", "2200"}},
	{"title-too-long-photo", "TikTokPost", `{accountRef: {name: a}, privacyLevel: SELF_ONLY, photo: ` + goodPhoto + `, title: "` + strings.Repeat("x", 91) + `"}`,
		[]string{"spec.title", "at most 90 characters for a photo post"}},
	{"description-on-video", "TikTokPost", `{accountRef: {name: a}, privacyLevel: SELF_ONLY, video: ` + goodVideo + `, description: "text"}`,
		[]string{"spec.description", "photo posts only"}},
	{"description-too-long", "TikTokPost", `{accountRef: {name: a}, privacyLevel: SELF_ONLY, photo: ` + goodPhoto + `, description: "` + strings.Repeat("d", 4001) + `"}`,
		[]string{"spec.description", "4000"}},
	{"photos-36", "TikTokPost", `{accountRef: {name: a}, privacyLevel: SELF_ONLY, photo: {urls: ` + photoURLs(36) + `}}`,
		[]string{"spec.photo.urls", "must have at most 35 items"}},
	{"photos-0", "TikTokPost", `{accountRef: {name: a}, privacyLevel: SELF_ONLY, photo: {urls: []}}`,
		[]string{"spec.photo.urls", "should have at least 1 items"}},
	{"photos-missing", "TikTokPost", `{accountRef: {name: a}, privacyLevel: SELF_ONLY, photo: {coverIndex: 0}}`,
		[]string{"spec.photo.urls", "Required value"}},
	{"coverIndex-out-of-range", "TikTokPost", `{accountRef: {name: a}, privacyLevel: SELF_ONLY, photo: {urls: ` + photoURLs(3) + `, coverIndex: 3}}`,
		[]string{"spec.photo.coverIndex", "must point into photo.urls"}},
	{"coverIndex-negative", "TikTokPost", `{accountRef: {name: a}, privacyLevel: SELF_ONLY, photo: {urls: ` + photoURLs(3) + `, coverIndex: -1}}`,
		[]string{"spec.photo.coverIndex", "greater than or equal to 0"}},
	{"coverTimestamp-negative", "TikTokPost", `{accountRef: {name: a}, privacyLevel: SELF_ONLY, video: {url: "https://cdn.example.com/v.mp4", coverTimestampMs: -5}}`,
		[]string{"spec.video.coverTimestampMs", "greater than or equal to 0"}},
	// TikTokPost: URLs.
	{"video-http-url", "TikTokPost", `{accountRef: {name: a}, privacyLevel: SELF_ONLY, video: {url: "http://cdn.example.com/v.mp4"}}`,
		[]string{"spec.video.url", "must be an https:// URL"}},
	{"video-url-no-host", "TikTokPost", `{accountRef: {name: a}, privacyLevel: SELF_ONLY, video: {url: "https:///v.mp4"}}`,
		[]string{"spec.video.url", "must be an https:// URL"}},
	{"video-url-missing", "TikTokPost", `{accountRef: {name: a}, privacyLevel: SELF_ONLY, video: {transfer: PullFromURL}}`,
		[]string{"spec.video.url", "Required value"}},
	{"photo-http-url", "TikTokPost", `{accountRef: {name: a}, privacyLevel: SELF_ONLY, photo: {urls: ["https://cdn.example.com/1.jpg", "http://cdn.example.com/2.jpg"]}}`,
		[]string{"spec.photo.urls", "every URL must be https://"}},
	// TikTokPost: shape.
	{"both-video-and-photo", "TikTokPost", `{accountRef: {name: a}, privacyLevel: SELF_ONLY, video: ` + goodVideo + `, photo: ` + goodPhoto + `}`,
		[]string{"spec", "exactly one of spec.video or spec.photo must be set"}},
	{"neither-video-nor-photo", "TikTokPost", `{accountRef: {name: a}, privacyLevel: SELF_ONLY, title: "no media"}`,
		[]string{"spec", "exactly one of spec.video or spec.photo must be set"}},
	{"fileupload-on-photo", "TikTokPost", `{accountRef: {name: a}, privacyLevel: SELF_ONLY, photo: {urls: ` + photoURLs(2) + `, transfer: FileUpload}}`,
		[]string{"spec.photo.transfer", "PULL_FROM_URL", "FileUpload is for videos"}},
	{"fileupload-on-photo-upload-mode", "TikTokPost", `{accountRef: {name: a}, mode: Upload, photo: {urls: ` + photoURLs(2) + `, transfer: FileUpload}}`,
		[]string{"spec.photo.transfer", "PULL_FROM_URL"}},
	{"autoAddMusic-on-video", "TikTokPost", `{accountRef: {name: a}, privacyLevel: SELF_ONLY, video: ` + goodVideo + `, autoAddMusic: true}`,
		[]string{"spec.autoAddMusic", "photo posts only"}},
	{"privacyLevel-missing-defaulted-DirectPost", "TikTokPost", `{accountRef: {name: a}, video: ` + goodVideo + `}`,
		[]string{"spec.privacyLevel", "required when spec.mode is DirectPost"}},
	{"privacyLevel-missing-DirectPost-photo", "TikTokPost", `{accountRef: {name: a}, mode: DirectPost, photo: ` + goodPhoto + `}`,
		[]string{"spec.privacyLevel", "required when spec.mode is DirectPost"}},
	{"deadline-before-publishAt", "TikTokPost", `{accountRef: {name: a}, privacyLevel: SELF_ONLY, video: ` + goodVideo + `, publishAt: "2026-12-01T09:00:00Z", deadline: "2026-12-01T08:59:59Z"}`,
		[]string{"spec.deadline", "must be after spec.publishAt"}},
	{"deadline-equals-publishAt", "TikTokPost", `{accountRef: {name: a}, privacyLevel: SELF_ONLY, video: ` + goodVideo + `, publishAt: "2026-12-01T09:00:00Z", deadline: "2026-12-01T09:00:00Z"}`,
		[]string{"spec.deadline", "must be after spec.publishAt"}},
	{"maxAttempts-0", "TikTokPost", `{accountRef: {name: a}, privacyLevel: SELF_ONLY, video: ` + goodVideo + `, maxAttempts: 0}`,
		[]string{"spec.maxAttempts", "greater than or equal to 1"}},
	{"maxAttempts-101", "TikTokPost", `{accountRef: {name: a}, privacyLevel: SELF_ONLY, video: ` + goodVideo + `, maxAttempts: 101}`,
		[]string{"spec.maxAttempts", "less than or equal to 100"}},
	{"accountRef-missing", "TikTokPost", `{privacyLevel: SELF_ONLY, video: ` + goodVideo + `}`,
		[]string{"spec.accountRef", "Required value"}},
	{"accountRef-empty-name", "TikTokPost", `{accountRef: {name: ""}, privacyLevel: SELF_ONLY, video: ` + goodVideo + `}`,
		[]string{"spec.accountRef.name", "at least 1 chars long"}},
	{"spec-missing", "TikTokPost", "",
		[]string{"spec", "Required value"}},

	// AccountQuota.
	{"requests-0", "AccountQuota", `{credentialsSecretRef: {name: c}, limits: {postInit: {requests: 0, window: 1m}}}`,
		[]string{"spec.limits.postInit.requests", "greater than or equal to 1"}},
	{"requests-negative", "AccountQuota", `{credentialsSecretRef: {name: c}, limits: {dailyPosts: {requests: -3, window: 24h}}}`,
		[]string{"spec.limits.dailyPosts.requests", "greater than or equal to 1"}},
	{"requests-string", "AccountQuota", `{credentialsSecretRef: {name: c}, limits: {statusFetch: {requests: many, window: 1m}}}`,
		[]string{"spec.limits.statusFetch.requests", "must be of type integer"}},
	{"window-zero", "AccountQuota", `{credentialsSecretRef: {name: c}, limits: {postInit: {requests: 6, window: 0s}}}`,
		[]string{"spec.limits.postInit.window", "window must be a positive duration"}},
	{"window-negative", "AccountQuota", `{credentialsSecretRef: {name: c}, limits: {creatorInfo: {requests: 6, window: "-1m"}}}`,
		[]string{"spec.limits.creatorInfo.window", "window must be a positive duration"}},
	{"window-garbage", "AccountQuota", `{credentialsSecretRef: {name: c}, limits: {pendingShares: {requests: 5, window: "a day"}}}`,
		[]string{"spec.limits.pendingShares.window", "window must be a positive duration"}},
	{"window-number", "AccountQuota", `{credentialsSecretRef: {name: c}, limits: {postInit: {requests: 6, window: 60}}}`,
		[]string{"spec.limits.postInit.window", "must be of type string"}},
	{"window-missing", "AccountQuota", `{credentialsSecretRef: {name: c}, limits: {postInit: {requests: 6}}}`,
		[]string{"spec.limits.postInit.window", "Required value"}},
	{"minInterval-negative", "AccountQuota", `{credentialsSecretRef: {name: c}, limits: {minInterval: "-1s"}}`,
		[]string{"spec.limits.minInterval", "non-negative duration"}},
	{"endpoint-http-remote", "AccountQuota", `{credentialsSecretRef: {name: c}, endpoint: "http://open.tiktokapis.com"}`,
		[]string{"spec.endpoint", "http:// to a loopback address only"}},
	{"endpoint-http-loopback-lookalike", "AccountQuota", `{credentialsSecretRef: {name: c}, endpoint: "http://127.0.0.1.evil.example.com"}`,
		[]string{"spec.endpoint", "http:// to a loopback address only"}},
	{"endpoint-http-userinfo-trick", "AccountQuota", `{credentialsSecretRef: {name: c}, endpoint: "http://localhost@evil.example.com"}`,
		[]string{"spec.endpoint", "http:// to a loopback address only"}},
	{"endpoint-ftp", "AccountQuota", `{credentialsSecretRef: {name: c}, endpoint: "ftp://open.tiktokapis.com"}`,
		[]string{"spec.endpoint", "must be an https:// URL"}},
	{"allowedMediaPrefixes-http", "AccountQuota", `{credentialsSecretRef: {name: c}, allowedMediaPrefixes: ["https://cdn.example.com/", "http://cdn.example.com/"]}`,
		[]string{"spec.allowedMediaPrefixes", "every entry must be an https:// URL prefix"}},
	{"allowedMediaPrefixes-no-host", "AccountQuota", `{credentialsSecretRef: {name: c}, allowedMediaPrefixes: ["https:///public/"]}`,
		[]string{"spec.allowedMediaPrefixes[0]", "every entry must be an https:// URL prefix", "with a host"}},
	{"allowedMediaPrefixes-userinfo-host-trick", "AccountQuota", `{credentialsSecretRef: {name: c}, allowedMediaPrefixes: ["https://cdn.example.com@evil.io/"]}`,
		[]string{"spec.allowedMediaPrefixes[0]", "no userinfo"}},
	{"allowedMediaPrefixes-userinfo", "AccountQuota", `{credentialsSecretRef: {name: c}, allowedMediaPrefixes: ["https://cdn.example.com/", "https://user:pw@cdn.example.com/"]}`,
		[]string{"spec.allowedMediaPrefixes[1]", "no userinfo"}},
	{"allowedMediaPrefixes-query", "AccountQuota", `{credentialsSecretRef: {name: c}, allowedMediaPrefixes: ["https://cdn.example.com/public/?sig=1"]}`,
		[]string{"spec.allowedMediaPrefixes[0]", "no query", "fragment"}},
	{"allowedMediaPrefixes-fragment", "AccountQuota", `{credentialsSecretRef: {name: c}, allowedMediaPrefixes: ["https://cdn.example.com/public/#top"]}`,
		[]string{"spec.allowedMediaPrefixes[0]", "no query", "fragment"}},
	{"allowedMediaPrefixes-dot-dot", "AccountQuota", `{credentialsSecretRef: {name: c}, allowedMediaPrefixes: ["https://cdn.example.com/public/../"]}`,
		[]string{"spec.allowedMediaPrefixes[0]", "no dot-segments"}},
	{"allowedMediaPrefixes-dot", "AccountQuota", `{credentialsSecretRef: {name: c}, allowedMediaPrefixes: ["https://cdn.example.com/./public"]}`,
		[]string{"spec.allowedMediaPrefixes[0]", "no dot-segments"}},
	{"allowedMediaPrefixes-encoded-dot-dot", "AccountQuota", `{credentialsSecretRef: {name: c}, allowedMediaPrefixes: ["https://cdn.example.com/public/%2E%2e"]}`,
		[]string{"spec.allowedMediaPrefixes[0]", "no dot-segments"}},
	{"allowedMediaPrefixes-encoded-slash", "AccountQuota", `{credentialsSecretRef: {name: c}, allowedMediaPrefixes: ["https://cdn.example.com/public%2Fprivate/"]}`,
		[]string{"spec.allowedMediaPrefixes[0]", "encoded slashes"}},
	{"allowedMediaPrefixes-backslash", "AccountQuota", `{credentialsSecretRef: {name: c}, allowedMediaPrefixes: ['https://cdn.example.com/public\private/']}`,
		[]string{"spec.allowedMediaPrefixes[0]", "backslashes"}},
	{"credentialsSecretRef-no-name", "AccountQuota", `{credentialsSecretRef: {}}`,
		[]string{"spec.credentialsSecretRef.name", "Required value"}},
	{"credentialsSecretRef-missing", "AccountQuota", `{endpoint: "https://open.tiktokapis.com"}`,
		[]string{"spec.credentialsSecretRef", "Required value"}},
	{"unknown-jitter", "AccountQuota", `{credentialsSecretRef: {name: c}, backoff: {jitter: Random}}`,
		[]string{"spec.backoff.jitter", `Unsupported value: "Random"`, `"Full"`, `"Equal"`, `"Decorrelated"`}},
	{"backoff-max-below-initial", "AccountQuota", `{credentialsSecretRef: {name: c}, backoff: {initial: 5m, max: 1m}}`,
		[]string{"spec.backoff", "backoff.max must be at least backoff.initial"}},
	{"backoff-initial-zero", "AccountQuota", `{credentialsSecretRef: {name: c}, backoff: {initial: 0s}}`,
		[]string{"spec.backoff.initial", "must be a positive duration"}},
	{"suspend-string", "AccountQuota", `{credentialsSecretRef: {name: c}, suspend: "no"}`,
		[]string{"spec.suspend", "must be of type boolean"}},
}

// Every malformed manifest is refused by the API server, with a message naming the field and the rule.
func TestInvalidManifestsAreRefused(t *testing.T) {
	if len(invalidCases) < 30 {
		t.Fatalf("only %d malformed manifests, want at least 30", len(invalidCases))
	}
	ns := newNamespace(t)
	for i, c := range invalidCases {
		t.Run(c.kind+"/"+c.name, func(t *testing.T) {
			doc := manifest(c.kind, fmt.Sprintf("bad-%d", i), c.spec)
			_, err := create(t, ns, doc)
			if err == nil {
				t.Fatalf("accepted, want refused:\n%s", doc)
			}
			if !apierrors.IsInvalid(err) && !apierrors.IsBadRequest(err) {
				t.Errorf("refused with %T %v, want 422 Invalid or 400 BadRequest", err, err)
			}
			msg := err.Error()
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("refusal does not mention %q:\n%s", w, msg)
				}
			}
		})
	}
}
