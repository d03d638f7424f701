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
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	publishv1alpha1 "github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
)

// errNotConfirmed is returned when the user answers anything but yes: nothing was changed.
var errNotConfirmed = errors.New("retry not confirmed: nothing changed")

// newRetryCommand builds `kubectl tiktok retry`.
func newRetryCommand(o *Options) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "retry POST",
		Short: "Release a Failed post so that the operator tries it again (the retry annotation)",
		Long: `Release a Failed TikTokPost: set its publish.tiktok-operator.dev/retry annotation to a new value.
The operator then resets the post's attempts, history and last error and puts it back in its account's
queue. This is the documented way to release any Failed post, including one that failed with reason
UncertainOutcome. A post that is not Failed is refused: nothing is changed.

Before asking, retry prints what is known of the earlier attempts: the reason and message, the last
error TikTok answered, the attempt history (when each intent was recorded, its outcome and code, which
manager wrote it) and the publish id if TikTok gave one.

After an uncertain outcome (the operator never recorded TikTok's answer to an init call), TikTok may
have taken the post: check the creator's profile first, because a retry may publish it twice.

It asks for confirmation on stdin; --yes skips the question (for scripts).`,
		Example: `  # Show what happened to the post, then confirm
  kubectl tiktok retry launch-teaser -n marketing

  # Without the question (after checking the creator's profile)
  kubectl tiktok retry launch-teaser --yes`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ns, err := o.Namespace()
			if err != nil {
				return err
			}
			c, err := o.Client()
			if err != nil {
				return err
			}
			return retry(cmd.Context(), o, c, client.ObjectKey{Namespace: ns, Name: args[0]}, yes)
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "Do not ask for confirmation")
	return cmd
}

// retry shows the post's earlier attempts, asks, and sets the retry annotation with an optimistic lock:
// if the post changed since it was shown, the write fails and nothing is changed.
func retry(ctx context.Context, o *Options, c client.Client, key client.ObjectKey, yes bool) error {
	var p publishv1alpha1.TikTokPost
	if err := c.Get(ctx, key, &p); err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("TikTokPost %q not found in namespace %q", key.Name, key.Namespace)
		}
		return fmt.Errorf("reading TikTokPost %s: %w", key, err)
	}
	reason := ""
	if cond := meta.FindStatusCondition(p.Status.Conditions, publishv1alpha1.ConditionReady); cond != nil {
		reason = cond.Reason
	}
	if p.Status.Phase != publishv1alpha1.PhaseFailed {
		return fmt.Errorf("TikTokPost %s is %s (reason %s), not Failed: retry releases only a Failed post, "+
			"and the operator already handles this one", key, orDash(string(p.Status.Phase)), orDash(reason))
	}
	var creator string
	var aq publishv1alpha1.AccountQuota
	if err := c.Get(ctx, client.ObjectKey{Namespace: key.Namespace, Name: p.Spec.AccountRef.Name}, &aq); err == nil &&
		aq.Status.Creator != nil && aq.Status.Creator.Username != "" {
		creator = "@" + aq.Status.Creator.Username
	}
	if err := describeAttempts(o.Out, &p, creator, o.Clock.Now()); err != nil {
		return err
	}
	if !yes {
		ok, err := confirm(o.In, o.Out, fmt.Sprintf("Retry TikTokPost %s? [y/N]: ", key))
		if err != nil {
			return err
		}
		if !ok {
			return errNotConfirmed
		}
	}
	value := retryValue(o.Clock.Now(), p.Annotations[publishv1alpha1.RetryAnnotation], p.Status.LastRetryAnnotation)
	patch := client.MergeFromWithOptions(p.DeepCopy(), client.MergeFromWithOptimisticLock{})
	if p.Annotations == nil {
		p.Annotations = map[string]string{}
	}
	p.Annotations[publishv1alpha1.RetryAnnotation] = value
	if err := c.Patch(ctx, &p, patch); err != nil {
		if apierrors.IsConflict(err) {
			return fmt.Errorf("TikTokPost %s changed since it was read: nothing changed; run retry again to see it as it is now", key)
		}
		return fmt.Errorf("setting the retry annotation on TikTokPost %s: %w", key, err)
	}
	_, err := fmt.Fprintf(o.Out, "tiktokpost/%s: retry requested (%s=%s); the operator puts it back in its account's queue\n",
		key.Name, publishv1alpha1.RetryAnnotation, value)
	return err
}

