package crd

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
)

// What a human sees: `kubectl apply --dry-run=server` of a bad manifest names the field and the rule.
func TestKubectlShowsValidationMessages(t *testing.T) {
	ns := newNamespace(t)
	cases := []struct {
		name, doc string
		want      []string
	}{
		{"photo-title", manifest("TikTokPost", "bad-photo", `
			accountRef: {name: brand-main}
			privacyLevel: SELF_ONLY
			photo: {urls: ["https://cdn.example.com/1.jpg"]}
			title: "`+strings.Repeat("x", 91)+`"
		`), []string{"spec.title", "at most 90 characters for a photo post"}},
		{"fileupload-photo", manifest("TikTokPost", "bad-transfer", `
			accountRef: {name: brand-main}
			mode: Upload
			photo: {urls: ["https://cdn.example.com/1.jpg"], transfer: FileUpload}
		`), []string{"spec.photo.transfer", "PULL_FROM_URL"}},
		{"endpoint", manifest("AccountQuota", "bad-endpoint", `
			credentialsSecretRef: {name: creds}
			endpoint: http://tiktok.example.com
		`), []string{"spec.endpoint", "loopback address only"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, err := kubectl(t, c.doc, "apply", "--dry-run=server", "-n", ns, "-f", "-")
			if err == nil {
				t.Fatalf("kubectl apply --dry-run=server accepted:\n%s", c.doc)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("kubectl stderr does not mention %q:\n%s", w, stderr)
				}
			}
		})
	}
	// And a good one passes the same way.
	good := manifest("TikTokPost", "good", `
		accountRef: {name: brand-main}
		privacyLevel: SELF_ONLY
		video: {url: "https://cdn.example.com/v.mp4"}
	`)
	if out, stderr, err := kubectl(t, good, "apply", "--dry-run=server", "-n", ns, "-f", "-"); err != nil {
		t.Errorf("good manifest refused by kubectl: %v\n%s%s", err, out, stderr)
	}
}

// `kubectl explain` shows the field docs (the doc comments of api/v1alpha1).
func TestKubectlExplain(t *testing.T) {
	cases := []struct {
		resource string
		want     []string
	}{
		{"tiktokpost.spec", []string{"accountRef", "privacyLevel", "onUncertainOutcome", "Fixed once the first attempt has started",
			"at most 2200 characters for a video post, 90 for a photo post"}},
		{"tiktokpost.status.nextAttemptTime", []string{"projected time of the next init call", "cleared once the post leaves the queue"}},
		{"ttpost.spec.video.transfer", []string{"PullFromURL", "FileUpload"}},
		{"accountquota.spec.limits.postInit", []string{"6 per minute", "requests", "window"}},
		{"aq.status.throttledUntil", []string{"cooldown", "cleared when the"}},
	}
	for _, c := range cases {
		t.Run(c.resource, func(t *testing.T) {
			out := explain(t, c.resource)
			flat := strings.Join(strings.Fields(out), " ")
			for _, w := range c.want {
				if !strings.Contains(flat, w) {
					t.Errorf("kubectl explain %s does not show %q:\n%s", c.resource, w, out)
				}
			}
		})
	}
	// The type's description is for users: implementation notes (the content lock's cost to the API
	// server) stay in the Go source.
	t.Run("tiktokpost", func(t *testing.T) {
		out := explain(t, "tiktokpost")
		if !strings.Contains(strings.Join(strings.Fields(out), " "), "is one TikTok post") {
			t.Errorf("kubectl explain tiktokpost does not show the type's description:\n%s", out)
		}
		for _, bad := range []string{"CPU", "one rule, not one per field"} {
			if strings.Contains(out, bad) {
				t.Errorf("kubectl explain tiktokpost shows an implementation note (%q):\n%s", bad, out)
			}
		}
	})
}

// explain runs `kubectl explain resource`, waiting for the API server to publish the CRD's OpenAPI.
func explain(t *testing.T, resource string) string {
	t.Helper()
	var out, stderr string
	var err error
	// The API server publishes a new CRD's OpenAPI a moment after the CRD is established.
	for deadline := time.Now().Add(30 * time.Second); ; {
		out, stderr, err = kubectl(t, "", "explain", resource)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("kubectl explain %s: %v\n%s", resource, err, stderr)
	}
	return out
}

