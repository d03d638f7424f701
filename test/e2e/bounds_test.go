package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/controllers"
)

// oversized is a TikTok that answers with values of any size: a stub in front of the simulator that
// rewrites some answers. invalidUTF8 marks where raw bytes that are not UTF-8 go into a JSON string.
const invalidUTF8 = "\xff\xfe\xc3"

// TestOversizedAnswersStillGetWritten: TikTok's answers carry values far over what the CRD admits (a
// 10 KB error message, a 300-character error code, a 1 KB log id, a 300-character publish id and fail
// reason, 100 post ids, a 10 KB username, 100 privacy options, invalid UTF-8). Every post still gets its
// status written (no 422 leaves it stuck) and ends with a clear reason, the account becomes Ready, and
// the metric counts the unknown code as "other".
func TestOversizedAnswersStillGetWritten(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	longCode := strings.Repeat("x", 60) + strings.Repeat("é", 240) // 300 characters, multi-byte across byte 61
	stub := httptest.NewServer(oversizedTikTok(t, e.simURL, longCode))
	t.Cleanup(stub.Close)
	e.account("brand", func(aq *v1alpha1.AccountQuota) { aq.Spec.Endpoint = stub.URL })

	e.post("big-error", "brand", nil)
	e.post("long-publish-id", "brand", nil)
	e.post("many-ids", "brand", nil)
	e.post("long-fail-reason", "brand", func(s *v1alpha1.TikTokPostSpec) {
		s.Title = "long-fail-reason #simfail:" + strings.Repeat("q", 300)
	})
	opts := fastOptions()
	opts.AllowedEndpoints = controllers.MustParseAllowedEndpoints(e.simURL + "," + stub.URL) // the stub stands in for TikTok
	e.startManager(opts)

	want := map[string]struct {
		phase  v1alpha1.Phase
		reason string
	}{
		"big-error":        {v1alpha1.PhaseFailed, v1alpha1.ReasonTikTokRejected},
		"long-publish-id":  {v1alpha1.PhaseFailed, v1alpha1.ReasonUncertainOutcome},
		"many-ids":         {v1alpha1.PhasePublished, v1alpha1.ReasonPublished},
		"long-fail-reason": {v1alpha1.PhaseFailed, v1alpha1.ReasonProcessingFailed},
	}
	deadline := time.Now().Add(time.Minute)
	for {
		ps := e.posts()
		done := len(ps) == len(want)
		for i := range ps {
			done = done && ps[i].Status.Phase == want[ps[i].Name].phase
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			for i := range ps {
				t.Logf("%s: %s", ps[i].Name, summary(&ps[i]))
			}
			t.Fatalf("the posts did not end as expected within a minute; the manager's refused writes:\n%s",
				refusedWrites(e.logs.String()))
		}
		time.Sleep(200 * time.Millisecond)
	}

	for name, w := range want {
		p := e.getPost(name)
		t.Logf("%s: %s", name, summary(p))
		if got := readyReason(p); got != w.reason {
			t.Errorf("%s: reason %s, want %s (%s)", name, got, w.reason, summary(p))
		}
		checkText(t, name+" status.publishID", p.Status.PublishID, v1alpha1.MaxPublishIDLength)
		checkText(t, name+" status.processingStatus", p.Status.ProcessingStatus, v1alpha1.MaxProcessingStatusLength)
		for _, c := range p.Status.Conditions {
			checkText(t, name+" condition "+c.Type, c.Message, 32768)
		}
		for _, h := range p.Status.AttemptHistory {
			checkText(t, name+" attemptHistory code", h.Code, v1alpha1.MaxErrorCodeLength)
		}
		if le := p.Status.LastError; le != nil {
			checkText(t, name+" lastError.code", le.Code, v1alpha1.MaxErrorCodeLength)
			checkText(t, name+" lastError.message", le.Message, v1alpha1.MaxErrorMessageLength)
			checkText(t, name+" lastError.logID", le.LogID, v1alpha1.MaxLogIDLength)
		}
	}
	if le := e.getPost("big-error").Status.LastError; le == nil || !strings.HasPrefix(le.Code, strings.Repeat("x", 60)+"é") ||
		utf8.RuneCountInString(le.Message) < v1alpha1.MaxErrorMessageLength-3 {
		t.Errorf("big-error: lastError %+v, want TikTok's code and message cut to the bounds", le)
	}
	if ids := e.getPost("many-ids").Status.PostIDs; len(ids) != v1alpha1.MaxPostIDs || ids[0] != "7000000000000000000" {
		t.Errorf("many-ids: %d post ids %v, want the first %d of TikTok's 100", len(ids), ids, v1alpha1.MaxPostIDs)
	}
	if c := meta.FindStatusCondition(e.getPost("long-publish-id").Status.Conditions, v1alpha1.ConditionReady); c == nil ||
		!strings.Contains(c.Message, "publish id") {
		t.Errorf("long-publish-id: Ready %+v, want a message about the publish id", c)
	}

	aq := &v1alpha1.AccountQuota{}
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: e.ns, Name: "brand"}, aq); err != nil {
		t.Fatal(err)
	}
	if !meta.IsStatusConditionTrue(aq.Status.Conditions, v1alpha1.ConditionReady) || aq.Status.Creator == nil {
		t.Fatalf("account: conditions %+v, creator %+v; want Ready with the creator's info", aq.Status.Conditions, aq.Status.Creator)
	}
	cr := aq.Status.Creator
	checkText(t, "creator.username", cr.Username, v1alpha1.MaxCreatorNameLength)
	checkText(t, "creator.nickname", cr.Nickname, v1alpha1.MaxCreatorNameLength)
	checkText(t, "creator.avatarURL", cr.AvatarURL, v1alpha1.MaxAvatarURLLength)
	if cr.AvatarURL != "" {
		t.Errorf("creator.avatarURL %.60q..., want it left out (a cut URL is a wrong URL)", cr.AvatarURL)
	}
	if len(cr.PrivacyLevelOptions) > v1alpha1.MaxPrivacyLevelOptions {
		t.Errorf("creator.privacyLevelOptions has %d entries", len(cr.PrivacyLevelOptions))
	}
	for _, o := range cr.PrivacyLevelOptions {
		checkText(t, "creator.privacyLevelOptions[]", o, v1alpha1.MaxPrivacyLevelOptionLength)
	}
	for _, known := range []string{"PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY"} {
		found := false
		for _, o := range cr.PrivacyLevelOptions {
			found = found || o == known
		}
		if !found {
			t.Errorf("creator.privacyLevelOptions %v lost %s (TikTok sent it after 96 others)", cr.PrivacyLevelOptions, known)
		}
	}

	g := gatherMetrics(t) // fails on a label value that is not valid UTF-8
	if got := g.sum("tiktok_operator_api_requests_total", map[string]string{"endpoint": "video_init", "code": "other"}); got < 1 {
		t.Errorf("tiktok_operator_api_requests_total{endpoint=video_init,code=other} = %v, want at least 1 (the invented code)", got)
	}
	for _, m := range g["tiktok_operator_api_requests_total"] {
		for _, l := range m.GetLabel() {
			if l.GetName() == "code" && (strings.HasPrefix(l.GetValue(), "xxxx") || utf8.RuneCountInString(l.GetValue()) > 64) {
				t.Errorf("tiktok_operator_api_requests_total has the code label %.70q: TikTok's invented code became a series", l.GetValue())
			}
		}
	}
	if r := refusedWrites(e.logs.String()); r != "" {
		t.Errorf("the API server refused writes of the manager:\n%s", r)
	}
}

