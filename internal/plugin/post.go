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
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	publishv1alpha1 "github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
)

// Values of --dry-run, as kubectl has them.
const (
	dryRunNone   = "none"
	dryRunClient = "client"
	dryRunServer = "server"
)

// postOptions are the flags of `kubectl tiktok post`.
type postOptions struct {
	name, videoURL, transfer, title, privacy, mode, at, deadline, onUncertain string
	priority, maxAttempts                                                     int32
	disableComment, disableDuet, disableStitch                                bool
	brandContent, brandOrganic, aiGenerated, suspend                          bool
	dryRun, output                                                            string
}

// newPostCommand builds `kubectl tiktok post`.
func newPostCommand(o *Options) *cobra.Command {
	po := &postOptions{}
	cmd := &cobra.Command{
		Use:   "post ACCOUNT --video-url URL --title TEXT --privacy LEVEL",
		Short: "Write a TikTokPost: create it, print it for a GitOps repository, or dry-run it on the server",
		Long: `Build a TikTokPost (a video post of the AccountQuota ACCOUNT, in the same namespace) from flags, check it
against the bounds of the CRD, and then:

  --dry-run=none (default)  create it; the operator publishes it when the account's quota allows
  --dry-run=client          create nothing; with -o yaml, print the manifest (to commit to a GitOps repository)
  --dry-run=server          send it to the API server as a dry run: the CRD's validation answers, nothing is stored

--privacy has no default: TikTok requires the creator to choose who sees a post (for DirectPost; Upload
leaves the choice to the creator in the app). It must be one of the creator's options, which
kubectl tiktok status shows; otherwise the post fails with reason PrivacyLevelNotAllowed.

--at and --deadline take an RFC 3339 time (2026-12-24T18:00:00Z) or a duration from now (+2h, 90m).
The name defaults to ACCOUNT-YYYYMMDD-HHMMSS (UTC).`,
		Example: `  # Publish a video as soon as the quota allows
  kubectl tiktok post brand-main --video-url https://cdn.example.com/teaser.mp4 \
    --title "New drop, Friday 6pm #launch" --privacy PUBLIC_TO_EVERYONE

  # Schedule it, and write the manifest to a GitOps repository instead of creating it
  kubectl tiktok post brand-main --name launch-teaser --video-url https://cdn.example.com/teaser.mp4 \
    --title "It's here" --privacy PUBLIC_TO_EVERYONE --at 2026-12-24T18:00:00Z \
    --dry-run=client -o yaml > posts/launch-teaser.yaml

  # Let the API server validate it without storing it
  kubectl tiktok post brand-main --video-url https://cdn.example.com/teaser.mp4 --title hi \
    --privacy SELF_ONLY --dry-run=server

  # A draft in the creator's inbox, finished in the TikTok app
  kubectl tiktok post brand-main --mode Upload --video-url https://cdn.example.com/raw.mp4`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(po.output); err != nil {
				return err
			}
			ns, err := o.Namespace()
			if err != nil {
				return err
			}
			p, err := po.build(ns, args[0], o.Clock.Now())
			if err != nil {
				return err
			}
			if po.dryRun == dryRunClient {
				return printPost(o, p, po.output, " (dry run)")
			}
			c, err := o.Client()
			if err != nil {
				return err
			}
			return createPost(cmd.Context(), o, c, p, po.dryRun == dryRunServer, po.output)
		},
	}
	f := cmd.Flags()
	f.StringVar(&po.name, "name", "", "Name of the TikTokPost (default ACCOUNT-YYYYMMDD-HHMMSS)")
	f.StringVar(&po.videoURL, "video-url", "", "The video's https:// URL (spec.video.url); required")
	f.StringVar(&po.transfer, "transfer", "",
		"How the video reaches TikTok: PullFromURL (TikTok downloads it; the default) or FileUpload (the operator uploads it)")
	f.StringVar(&po.title, "title", "", "The caption (spec.title), at most 2200 characters")
	f.StringVar(&po.privacy, "privacy", "",
		"Who sees the post (spec.privacyLevel): "+strings.Join(privacyLevels, ", ")+"; required for DirectPost")
	f.StringVar(&po.mode, "mode", "", "DirectPost (publish on the profile; the default) or Upload (a draft in the creator's inbox)")
	f.StringVar(&po.at, "at", "", "Earliest send time (spec.publishAt): RFC 3339, or a duration from now such as +2h")
	f.StringVar(&po.deadline, "deadline", "", "Give up if TikTok has not accepted the post by then (spec.deadline): RFC 3339 or +duration")
	f.Int32Var(&po.priority, "priority", 0, "Order among the account's posts, higher first (-1000000 to 1000000)")
	f.Int32Var(&po.maxAttempts, "max-attempts", 0, "Init calls before the post fails with MaxAttemptsExceeded (1 to 100; default 10)")
	f.StringVar(&po.onUncertain, "on-uncertain-outcome", "",
		"Fail (default: never a duplicate) or Retry (a duplicate is possible) after an unrecorded init answer")
	f.BoolVar(&po.disableComment, "disable-comment", false, "Turn comments off for this post")
	f.BoolVar(&po.disableDuet, "disable-duet", false, "Turn duets off for this post")
	f.BoolVar(&po.disableStitch, "disable-stitch", false, "Turn stitches off for this post")
	f.BoolVar(&po.brandContent, "brand-content", false, "Paid partnership promoting a third-party brand")
	f.BoolVar(&po.brandOrganic, "brand-organic", false, "Promotes the creator's own business")
	f.BoolVar(&po.aiGenerated, "ai-generated", false, "Label the content as AI-generated")
	f.BoolVar(&po.suspend, "suspend", false, "Create the post suspended (kept out of the queue until spec.suspend is false)")
	f.StringVar(&po.dryRun, "dry-run", dryRunNone,
		"none (create it), client (print it, create nothing) or server (the API server validates it, stores nothing)")
	f.Lookup("dry-run").NoOptDefVal = dryRunClient
	addOutputFlag(cmd, &po.output)
	return cmd
}

