package controllers

import (
	"context"
	"fmt"
	"testing"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/pacing"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
)

// Another app of the creator made 7 of the day's 15 direct posts, 22 h ago (they leave TikTok's window
// 2 h from now). 15 posts are queued: 8 go, the 9th is refused (spam_risk_too_many_posts) although the
// operator's own window holds 8 < 15. The account's direct posts are held for the retry interval (1 h,
// sooner than its oldest own post's exit in 24 h): the AccountQuota shows Throttled=True
// DailyCapReachedElsewhere with throttledUntil, the waiting posts project to then, and one probe goes
// (refused: the other app's posts are still in the window), then one more an hour later, which passes,
// and the other 6 follow. At most 2 refusals, not one per waiting post per backoff (before: 712 over the
// 2 h, each of the 7 waiting posts retrying at least once a minute, its backoff's max).
func TestDailyCapReachedElsewhereHoldsThenProbesOnce(t *testing.T) {
	capElsewhere(t, capCase{foreign: 7, posts: 15, endpoint: tiktoksim.EndpointVideoInit,
		code: "spam_risk_too_many_posts", reason: v1alpha1.ReasonDailyCapReachedElsewhere, done: v1alpha1.PhasePublished})
}

// The same for the pending-share cap: another app left 3 of the creator's 5 pending shares 22 h ago; 5
// inbox posts: 2 go, the 3rd is refused (spam_risk_too_many_pending_share), PendingShareCapReachedElsewhere,
// one probe an hour later (refused), the next passes: at most 2 refusals, all 5 delivered.
func TestPendingShareCapReachedElsewhereHoldsThenProbesOnce(t *testing.T) {
	capElsewhere(t, capCase{foreign: 3, posts: 5, inbox: true, endpoint: tiktoksim.EndpointInboxInit,
		code: "spam_risk_too_many_pending_share", reason: v1alpha1.ReasonPendingShareCapReachedElsewhere,
		done: v1alpha1.PhaseDelivered})
}

// A restart during the hold: the hold comes back from the AccountQuota's status (throttledUntil with the
// condition's reason), not as a cooldown of every call, and no post is refused again at once: still at
// most 2 refusals (3 if the restart forgets the hold).
func TestCapHoldSurvivesARestart(t *testing.T) {
	capElsewhere(t, capCase{foreign: 7, posts: 15, endpoint: tiktoksim.EndpointVideoInit, restart: true,
		code: "spam_risk_too_many_posts", reason: v1alpha1.ReasonDailyCapReachedElsewhere, done: v1alpha1.PhasePublished})
}

type capCase struct {
	foreign, posts int
	inbox, restart bool
	endpoint, code string
	reason         string
	done           v1alpha1.Phase
}

func capElsewhere(t *testing.T, c capCase) {
	w := newWorld(t, nil)
	w.account("brand", nil)
	t0 := w.clk.Now()
	if err := w.sim.RecordForeignPosts("brand", c.foreign, t0.Add(-22*time.Hour), c.inbox); err != nil {
		t.Fatal(err)
	}
	names := make([]string, c.posts)
	due := map[string]time.Time{}
	for i := range names {
		names[i] = fmt.Sprintf("p%02d", i)
		w.post(names[i], "brand", func(s *v1alpha1.TikTokPostSpec) {
			if c.inbox {
				s.Mode = v1alpha1.ModeUpload
			}
		})
		due[names[i]] = t0
	}
	refusals := func() int {
		return w.sim.Stats().Get("brand", c.endpoint).Errors[c.code]
	}
	checkedHold, holdEnd, restarted := false, time.Time{}, false
	for step := 0; len(due) > 0 && step < 20000; step++ {
		name := ""
		for n, d := range due {
			if name == "" || d.Before(due[name]) || d.Equal(due[name]) && n < name {
				name = n
			}
		}
		if d := due[name]; d.After(w.clk.Now()) {
			w.clk.SetTime(d)
		}
		if w.clk.Now().After(t0.Add(26 * time.Hour)) {
			break
		}
		res, err := w.posts.Reconcile(context.Background(), ctrl.Request{NamespacedName: types.NamespacedName{Namespace: testNS, Name: name}})
		p := w.get(name)
		switch {
		case ended(p.Status.Phase) && err == nil:
			delete(due, name)
		case err != nil:
			due[name] = w.clk.Now().Add(10 * time.Millisecond)
		default:
			due[name] = w.clk.Now().Add(max(res.RequeueAfter, time.Millisecond))
		}
		if refusals() == 1 && !checkedHold && p.Status.LastError != nil {
			checkedHold, holdEnd = true, w.checkHeld(t, c.reason)
			if c.restart {
				w.restart()
				w.readyAccount("brand")
				restarted = true
			}
		}
		// Once the new process has taken the account over (the previous one's Lease lapsed) and rebuilt
		// its windows from the status, the hold is back, and not as a cooldown of every call.
		if acct := accountKeyOf(testNS, "brand"); restarted && w.posts.Engine.Usage(acct.engine(), w.clk.Now()) != nil {
			restarted = false
			if h := w.posts.Engine.CapHold(acct.engine(), pacing.CallDirectVideoInit, w.clk.Now()); h.Before(holdEnd.Add(-time.Second)) {
				t.Fatalf("after the restart the hold ends at %s, want %s", h, holdEnd)
			}
			if until, _ := w.posts.Engine.Cooldown(acct.engine()); until.After(w.clk.Now()) {
				t.Fatalf("after the restart the account cools down until %s: the hold came back as a cooldown", until)
			}
		}
		// A waiting post, once reconciled during the hold, projects to its end.
		if checkedHold && !restarted && w.clk.Now().Before(holdEnd) && p.Status.Phase == v1alpha1.PhaseQueued {
			if a := p.Status.NextAttemptTime; a == nil || a.Time.Before(holdEnd.Add(-time.Second)) {
				t.Errorf("%s: nextAttemptTime %v during the hold, before its end %s", name, a, holdEnd)
			}
		}
	}
	if !checkedHold {
		t.Fatal("no refusal: the foreign posts did not count")
	}
	for _, n := range names {
		if p := w.get(n); p.Status.Phase != c.done {
			t.Errorf("%s: %s", n, describe(p))
		}
	}
	st := w.sim.Stats().Get("brand", c.endpoint)
	t.Logf("inits %d, refusals %d, last publish at t0+%s", st.Calls, refusals(), w.clk.Now().Sub(t0))
	if r := refusals(); r > 2 {
		t.Errorf("%d daily-cap refusals, want at most 2 (the first and the probe)", r)
	}
	if st.Calls != c.posts+refusals() {
		t.Errorf("%d inits for %d posts and %d refusals", st.Calls, c.posts, refusals())
	}
}

// checkHeld: right after the first refusal the account shows the hold; it returns the hold's end.
func (w *world) checkHeld(t *testing.T, reason string) time.Time {
	t.Helper()
	if _, err := w.reconcileAccount("brand"); err != nil {
		t.Fatal(err)
	}
	aq := w.getAccount("brand")
	c := apimeta.FindStatusCondition(aq.Status.Conditions, v1alpha1.ConditionThrottled)
	if c == nil || c.Status != "True" || c.Reason != reason {
		t.Fatalf("Throttled condition %+v, want True %s", c, reason)
	}
	hold := w.clk.Now().Add(time.Hour)
	if u := aq.Status.ThrottledUntil; u == nil || u.Time.Before(hold.Add(-time.Second)) || u.After(hold.Add(2*time.Second)) {
		t.Fatalf("throttledUntil %v, want about %s (the refusal plus the 1 h retry interval)", u, hold)
	}
	return hold
}
