package e2e

import (
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
	"github.com/tiktok-operator/tiktok-operator/test/apiproxy"
)

// The faults of the API server as the manager meets them: a proxy (test/apiproxy) between the manager and
// the API server answers some of the manager's TikTokPost status writes with a 409 or a 429 it never
// forwards, or lets the write land and then answers 500 or nothing at all. The simulator is the referee.

// postStatusPath matches the status subresource of the namespace's posts (name: one post, "" for any).
func postStatusPath(ns, name string) *regexp.Regexp {
	n := `[^/]+`
	if name != "" {
		n = regexp.QuoteMeta(name)
	}
	return regexp.MustCompile(`^/apis/` + regexp.QuoteMeta(v1alpha1.GroupVersion.Group) + `/` + v1alpha1.GroupVersion.Version +
		`/namespaces/` + regexp.QuoteMeta(ns) + `/tiktokposts/` + n + `/status$`)
}

// waitEnded polls until every post is in an end phase or the timeout passes, and returns the posts
// either way: the assertions then say what became of each (waitPosts would stop at a summary).
func (e *env) waitEnded(timeout time.Duration) []v1alpha1.TikTokPost {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ps := e.posts()
		if allEnded(ps) {
			return ps
		}
		if time.Now().After(deadline) {
			e.t.Errorf("timed out after %s; posts by phase: %v", timeout, phases(ps))
			return ps
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// faultsByPost lists the faults the proxy injected into each post's status writes, in order.
func faultsByPost(px *apiproxy.Proxy) map[string][]apiproxy.Fault {
	m := map[string][]apiproxy.Fault{}
	for _, ev := range px.Events() {
		if ev.Fault == apiproxy.Pass {
			continue
		}
		parts := strings.Split(ev.Path, "/")
		name := parts[len(parts)-2] // .../tiktokposts/NAME/status
		m[name] = append(m[name], ev.Fault)
	}
	return m
}

// TestAPIServerFaultsAtMostOnce strikes 20 % and 30 % of the manager's TikTokPost status writes with an
// equal mix of the four faults while 150 posts (5 accounts of 30, PullFromURL, onUncertainOutcome Fail)
// publish. The faults strike status writes only, never a TikTok call: the manager calls TikTok only after
// its intent write succeeded, so a post whose intent write was refused or went unanswered was not sent,
// and an answer whose write fails is kept in memory until it is written. No TikTok outcome is ever in
// doubt, so every post must end Published, accepted exactly once by the simulator, none
// Failed(UncertainOutcome), and no init may be answered 429.
func TestAPIServerFaultsAtMostOnce(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		p    float64
		seed uint64
	}{
		{name: "20% of status writes", p: 0.2, seed: 20},
		{name: "30% of status writes", p: 0.3, seed: 30},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const accounts, perAccount = 5, 30
			e := newEnv(t, nil)
			names := e.fleet(accounts, perAccount)
			px := e.apiProxy(apiproxy.Options{Seed: tc.seed, Rules: []apiproxy.Rule{{
				Name: "post status writes", Method: "PUT", Path: postStatusPath(e.ns, ""), UserAgent: managerUserAgent,
				Probability: tc.p, Faults: apiproxy.AllFaults,
			}}})
			t0 := time.Now()
			e.startManagerVia(px, fastOptions())
			posts := e.waitEnded(3 * time.Minute)
			t.Logf("ended in %s: %v", time.Since(t0).Round(time.Millisecond), phases(posts))

			inj := px.Injected()
			landed, refused := 0, 0
			for _, ev := range px.Events() {
				if ev.Fault == apiproxy.Error500AfterWrite || ev.Fault == apiproxy.DropAfterWrite {
					if ev.UpstreamStatus/100 == 2 {
						landed++
					} else {
						refused++
					}
				}
			}
			t.Logf("the proxy matched %d status writes and injected %v (%d in all); of the after-write faults, "+
				"%d writes landed and %d were refused by the API server itself", px.Matched(), inj,
				inj[apiproxy.Conflict409]+inj[apiproxy.TooMany429]+inj[apiproxy.Error500AfterWrite]+inj[apiproxy.DropAfterWrite],
				landed, refused)
			t.Logf("attempt outcomes: %v", historyOutcomes(posts))
			for _, f := range apiproxy.AllFaults {
				if inj[f] == 0 {
					t.Errorf("the proxy never injected %s: the test did not test what it says", f)
				}
			}

			byPost := faultsByPost(px)
			var uncertain []string
			for _, p := range posts {
				if p.Status.Phase == v1alpha1.PhaseFailed && readyReason(&p) == v1alpha1.ReasonUncertainOutcome {
					uncertain = append(uncertain, p.Name)
					c := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionStalled)
					msg := ""
					if c != nil {
						msg = c.Message
					}
					t.Logf("%s: Failed(UncertainOutcome) after %d attempts; faults on its status writes %v; %s",
						p.Name, p.Status.Attempts, byPost[p.Name], msg)
				}
			}
			sort.Strings(uncertain)
			if len(uncertain) > 0 {
				t.Errorf("%d of %d posts Failed(UncertainOutcome), though no TikTok answer was ever in doubt: %v",
					len(uncertain), len(posts), uncertain)
			}
			assertAllPublishedOnce(t, e, posts)
			if n := len(acceptedByTitle(e)); n != accounts*perAccount {
				t.Errorf("the simulator holds %d distinct posts, want %d", n, accounts*perAccount)
			}
			assertNeverOverQuota(t, e, names, 6)
		})
	}
}

