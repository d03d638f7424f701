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
	"errors"
	"fmt"
	"sort"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	publishv1alpha1 "github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
)

// maxFailuresShown is how many of an account's Failed posts status lists, most recent first.
const maxFailuresShown = 5

// statusOptions are the flags of `kubectl tiktok status`.
type statusOptions struct {
	*Options
	allNamespaces bool
	output        string
	failures      int
}

// newStatusCommand builds `kubectl tiktok status`.
func newStatusCommand(o *Options) *cobra.Command {
	so := &statusOptions{Options: o}
	cmd := &cobra.Command{
		Use:   "status [ACCOUNT]",
		Short: "Show each account's readiness, quota use, queue with expected send times, and recent failures",
		Long: `Show, per AccountQuota, what the operator wrote in the status of the account and of its posts:

  - Ready and its reason, the other conditions that hold (Throttled, Stalled, Contended), the cooldown;
  - the creator (handle, allowed privacy levels) and the tokens' lifetimes (never the tokens);
  - each limit: calls used in the current window, the effective limit the operator allows now, the
    configured limit, the window, when the next slot frees, and what was learned from unexpected 429s
    (when the limit was lowered, when the next probe may raise it);
  - the daily counts (dailyPosts, pendingShares windows; published and failed in the last 24 hours);
  - the queue in the operator's order with each post's expected send time (status.nextAttemptTime);
  - the posts in flight (init call made, waiting for TikTok's final answer);
  - the last failures with their reasons and TikTok's error.

It reads status only, as dashboards do: it shows what status says and computes nothing of its own.
Times are relative to now ("in 3m", "12s ago"); -o yaml or -o json prints the same with absolute times.`,
		Example: `  # Every account in the current namespace
  kubectl tiktok status

  # One account
  kubectl tiktok status brand-main -n marketing

  # Every account in every namespace, as YAML (for scripts: absolute times)
  kubectl tiktok status -A -o yaml`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(so.output); err != nil {
				return err
			}
			if so.failures < 0 {
				return fmt.Errorf("--failures %d: must be 0 or more", so.failures)
			}
			account := ""
			if len(args) == 1 {
				account = args[0]
			}
			c, err := o.Client()
			if err != nil {
				return err
			}
			rep, err := so.gather(cmd.Context(), c, account)
			if err != nil {
				return err
			}
			if so.output != "" {
				return printStructured(o.Out, so.output, rep)
			}
			return writeStatusText(o.Out, rep, o.Clock.Now())
		},
	}
	cmd.Flags().BoolVarP(&so.allNamespaces, "all-namespaces", "A", false, "Show the accounts of every namespace")
	cmd.Flags().IntVar(&so.failures, "failures", maxFailuresShown, "How many of each account's Failed posts to list, most recent first")
	addOutputFlag(cmd, &so.output)
	return cmd
}

// StatusReport is what `kubectl tiktok status` shows, as -o yaml|json prints it.
type StatusReport struct {
	Accounts []AccountReport `json:"accounts"`
}