// retryValue is the annotation's new value: the time, made different from the current value and the one
// the operator last acted on (a value it has seen does not restart the post).
func retryValue(now time.Time, current, lastActedOn string) string {
	base := now.UTC().Format("2006-01-02T15.04.05Z")
	v := base
	for i := 2; v == current || v == lastActedOn; i++ {
		v = fmt.Sprintf("%s-%d", base, i)
	}
	return v
}

// confirm asks question on out and reads one line from in: y or yes (any case) is yes.
func confirm(in io.Reader, out io.Writer, question string) (bool, error) {
	if _, err := fmt.Fprint(out, question); err != nil {
		return false, err
	}
	if in == nil {
		return false, errors.New("no stdin to confirm on: pass --yes to retry without the question")
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("reading the answer: %w", err)
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}

// describeAttempts prints what status knows of the post's earlier attempts, and the warning for an
// uncertain outcome.
func describeAttempts(out io.Writer, p *publishv1alpha1.TikTokPost, creator string, now time.Time) error {
	st := &p.Status
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	line := func(cells ...string) { _, _ = fmt.Fprintln(tw, strings.Join(cells, "\t")) }
	line("TikTokPost", p.Namespace+"/"+p.Name)
	line("Account", p.Spec.AccountRef.Name+" "+creator)
	reason, message := "", ""
	if cond := meta.FindStatusCondition(st.Conditions, publishv1alpha1.ConditionReady); cond != nil {
		reason, message = cond.Reason, cond.Message
	}
	failed := "-"
	if t := failedAt(st); t != nil {
		failed = relative(t.Time, now)
	}
	line("Failed", fmt.Sprintf("%s (%s)", failed, orDash(reason)))
	if message != "" {
		line("Message", oneLine(message))
	}
	line("Attempts", fmt.Sprintf("%d of %d", st.Attempts, p.Spec.MaxAttempts))
	if st.PublishID != "" {
		line("Publish ID", st.PublishID+" (TikTok accepted an init call)")
	}
	if st.ProcessingStatus != "" {
		line("TikTok status", st.ProcessingStatus)
	}
	if e := st.LastError; e != nil {
		s := postErrorText(e, "")
		if e.LogID != "" {
			s += ", log_id " + e.LogID
		}
		if e.Time != nil {
			s += ", " + relative(e.Time.Time, now)
		}
		line("Last error", s)
	}
	if st.LastRetryAnnotation != "" {
		line("Last retry", st.LastRetryAnnotation)
	}
	line("")
	if len(st.AttemptHistory) == 0 {
		line("ATTEMPT HISTORY: none recorded")
	} else {
		line("ATTEMPT", "INTENT RECORDED", "ANSWERED", "OUTCOME", "CODE", "BACKOFF", "INTENT")
		for _, a := range st.AttemptHistory {
			answered := "never"
			if a.EndTime != nil {
				answered = relative(a.EndTime.Time, now)
			}
			backoff := "-"
			if a.Delay != nil {
				backoff = shortDuration(a.Delay.Duration)
			}
			line(fmt.Sprint(a.Attempt), relative(a.StartTime.Time, now), answered, orDash(a.Outcome), orDash(a.Code),
				backoff, orDash(a.IntentID))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if uncertain(p, reason) {
		where := "the creator's profile"
		if creator != "" {
			where = creator + "'s profile"
		}
		_, err := fmt.Fprintf(out, "\nWARNING: the outcome of an earlier init call is uncertain: TikTok may have taken the post. "+
			"Check %s first: a retry may publish this post twice.\n", where)
		return err
	}
	_, err := fmt.Fprintln(out)
	return err
}

// uncertain says whether TikTok may already hold the post: the reason is UncertainOutcome, or an attempt
// of the history was never answered or was judged Uncertain.
func uncertain(p *publishv1alpha1.TikTokPost, reason string) bool {
	if reason == publishv1alpha1.ReasonUncertainOutcome {
		return true
	}
	for _, a := range p.Status.AttemptHistory {
		if a.Outcome == publishv1alpha1.AttemptOutcomeUncertain {
			return true
		}
	}
	return false
}
