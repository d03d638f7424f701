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

package plugin

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/util/validation"

	publishv1alpha1 "github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
)

// Bounds of the TikTokPost spec fields post writes. They repeat the CRD's markers (a marker cannot name a
// constant; TestPostBoundsMatchTheCRD reads the generated CRD to check that they agree), so that bad
// input is refused with the flag's name before anything is sent.
const (
	maxVideoURLLength = 2048
	maxTitleLength    = 2200 // a video post's; the API server counts characters
	maxAccountRefLen  = 253
	minPriority       = -1000000
	maxPriority       = 1000000
	minMaxAttempts    = 1
	maxMaxAttempts    = 100
)

// httpsURL is the CRD's rule for a media URL (spec.video.url): https://, a host, no userinfo.
var httpsURL = regexp.MustCompile(`^https://[a-zA-Z0-9[][^/?#@ ]*([/?#].*)?$`)

// privacyLevels are the levels TikTok knows (the CRD's enum of spec.privacyLevel).
var privacyLevels = []string{
	string(publishv1alpha1.PrivacyPublicToEveryone), string(publishv1alpha1.PrivacyMutualFollowFriends),
	string(publishv1alpha1.PrivacyFollowerOfCreator), string(publishv1alpha1.PrivacySelfOnly),
}

// validatePost applies the CRD's rules for the fields post sets, naming the flag, the field and the rule.
func validatePost(p *publishv1alpha1.TikTokPost) error {
	s := &p.Spec
	if errs := validation.IsDNS1123Subdomain(p.Name); len(errs) > 0 {
		return fmt.Errorf("--name (metadata.name) %q: %s", p.Name, strings.Join(errs, "; "))
	}
	if n := s.AccountRef.Name; n == "" || len(n) > maxAccountRefLen || len(validation.IsDNS1123Subdomain(n)) > 0 {
		return fmt.Errorf("ACCOUNT (spec.accountRef.name) %q: must name an AccountQuota: a lowercase DNS name of 1 to %d characters",
			n, maxAccountRefLen)
	}
	if s.Mode != "" && s.Mode != publishv1alpha1.ModeDirectPost && s.Mode != publishv1alpha1.ModeUpload {
		return fmt.Errorf("--mode (spec.mode) %q: must be DirectPost or Upload", s.Mode)
	}
	if err := validateVideo(s.Video); err != nil {
		return err
	}
	return validateContent(s)
}

// validateVideo checks spec.video: the URL TikTok pulls (or the operator downloads) and the transfer.
func validateVideo(v *publishv1alpha1.VideoSource) error {
	switch {
	case v.URL == "":
		return fmt.Errorf("--video-url (spec.video.url) is required: the video's https:// URL")
	case len(v.URL) > maxVideoURLLength:
		return fmt.Errorf("--video-url (spec.video.url): at most %d characters, got %d", maxVideoURLLength, len(v.URL))
	case !httpsURL.MatchString(v.URL):
		return fmt.Errorf("--video-url (spec.video.url) %q: must be an https:// URL with a host and no user@ "+
			"(TikTok pulls media over https only)", v.URL)
	}
	if v.Transfer != "" && v.Transfer != publishv1alpha1.TransferPullFromURL && v.Transfer != publishv1alpha1.TransferFileUpload {
		return fmt.Errorf("--transfer (spec.video.transfer) %q: must be PullFromURL or FileUpload", v.Transfer)
	}
	return nil
}

// validateContent checks the caption, the privacy level and the scheduling fields.
func validateContent(s *publishv1alpha1.TikTokPostSpec) error {
	if n := utf8.RuneCountInString(s.Title); n > maxTitleLength {
		return fmt.Errorf("--title (spec.title): at most %d characters for a video post, got %d", maxTitleLength, n)
	}
	if !utf8.ValidString(s.Title) {
		return fmt.Errorf("--title (spec.title): must be valid UTF-8")
	}
	if s.PrivacyLevel == "" && s.Mode != publishv1alpha1.ModeUpload {
		return fmt.Errorf("--privacy (spec.privacyLevel) is required for DirectPost (TikTok requires post_info.privacy_level "+
			"and the creator's explicit choice): one of %s", strings.Join(privacyLevels, ", "))
	}
	if s.PrivacyLevel != "" && !contains(privacyLevels, string(s.PrivacyLevel)) {
		return fmt.Errorf("--privacy (spec.privacyLevel) %q: must be one of %s", s.PrivacyLevel, strings.Join(privacyLevels, ", "))
	}
	if s.Priority < minPriority || s.Priority > maxPriority {
		return fmt.Errorf("--priority (spec.priority) %d: must be between %d and %d", s.Priority, minPriority, maxPriority)
	}
	if s.MaxAttempts != 0 && (s.MaxAttempts < minMaxAttempts || s.MaxAttempts > maxMaxAttempts) {
		return fmt.Errorf("--max-attempts (spec.maxAttempts) %d: must be between %d and %d", s.MaxAttempts, minMaxAttempts, maxMaxAttempts)
	}
	if o := s.OnUncertainOutcome; o != "" && o != publishv1alpha1.UncertainOutcomeFail && o != publishv1alpha1.UncertainOutcomeRetry {
		return fmt.Errorf("--on-uncertain-outcome (spec.onUncertainOutcome) %q: must be Fail or Retry", o)
	}
	if s.PublishAt != nil && s.Deadline != nil && !s.Deadline.After(s.PublishAt.Time) {
		return fmt.Errorf("--deadline (spec.deadline) %s: must be after --at (spec.publishAt) %s",
			s.Deadline.UTC().Format("2006-01-02T15:04:05Z"), s.PublishAt.UTC().Format("2006-01-02T15:04:05Z"))
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