// build is the TikTokPost the flags describe, or the first flag that breaks a rule of the CRD.
func (po *postOptions) build(ns, account string, now time.Time) (*publishv1alpha1.TikTokPost, error) {
	switch po.dryRun {
	case dryRunNone, dryRunClient, dryRunServer:
	default:
		return nil, fmt.Errorf("--dry-run %q: must be none, client or server", po.dryRun)
	}
	name := po.name
	if name == "" {
		name = fmt.Sprintf("%s-%s", account, now.UTC().Format("20060102-150405"))
	}
	p := &publishv1alpha1.TikTokPost{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: publishv1alpha1.TikTokPostSpec{
			AccountRef:         publishv1alpha1.LocalObjectReference{Name: account},
			Mode:               publishv1alpha1.PostMode(po.mode),
			Video:              &publishv1alpha1.VideoSource{URL: po.videoURL, Transfer: publishv1alpha1.TransferMethod(po.transfer)},
			Title:              po.title,
			PrivacyLevel:       publishv1alpha1.PrivacyLevel(po.privacy),
			DisableComment:     po.disableComment,
			DisableDuet:        po.disableDuet,
			DisableStitch:      po.disableStitch,
			BrandContent:       po.brandContent,
			BrandOrganic:       po.brandOrganic,
			AIGenerated:        po.aiGenerated,
			Priority:           po.priority,
			MaxAttempts:        po.maxAttempts,
			OnUncertainOutcome: publishv1alpha1.UncertainOutcomePolicy(po.onUncertain),
			Suspend:            po.suspend,
		},
	}
	var err error
	if p.Spec.PublishAt, err = parseWhen("--at", "spec.publishAt", po.at, now); err != nil {
		return nil, err
	}
	if p.Spec.Deadline, err = parseWhen("--deadline", "spec.deadline", po.deadline, now); err != nil {
		return nil, err
	}
	if err := validatePost(p); err != nil {
		return nil, err
	}
	return p, nil
}

// parseWhen reads an RFC 3339 time or a duration from now (+2h or 2h); empty is unset.
func parseWhen(flag, field, s string, now time.Time) (*metav1.Time, error) {
	if s == "" {
		return nil, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return &metav1.Time{Time: t.UTC().Truncate(time.Second)}, nil
	}
	d, err := time.ParseDuration(strings.TrimPrefix(s, "+"))
	if err != nil || d < 0 {
		return nil, fmt.Errorf("%s (%s) %q: must be an RFC 3339 time such as 2026-12-24T18:00:00Z or a duration from now such as +2h",
			flag, field, s)
	}
	return &metav1.Time{Time: now.Add(d).UTC().Truncate(time.Second)}, nil
}

// createPost creates p (on the server as a dry run when dryRun) and says so, or prints it with -o.
func createPost(ctx context.Context, o *Options, c client.Client, p *publishv1alpha1.TikTokPost, dryRun bool, output string) error {
	var opts []client.CreateOption
	suffix := ""
	if dryRun {
		opts = append(opts, client.DryRunAll)
		suffix = " (server dry run)"
	}
	if err := c.Create(ctx, p, opts...); err != nil {
		return fmt.Errorf("creating TikTokPost %s/%s%s: %w", p.Namespace, p.Name, suffix, err)
	}
	return printPost(o, p, output, suffix)
}

// printPost prints p with -o, or kubectl's one line.
func printPost(o *Options, p *publishv1alpha1.TikTokPost, output, suffix string) error {
	if output != "" {
		return printStructured(o.Out, output, p)
	}
	_, err := fmt.Fprintf(o.Out, "tiktokpost.%s/%s created%s\n", publishv1alpha1.GroupVersion.Group, p.Name, suffix)
	return err
}