// checkText fails unless s is valid UTF-8 of at most n characters.
func checkText(t *testing.T, what, s string, n int) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Errorf("%s is not valid UTF-8: %.80q", what, s)
	}
	if c := utf8.RuneCountInString(s); c > n {
		t.Errorf("%s has %d characters, over the CRD's %d", what, c, n)
	}
}

func summary(p *v1alpha1.TikTokPost) string {
	s := fmt.Sprintf("phase %s, reason %s, attempts %d", p.Status.Phase, readyReason(p), p.Status.Attempts)
	if c := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionReady); c != nil {
		s += fmt.Sprintf(" (%.300s)", c.Message)
	}
	return s
}

// refusedWrites returns the manager's log lines about writes the API server refused as invalid.
func refusedWrites(logs string) string {
	var out []string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "Too long") || strings.Contains(l, "must have at most") || strings.Contains(l, "is invalid") {
			out = append(out, fmt.Sprintf("%.400s", l))
		}
	}
	return strings.Join(out, "\n")
}

// oversizedTikTok forwards to the simulator and rewrites answers: creator_info's strings and lists, the
// init call of the post titled big-error (a 400 with oversized error fields), the init call of
// long-publish-id (a publish_id of 300 characters), and status/fetch's post ids (100 of them).
func oversizedTikTok(t *testing.T, simURL, longCode string) http.Handler {
	forward := func(r *http.Request, body []byte) (int, []byte) {
		req, err := http.NewRequestWithContext(r.Context(), r.Method, simURL+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			t.Error(err)
			return http.StatusInternalServerError, nil
		}
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return http.StatusBadGateway, nil
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	write := func(w http.ResponseWriter, status int, body []byte) {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}
	// rewrite decodes a JSON answer, lets f change its data, and encodes it again; placeholders in the
	// result are then replaced by raw bytes (json.Marshal would repair invalid UTF-8).
	rewrite := func(body []byte, f func(data map[string]any)) []byte {
		var env map[string]any
		if err := json.Unmarshal(body, &env); err != nil {
			return body
		}
		data, _ := env["data"].(map[string]any)
		if data == nil {
			return body
		}
		f(data)
		out, err := json.Marshal(env)
		if err != nil {
			t.Error(err)
		}
		return bytes.ReplaceAll(out, []byte("INVALID_UTF8"), []byte(invalidUTF8))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/v2/post/publish/creator_info/query/":
			status, b := forward(r, body)
			write(w, status, rewrite(b, func(d map[string]any) {
				d["creator_username"] = strings.Repeat("u", 10_000)
				d["creator_nickname"] = "nick INVALID_UTF8 " + strings.Repeat("ñ", 400)
				d["creator_avatar_url"] = "https://cdn.example.com/" + strings.Repeat("a", 5000) + ".png"
				opts := make([]string, 0, 100)
				for i := range 96 {
					if i%2 == 0 {
						opts = append(opts, fmt.Sprintf("LEVEL_%d_%s", i, strings.Repeat("L", 300)))
					} else {
						opts = append(opts, fmt.Sprintf("LEVEL_%d_INVALID_UTF8", i))
					}
				}
				d["privacy_level_options"] = append(opts, "PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY")
			}))
		case "/v2/post/publish/video/init/":
			switch {
			case bytes.Contains(body, []byte(`"title":"big-error"`)):
				msg := "refused INVALID_UTF8 " + strings.Repeat("m", 10_000)
				b, _ := json.Marshal(map[string]any{"error": map[string]string{
					"code": longCode, "message": msg, "log_id": strings.Repeat("L", 1000)}})
				write(w, http.StatusBadRequest, bytes.ReplaceAll(b, []byte("INVALID_UTF8"), []byte(invalidUTF8)))
			case bytes.Contains(body, []byte(`"title":"long-publish-id"`)):
				b, _ := json.Marshal(map[string]any{"data": map[string]string{"publish_id": "v_pub_" + strings.Repeat("p", 300)},
					"error": map[string]string{"code": "ok", "message": "", "log_id": "l"}})
				write(w, http.StatusOK, b)
			default:
				status, b := forward(r, body)
				write(w, status, b)
			}
		case "/v2/post/publish/status/fetch/":
			status, b := forward(r, body)
			write(w, status, rewrite(b, func(d map[string]any) {
				if d["status"] != "PUBLISH_COMPLETE" {
					return
				}
				ids := make([]int64, 100)
				for i := range ids {
					ids[i] = 7000000000000000000 + int64(i)
				}
				d["publicaly_available_post_id"] = ids
			}))
		default:
			status, b := forward(r, body)
			write(w, status, b)
		}
	})
}
