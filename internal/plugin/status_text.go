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
	"io"
	"strings"
	"text/tabwriter"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	publishv1alpha1 "github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
)

// writeStatusText prints the report for people: one block per account, its sections aligned in
// columns, times relative to now.
func writeStatusText(out io.Writer, rep *StatusReport, now time.Time) error {
	if len(rep.Accounts) == 0 {
		_, err := fmt.Fprintln(out, errNoAccounts.Error()+" (create one with kubectl tiktok connect)")
		return err
	}
	w := &textWriter{tw: tabwriter.NewWriter(out, 0, 4, 2, ' ', 0), now: now}
	for i := range rep.Accounts {
		if i > 0 {
			w.line("")
		}
		w.account(&rep.Accounts[i])
	}
	return w.tw.Flush()
}

// textWriter writes tab-separated rows through one tabwriter; a row without tabs ends a column block.
type textWriter struct {
	tw  *tabwriter.Writer
	now time.Time
}

func (w *textWriter) line(cells ...string) { _, _ = fmt.Fprintln(w.tw, strings.Join(cells, "\t")) }

// when is a time relative to now, or "-" when unset.
func (w *textWriter) when(t *metav1.Time) string {
	if t == nil {
		return "-"
	}
	return relative(t.Time, w.now)
}

func (w *textWriter) account(a *AccountReport) {
	ready := a.Ready
	if ready == "" {
		ready = "Unknown"
	}
	head := fmt.Sprintf("%s (%s)", ready, orDash(a.Reason))
	if a.Message != "" && a.Ready != string(metav1.ConditionTrue) {
		head += ": " + oneLine(a.Message)
	}
	w.line("ACCOUNT", a.Namespace+"/"+a.Name)
	w.line("Ready", head)
	if a.Suspended {
		w.line("Suspended", "yes (spec.suspend: no call is made for this account)")
	}
	for _, c := range a.Conditions {
		w.line(c.Type, fmt.Sprintf("%s (%s): %s", c.Status, c.Reason, oneLine(c.Message)))
	}
	if a.ThrottledUntil != nil {
		w.line("Cooldown", fmt.Sprintf("ends %s (%d unexpected 429s in a row)", w.when(a.ThrottledUntil), a.ConsecutiveThrottles))
	}
	if cr := a.Creator; cr != nil {
		s := "@" + cr.Username
		if cr.Nickname != "" {
			s += fmt.Sprintf(" (%s)", cr.Nickname)
		}
		s += ", privacy " + orDash(strings.Join(cr.PrivacyLevelOptions, ", "))
		if cr.MaxVideoPostDurationSec > 0 {
			s += fmt.Sprintf(", videos up to %ds", cr.MaxVideoPostDurationSec)
		}
		w.line("Creator", s)
	}
	if tk := a.Token; tk != nil {
		w.line("Tokens", fmt.Sprintf("access token expires %s, refresh token expires %s, last refreshed %s",
			w.when(tk.AccessTokenExpiresAt), w.when(tk.RefreshTokenExpiresAt), w.when(tk.LastRefreshTime)))
	}
	if c := a.Counts; c != nil {
		w.line("Posts", fmt.Sprintf("%d waiting, %d in flight, %d published and %d failed in the last 24h",
			c.Waiting, c.InFlight, c.PublishedLast24h, c.FailedLast24h))
	}
	w.line("")
	w.usage(a)
	w.line("")
	w.queue(a.Queue)
	w.line("")
	w.inFlight(a.InFlight)
	w.line("")
	w.failures(a.RecentFailures, a.MoreFailures)
}

// usage is the limits table: the daily windows (dailyPosts, pendingShares) are the daily counts.
func (w *textWriter) usage(a *AccountReport) {
	if len(a.Usage) == 0 {
		w.line("LIMITS: none reported yet")
		return
	}
	w.line("LIMIT", "USED", "ALLOWED", "LIMIT", "WINDOW", "NEXT SLOT", "LEARNED")
	for _, u := range a.Usage {
		next := "free now"
		if u.NextSlotAt != nil && u.NextSlotAt.After(w.now) {
			next = w.when(u.NextSlotAt)
		}
		learned := "-"
		if u.LoweredAt != nil {
			learned = fmt.Sprintf("lowered %s, next probe %s", w.when(u.LoweredAt), w.when(u.NextProbeAt))
			if u.NextProbeAt != nil && !u.NextProbeAt.After(w.now) {
				learned = fmt.Sprintf("lowered %s, a raised step awaits its probe", w.when(u.LoweredAt))
			}
		}
		w.line(u.Name, fmt.Sprint(u.Used), fmt.Sprint(u.EffectiveLimit), fmt.Sprint(u.Limit),
			shortDuration(u.Window.Duration), next, learned)
	}
}

func (w *textWriter) queue(q []PostReport) {
	if len(q) == 0 {
		w.line("QUEUE: empty")
		return
	}
	w.line("QUEUE", "POST", "PHASE", "REASON", "EXPECTED SEND", "ATTEMPTS", "PRIORITY", "PUBLISH AT")
	for _, p := range q {
		pos := "-"
		if p.QueuePosition > 0 {
			pos = fmt.Sprint(p.QueuePosition)
		}
		w.line(pos, p.Name, orDash(string(p.Phase)), orDash(p.Reason), w.when(p.NextAttemptTime),
			fmt.Sprint(p.Attempts), fmt.Sprint(p.Priority), w.when(p.PublishAt))
	}
}

func (w *textWriter) inFlight(q []PostReport) {
	if len(q) == 0 {
		w.line("IN FLIGHT: none")
		return
	}
	w.line("IN FLIGHT", "PHASE", "SENT", "ATTEMPTS", "TIKTOK STATUS", "PUBLISH ID")
	for _, p := range q {
		sent := "-"
		if p.LastAttemptTime != nil {
			sent = relative(p.LastAttemptTime.Time, w.now)
		}
		ts := orDash(p.ProcessingStatus)
		if u := p.UploadProgress; u != nil && u.TotalBytes > 0 {
			ts += fmt.Sprintf(" (%d/%d bytes)", u.UploadedBytes, u.TotalBytes)
		}
		w.line(p.Name, string(p.Phase), sent, fmt.Sprint(p.Attempts), ts, orDash(p.PublishID))
	}
}

func (w *textWriter) failures(q []PostReport, more int) {
	if len(q) == 0 {
		w.line("RECENT FAILURES: none")
		return
	}
	w.line("RECENT FAILURES", "REASON", "FAILED", "ATTEMPTS", "ERROR")
	for _, p := range q {
		w.line(p.Name, orDash(p.Reason), w.when(p.FailedAt), fmt.Sprint(p.Attempts), postErrorText(p.LastError, p.Message))
	}
	if more > 0 {
		w.line(fmt.Sprintf("(%d older failures not shown; --failures N shows more)", more))
	}
}

// postErrorText is TikTok's error of a post (code: message, HTTP status), or the condition's message.
func postErrorText(e *publishv1alpha1.PostError, message string) string {
	if e == nil || (e.Code == "" && e.Message == "") {
		return orDash(oneLine(message))
	}
	s := e.Code
	if e.Message != "" {
		s += ": " + oneLine(e.Message)
	}
	if e.HTTPStatus != 0 {
		s += fmt.Sprintf(" (HTTP %d)", e.HTTPStatus)
	}
	return s
}

// oneLine keeps a message on its row (a tab or a newline would break the columns).
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