// AccountReport is one AccountQuota and its posts, from their status.
type AccountReport struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Ready is the Ready condition's status (True, False, Unknown; empty before the first reconcile).
	Ready   string `json:"ready"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
	// Conditions are the other conditions that hold (Throttled, Stalled, Contended, Reconciling).
	Conditions           []metav1.Condition             `json:"conditions,omitempty"`
	Suspended            bool                           `json:"suspended,omitempty"`
	Creator              *publishv1alpha1.CreatorInfo   `json:"creator,omitempty"`
	Token                *publishv1alpha1.TokenStatus   `json:"token,omitempty"`
	ThrottledUntil       *metav1.Time                   `json:"throttledUntil,omitempty"`
	ConsecutiveThrottles int32                          `json:"consecutiveThrottles,omitempty"`
	Usage                []publishv1alpha1.LimitUsage   `json:"usage,omitempty"`
	Counts               *publishv1alpha1.QueueStatus   `json:"counts,omitempty"`
	Lowered              []publishv1alpha1.LoweredLimit `json:"lowered,omitempty"`
	Queue                []PostReport                   `json:"queue"`
	InFlight             []PostReport                   `json:"inFlight"`
	RecentFailures       []PostReport                   `json:"recentFailures"`
	MoreFailures         int                            `json:"moreFailures,omitempty"`
}

// PostReport is one post, from its status (and the spec fields that order the queue).
type PostReport struct {
	Name             string                          `json:"name"`
	Phase            publishv1alpha1.Phase           `json:"phase,omitempty"`
	Reason           string                          `json:"reason,omitempty"`
	Message          string                          `json:"message,omitempty"`
	QueuePosition    int32                           `json:"queuePosition,omitempty"`
	NextAttemptTime  *metav1.Time                    `json:"nextAttemptTime,omitempty"`
	Priority         int32                           `json:"priority,omitempty"`
	PublishAt        *metav1.Time                    `json:"publishAt,omitempty"`
	Attempts         int32                           `json:"attempts,omitempty"`
	LastAttemptTime  *metav1.MicroTime               `json:"lastAttemptTime,omitempty"`
	PublishID        string                          `json:"publishID,omitempty"`
	ProcessingStatus string                          `json:"processingStatus,omitempty"`
	UploadProgress   *publishv1alpha1.UploadProgress `json:"uploadProgress,omitempty"`
	LastError        *publishv1alpha1.PostError      `json:"lastError,omitempty"`
	// FailedAt is when the post became Failed (the Ready condition's last transition).
	FailedAt *metav1.Time `json:"failedAt,omitempty"`
	created  metav1.Time
}

// gather reads the AccountQuotas (one, the namespace's or every namespace's) and their posts.
func (so *statusOptions) gather(ctx context.Context, c client.Client, account string) (*StatusReport, error) {
	var listOpts []client.ListOption
	ns := ""
	if !so.allNamespaces {
		var err error
		if ns, err = so.Namespace(); err != nil {
			return nil, err
		}
		listOpts = append(listOpts, client.InNamespace(ns))
	}
	var aqs []publishv1alpha1.AccountQuota
	if account != "" && !so.allNamespaces {
		var aq publishv1alpha1.AccountQuota
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: account}, &aq); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, fmt.Errorf("AccountQuota %q not found in namespace %q (list them with kubectl get accountquotas)", account, ns)
			}
			return nil, fmt.Errorf("reading AccountQuota %s/%s: %w", ns, account, err)
		}
		aqs = append(aqs, aq)
	} else {
		var l publishv1alpha1.AccountQuotaList
		if err := c.List(ctx, &l, listOpts...); err != nil {
			return nil, fmt.Errorf("listing AccountQuotas: %w", err)
		}
		for i := range l.Items {
			if account == "" || l.Items[i].Name == account {
				aqs = append(aqs, l.Items[i])
			}
		}
		if account != "" && len(aqs) == 0 {
			return nil, fmt.Errorf("no AccountQuota named %q in any namespace", account)
		}
	}
	var posts publishv1alpha1.TikTokPostList
	if err := c.List(ctx, &posts, listOpts...); err != nil {
		return nil, fmt.Errorf("listing TikTokPosts: %w", err)
	}
	rep := buildReport(aqs, posts.Items, so.failures)
	return rep, nil
}

// buildReport sorts the posts into their accounts' queue, in-flight and failure lists. Accounts are
// ordered by namespace and name.
func buildReport(aqs []publishv1alpha1.AccountQuota, posts []publishv1alpha1.TikTokPost, failures int) *StatusReport {
	type key struct{ ns, name string }
	idx := map[key]int{}
	rep := &StatusReport{Accounts: make([]AccountReport, 0, len(aqs))}
	sort.Slice(aqs, func(i, j int) bool {
		if aqs[i].Namespace != aqs[j].Namespace {
			return aqs[i].Namespace < aqs[j].Namespace
		}
		return aqs[i].Name < aqs[j].Name
	})
	for i := range aqs {
		idx[key{aqs[i].Namespace, aqs[i].Name}] = i
		rep.Accounts = append(rep.Accounts, accountReport(&aqs[i]))
	}
	for i := range posts {
		p := &posts[i]
		j, ok := idx[key{p.Namespace, p.Spec.AccountRef.Name}]
		if !ok {
			continue
		}
		a := &rep.Accounts[j]
		pr := postReport(p)
		switch p.Status.Phase {
		case publishv1alpha1.PhasePending, publishv1alpha1.PhaseScheduled, publishv1alpha1.PhaseQueued, "":
			a.Queue = append(a.Queue, pr)
		case publishv1alpha1.PhasePublishing, publishv1alpha1.PhaseProcessing:
			a.InFlight = append(a.InFlight, pr)
		case publishv1alpha1.PhaseFailed:
			a.RecentFailures = append(a.RecentFailures, pr)
		}
	}
	for i := range rep.Accounts {
		a := &rep.Accounts[i]
		sortQueue(a.Queue)
		sort.SliceStable(a.InFlight, func(i, j int) bool {
			return microBefore(a.InFlight[i].LastAttemptTime, a.InFlight[j].LastAttemptTime, a.InFlight[i].Name, a.InFlight[j].Name)
		})
		sort.SliceStable(a.RecentFailures, func(i, j int) bool {
			x, y := a.RecentFailures[i], a.RecentFailures[j]
			if !timeEqual(x.FailedAt, y.FailedAt) {
				return timeBefore(y.FailedAt, x.FailedAt) // most recent first
			}
			return x.Name < y.Name
		})
		if len(a.RecentFailures) > failures {
			a.MoreFailures = len(a.RecentFailures) - failures
			a.RecentFailures = a.RecentFailures[:failures]
		}
		for _, l := range []*[]PostReport{&a.Queue, &a.InFlight, &a.RecentFailures} {
			if *l == nil {
				*l = []PostReport{}
			}
		}
	}
	return rep
}

// accountReport is an AccountQuota's status as status shows it.
func accountReport(aq *publishv1alpha1.AccountQuota) AccountReport {
	st := &aq.Status
	a := AccountReport{
		Namespace: aq.Namespace, Name: aq.Name, Suspended: aq.Spec.Suspend,
		Creator: st.Creator, Token: st.Token, ThrottledUntil: st.ThrottledUntil,
		ConsecutiveThrottles: st.ConsecutiveThrottles, Usage: st.Usage, Counts: st.Queue,
	}
	if st.Checkpoint != nil {
		a.Lowered = st.Checkpoint.Lowered
	}
	for _, c := range st.Conditions {
		if c.Type == publishv1alpha1.ConditionReady {
			a.Ready, a.Reason, a.Message = string(c.Status), c.Reason, c.Message
			continue
		}
		if c.Status == metav1.ConditionTrue {
			a.Conditions = append(a.Conditions, c)
		}
	}
	sort.Slice(a.Conditions, func(i, j int) bool { return a.Conditions[i].Type < a.Conditions[j].Type })
	return a
}

// postReport is a post's status as status shows it.
func postReport(p *publishv1alpha1.TikTokPost) PostReport {
	st := &p.Status
	pr := PostReport{
		Name: p.Name, Phase: st.Phase, QueuePosition: st.QueuePosition, NextAttemptTime: st.NextAttemptTime,
		Priority: p.Spec.Priority, PublishAt: p.Spec.PublishAt, Attempts: st.Attempts,
		LastAttemptTime: st.LastAttemptTime, PublishID: st.PublishID, ProcessingStatus: st.ProcessingStatus,
		UploadProgress: st.UploadProgress, LastError: st.LastError, created: p.CreationTimestamp,
	}
	if c := meta.FindStatusCondition(st.Conditions, publishv1alpha1.ConditionReady); c != nil {
		pr.Reason, pr.Message = c.Reason, c.Message
	}
	if st.Phase == publishv1alpha1.PhaseFailed {
		pr.FailedAt = failedAt(st)
	}
	return pr
}

// sortQueue orders waiting posts as the operator does: by the queue position it wrote (posts without
// one, not yet placed, last), then the documented order of the queue (higher priority, earlier
// publishAt, older, name).
func sortQueue(q []PostReport) {
	sort.SliceStable(q, func(i, j int) bool {
		x, y := q[i], q[j]
		if (x.QueuePosition > 0) != (y.QueuePosition > 0) {
			return x.QueuePosition > 0
		}
		if x.QueuePosition != y.QueuePosition {
			return x.QueuePosition < y.QueuePosition
		}
		if x.Priority != y.Priority {
			return x.Priority > y.Priority
		}
		if !timeEqual(x.PublishAt, y.PublishAt) {
			return timeBefore(x.PublishAt, y.PublishAt)
		}
		if !x.created.Equal(&y.created) {
			return x.created.Before(&y.created)
		}
		return x.Name < y.Name
	})
}

// timeBefore orders times with unset last.
func timeBefore(a, b *metav1.Time) bool {
	switch {
	case a == nil:
		return false
	case b == nil:
		return true
	}
	return a.Before(b)
}

func timeEqual(a, b *metav1.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(b)
}

func microBefore(a, b *metav1.MicroTime, an, bn string) bool {
	switch {
	case a == nil && b == nil:
		return an < bn
	case a == nil:
		return false
	case b == nil:
		return true
	case !a.Equal(b):
		return a.Before(b)
	}
	return an < bn
}

// errNoAccounts is printed (not returned) when there is nothing to show.
var errNoAccounts = errors.New("no AccountQuotas found")

// failedAt is when a Failed post failed: Stalled became True then (Ready stays False from the post's
// first reconcile, so its transition time is older); the last error's time when Stalled is missing.
func failedAt(st *publishv1alpha1.TikTokPostStatus) *metav1.Time {
	if c := meta.FindStatusCondition(st.Conditions, publishv1alpha1.ConditionStalled); c != nil && c.Status == metav1.ConditionTrue {
		t := c.LastTransitionTime
		return &t
	}
	if st.LastError != nil && st.LastError.Time != nil {
		return st.LastError.Time
	}
	return nil
}