// TestUploadDoneWriteRefusedNoSecondInit refuses the status write that follows a FileUpload post's last
// chunk (Publishing to Processing): 409 the first time, 429 the second, then lets it pass. The upload is
// done and TikTok has the bytes: the manager must write that down again, not start over. Exactly one init
// may reach the simulator, and the post must end Published, held once.
func TestUploadDoneWriteRefusedNoSecondInit(t *testing.T) {
	t.Parallel()
	const post = "upload"
	e := newEnv(t, nil)
	media, _ := mediaServer(t, 7<<20+12345)
	e.account("brand", func(aq *v1alpha1.AccountQuota) {
		aq.Spec.AllowedMediaPrefixes = append(aq.Spec.AllowedMediaPrefixes, media.URL+"/")
	})
	px := e.apiProxy(apiproxy.Options{Rules: []apiproxy.Rule{{
		Name: "upload done", Method: "PUT", Path: postStatusPath(e.ns, post), UserAgent: managerUserAgent,
		BodyContains: `"phase":"Processing"`,
		Script:       []apiproxy.Fault{apiproxy.Conflict409, apiproxy.TooMany429},
	}}})
	e.post(post, "brand", func(s *v1alpha1.TikTokPostSpec) {
		s.Video.URL = media.URL + "/clip.mp4"
		s.Video.Transfer = v1alpha1.TransferFileUpload
	})
	opts := fastOptions()
	opts.MediaClient = media.Client()
	e.startManagerVia(px, opts)
	ps := e.waitEnded(time.Minute)

	var evs []string
	for _, ev := range px.Events() {
		evs = append(evs, string(ev.Fault))
	}
	stats := e.sim.Stats()
	inits := stats.Get(e.ns+"-brand", tiktoksim.EndpointVideoInit).Calls
	uploads := stats.Get(e.ns+"-brand", tiktoksim.EndpointUpload).Calls
	held := acceptedByTitle(e)[post]
	var simStatus []string
	for _, a := range e.sim.Posts() {
		simStatus = append(simStatus, a.PublishID+" "+a.Status)
	}
	p := ps[0]
	t.Logf("the Processing writes met %v; the simulator got %d init calls and %d upload calls and holds the post %d times %v; "+
		"the post is %s after %d attempts, history %+v", evs, inits, uploads, held, simStatus, p.Status.Phase, p.Status.Attempts, p.Status.AttemptHistory)

	if inj := px.Injected(); inj[apiproxy.Conflict409] != 1 || inj[apiproxy.TooMany429] != 1 {
		t.Errorf("the proxy injected %v, want one 409 and one 429 on the Processing write: the test did not test what it says", inj)
	}
	if inits != 1 {
		t.Errorf("%d init calls reached the simulator, want 1: a refused status write after the upload started the post over", inits)
	}
	if p.Status.Phase != v1alpha1.PhasePublished {
		t.Errorf("the post is %s (%s), want Published", p.Status.Phase, readyReason(&p))
	}
	if held != 1 {
		t.Errorf("the simulator holds the post %d times, want once", held)
	}
}