// Short names, the tiktok category and the printer columns.
func TestKubectlGetColumns(t *testing.T) {
	ns := newNamespace(t)
	p := newVideoPost(ns, "launch-teaser")
	if err := k8sClient.Create(ctx(t), p); err != nil {
		t.Fatal(err)
	}
	next := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	throttled := next.Add(time.Minute)
	p.Status = v1alpha1.TikTokPostStatus{
		Phase: v1alpha1.PhasePublished, Attempts: 2, PostIDs: []string{"7301234567890123456", "7301234567890123457"},
		NextAttemptTime: &metav1.Time{Time: next},
	}
	if err := k8sClient.Status().Update(ctx(t), p); err != nil {
		t.Fatal(err)
	}
	aq := &v1alpha1.AccountQuota{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "brand-main"},
		Spec:       v1alpha1.AccountQuotaSpec{CredentialsSecretRef: v1alpha1.LocalObjectReference{Name: "creds"}},
	}
	if err := k8sClient.Create(ctx(t), aq); err != nil {
		t.Fatal(err)
	}
	aq.Status = v1alpha1.AccountQuotaStatus{
		Queue:          &v1alpha1.QueueStatus{Waiting: 12, InFlight: 1, PublishedLast24h: 9},
		ThrottledUntil: &metav1.Time{Time: throttled},
		Conditions: []metav1.Condition{{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue,
			Reason: v1alpha1.ReasonAccountReady, LastTransitionTime: metav1.Now()}},
	}
	if err := k8sClient.Status().Update(ctx(t), aq); err != nil {
		t.Fatal(err)
	}
	got := &v1alpha1.AccountQuota{}
	if err := k8sClient.Get(ctx(t), client.ObjectKeyFromObject(aq), got); err != nil || got.Status.Queue == nil {
		t.Fatalf("status not stored: %v %+v", err, got.Status)
	}

	// A Failed post says why, and so does a stalled account.
	failed := newVideoPost(ns, "failed-teaser")
	failed.Spec.AccountRef.Name = "brand-stalled"
	if err := k8sClient.Create(ctx(t), failed); err != nil {
		t.Fatal(err)
	}
	failed.Status = v1alpha1.TikTokPostStatus{
		Phase: v1alpha1.PhaseFailed, Attempts: 3,
		Conditions: []metav1.Condition{
			{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonMaxAttemptsExceeded,
				Message: "3 attempts failed", LastTransitionTime: metav1.Now()},
			{Type: v1alpha1.ConditionStalled, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonMaxAttemptsExceeded,
				Message: "3 attempts failed", LastTransitionTime: metav1.Now()},
		},
	}
	if err := k8sClient.Status().Update(ctx(t), failed); err != nil {
		t.Fatal(err)
	}
	stalled := &v1alpha1.AccountQuota{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "brand-stalled"},
		Spec:       v1alpha1.AccountQuotaSpec{CredentialsSecretRef: v1alpha1.LocalObjectReference{Name: "creds"}},
	}
	if err := k8sClient.Create(ctx(t), stalled); err != nil {
		t.Fatal(err)
	}
	stalled.Status = v1alpha1.AccountQuotaStatus{
		Conditions: []metav1.Condition{{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse,
			Reason: v1alpha1.ReasonCredentialsInvalid, Message: "invalid_grant", LastTransitionTime: metav1.Now()}},
	}
	if err := k8sClient.Status().Update(ctx(t), stalled); err != nil {
		t.Fatal(err)
	}

	// The rows, cell by cell (an empty cell prints as blanks).
	rows := []struct {
		args []string
		name string
		want map[string]string
	}{
		{[]string{"get", "ttpost", "-n", ns}, "failed-teaser", map[string]string{"ACCOUNT": "brand-stalled", "PHASE": "Failed",
			"ATTEMPTS": "3", "READY": "False", "REASON": "MaxAttemptsExceeded"}},
		{[]string{"get", "ttpost", "-n", ns}, "launch-teaser", map[string]string{"PHASE": "Published", "READY": "", "REASON": ""}},
		{[]string{"get", "aq", "-n", ns}, "brand-stalled", map[string]string{"READY": "False", "REASON": "CredentialsInvalid", "WAITING": ""}},
		{[]string{"get", "aq", "-n", ns}, "brand-main", map[string]string{"READY": "True", "REASON": "AccountReady", "WAITING": "12"}},
	}
	for _, r := range rows {
		out, stderr, err := kubectl(t, "", r.args...)
		if err != nil {
			t.Errorf("kubectl %v: %v\n%s", r.args, err, stderr)
			continue
		}
		got := tableRow(out, r.name)
		for col, want := range r.want {
			if v, ok := got[col]; !ok || v != want {
				t.Errorf("kubectl %v: %s of %s is %q (column found: %v), want %q:\n%s", r.args, col, r.name, v, ok, want, out)
			}
		}
	}

	checks := []struct {
		args []string
		want []string
	}{
		{[]string{"get", "ttpost", "-n", ns, "-o", "wide"}, []string{"ACCOUNT", "PHASE", "ATTEMPTS", "READY", "REASON", "NEXT ATTEMPT", "POST ID", "AGE",
			"launch-teaser", "brand-main", "Published", "7301234567890123456", next.Format(time.RFC3339)}},
		{[]string{"get", "ttpost", "-n", ns}, []string{"ACCOUNT", "PHASE", "ATTEMPTS", "READY", "REASON", "AGE"}},
		{[]string{"get", "aq", "-n", ns, "-o", "wide"}, []string{"READY", "REASON", "WAITING", "PUBLISHED 24H", "THROTTLED UNTIL", "True", "12", "9", throttled.Format(time.RFC3339)}},
		{[]string{"get", "tiktok", "-n", ns}, []string{"tiktokpost.publish.tiktok-operator.dev/launch-teaser",
			"accountquota.publish.tiktok-operator.dev/brand-main"}},
	}
	for _, c := range checks {
		out, stderr, err := kubectl(t, "", c.args...)
		if err != nil {
			t.Errorf("kubectl %v: %v\n%s", c.args, err, stderr)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("kubectl %v does not show %q:\n%s", c.args, w, out)
			}
		}
		// A future time in a date column prints as <invalid>: those columns must be strings.
		if strings.Contains(out, "<invalid>") {
			t.Errorf("kubectl %v shows <invalid>:\n%s", c.args, out)
		}
	}
	if testing.Verbose() {
		out, _, _ := kubectl(t, "", "get", "tiktok", "-n", ns, "-o", "wide")
		t.Log(out)
	}
	// Priority-1 columns are hidden without -o wide.
	out, _, _ := kubectl(t, "", "get", "ttpost", "-n", ns)
	if strings.Contains(out, "POST ID") || strings.Contains(out, "NEXT ATTEMPT") {
		t.Errorf("priority-1 columns shown without -o wide:\n%s", out)
	}
}

// tableRow reads the row named name of kubectl's table output, cell by cell: a column starts where its
// header starts (headers and cells are left-aligned, and a cell may be blank).
func tableRow(out, name string) map[string]string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) == 0 {
		return nil
	}
	header := lines[0]
	var starts []int
	for i := range header {
		if header[i] != ' ' && (i == 0 || (i >= 2 && header[i-1] == ' ' && header[i-2] == ' ')) {
			starts = append(starts, i)
		}
	}
	cell := func(line string, k int) string {
		from, to := starts[k], len(line)
		if k+1 < len(starts) && starts[k+1] < to {
			to = starts[k+1]
		}
		if from >= len(line) {
			return ""
		}
		return strings.TrimSpace(line[from:to])
	}
	for _, line := range lines[1:] {
		if cell(line, 0) != name {
			continue
		}
		row := map[string]string{}
		for k := range starts {
			row[cell(header, k)] = cell(line, k)
		}
		return row
	}
	return nil
}
