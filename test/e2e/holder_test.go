package e2e

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
)

// TestOverlappingManagersPaceEachAccountOnce runs three managers on the same 5 accounts x 60 posts, leader
// election off, each with its own identity and all matching every account: the mistake of overlapping
// --account-selector values, or of replicas without --leader-elect. One manager at a time holds an
// account's Lease and paces it; the others leave it alone and say so. TikTok must never answer an init 429,
// every post must be Published, and each exactly once.
//
// E2E_MANAGERS=1 runs the same load with one manager, for the drain time to compare with.
func TestOverlappingManagersPaceEachAccountOnce(t *testing.T) {
	t.Parallel()
	const accounts, perAccount = 5, 60
	managers := 3
	if n, err := strconv.Atoi(os.Getenv("E2E_MANAGERS")); err == nil && n > 0 {
		managers = n
	}
	e := newEnv(t, nil)
	names := e.fleet(accounts, perAccount)
	t0 := time.Now()
	for range managers {
		e.startManager(fastOptions())
	}
	// One manager needs about 30 s (60 posts at 6 per 3 s window); a stuck post never ends.
	deadline := t0.Add(2 * time.Minute)
	var posts []v1alpha1.TikTokPost
	for {
		posts = e.posts()
		if allPublished(posts) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	drain := time.Since(t0)

	stats := e.sim.Stats()
	refused := 0
	for _, a := range names {
		refused += sum(stats.Get(e.ns+"-"+a, tiktoksim.EndpointVideoInit).RateLimited)
	}
	stuck, twice := 0, 0
	seen := acceptedByTitle(e)
	for _, p := range posts {
		if p.Status.Phase != v1alpha1.PhasePublished {
			stuck++
		}
		if seen[p.Name] > 1 {
			twice++
		}
	}
	t.Logf("%d managers, %d posts: %d inits answered 429, %d posts not Published (%v), %d accepted more than once; "+
		"drained in %s", managers, len(posts), refused, stuck, phases(posts), twice, drain.Round(100*time.Millisecond))

	assertNeverOverQuota(t, e, names, 6)
	assertAllPublishedOnce(t, e, posts)
	if managers > 1 {
		assertHeldElsewhereVisible(t, e, names)
	}
}

func allPublished(ps []v1alpha1.TikTokPost) bool {
	for i := range ps {
		if ps[i].Status.Phase != v1alpha1.PhasePublished {
			return false
		}
	}
	return len(ps) > 0
}

// assertHeldElsewhereVisible checks that the mistake shows: every account has a Lease with a holder, a
// Contended condition that names it, and a Warning Event AccountHeldElsewhere from a manager that left the
// account alone.
func assertHeldElsewhereVisible(t *testing.T, e *env, names []string) {
	t.Helper()
	ctx := context.Background()
	var leases coordinationv1.LeaseList
	if err := k8sClient.List(ctx, &leases, client.InNamespace(e.ns)); err != nil {
		t.Fatal(err)
	}
	holderOf := map[string]string{}
	for _, l := range leases.Items {
		for _, o := range l.OwnerReferences {
			if o.Kind == "AccountQuota" && l.Spec.HolderIdentity != nil {
				holderOf[o.Name] = *l.Spec.HolderIdentity
			}
		}
	}
	var evs eventsv1.EventList
	if err := k8sClient.List(ctx, &evs, client.InNamespace(e.ns)); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		holder := holderOf[name]
		if holder == "" {
			t.Errorf("%s: no Lease with a holder", name)
			continue
		}
		aq := &v1alpha1.AccountQuota{}
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: e.ns, Name: name}, aq); err != nil {
			t.Fatal(err)
		}
		c := meta.FindStatusCondition(aq.Status.Conditions, v1alpha1.ConditionContended)
		if c == nil || c.Reason != v1alpha1.ReasonAccountHeldElsewhere || !strings.Contains(c.Message, holder) {
			t.Errorf("%s: condition %s is %+v, want reason %s naming the holder %s", name, v1alpha1.ConditionContended,
				c, v1alpha1.ReasonAccountHeldElsewhere, holder)
		}
		found := false
		for _, ev := range evs.Items {
			if ev.Regarding.Name == name && ev.Reason == v1alpha1.ReasonAccountHeldElsewhere && strings.Contains(ev.Note, holder) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no %s Event naming the holder %s", name, v1alpha1.ReasonAccountHeldElsewhere, holder)
		}
	}
}

// TestOverlappingManagersCutOffHolder cuts the manager that holds the most accounts off from its Leases
// while three managers publish the same accounts (a partition, or a process that hangs: it can neither renew
// nor release). It stops calling TikTok once its Leases are no longer valid; the others take the accounts
// over when the Leases lapse and rebuild from the statuses, which hold the cut-off manager's last inits. No
// init may be answered 429, and every post must be Published exactly once, before and after the manager
// comes back (it finds its Leases taken and leaves the accounts alone).
func TestOverlappingManagersCutOffHolder(t *testing.T) {
	t.Parallel()
	const accounts, perAccount = 3, 40
	e := newEnv(t, nil)
	names := e.fleet(accounts, perAccount)
	ids := map[string]bool{}
	for i := range 3 {
		o := fastOptions()
		o.Identity = fmt.Sprintf("manager-%d", i)
		ids[o.Identity] = true
		e.startManager(o)
	}
	time.Sleep(5 * time.Second)
	held := map[string]int{}
	top := ""
	for _, h := range leaseHolders(t, e) {
		if held[h]++; top == "" || held[h] > held[top] {
			top = h
		}
	}
	e.writes.cutOff.Store(top, true)
	t0 := time.Now()
	t.Logf("%s, holding %d accounts, cut off; %v", top, held[top], phases(e.posts()))
	for {
		taken := 0
		for _, h := range leaseHolders(t, e) {
			if h != top {
				taken++
			}
		}
		if taken == accounts {
			break
		}
		if time.Since(t0) > time.Minute {
			t.Fatalf("after a minute, only %d of %d accounts were taken from the cut-off manager", taken, accounts)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("every account taken over %s after the cut; %v", time.Since(t0).Round(100*time.Millisecond), phases(e.posts()))
	time.Sleep(3 * time.Second)
	e.writes.cutOff.Delete(top)
	posts := e.waitPosts(2*time.Minute, nil)
	assertNeverOverQuota(t, e, names, 6)
	assertAllPublishedOnce(t, e, posts)
	for _, h := range leaseHolders(t, e) {
		if h == top {
			t.Errorf("the manager that was cut off holds an account again")
		}
	}
}

// leaseHolders lists the holders of the namespace's account Leases.
func leaseHolders(t *testing.T, e *env) []string {
	t.Helper()
	var leases coordinationv1.LeaseList
	if err := k8sClient.List(context.Background(), &leases, client.InNamespace(e.ns)); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range leases.Items {
		if h := ptr.Deref(l.Spec.HolderIdentity, ""); h != "" {
			out = append(out, h)
		}
	}
	return out
}

// TestOverlappingManagersHandOver stops, twice, the manager that holds the most accounts while three of
// them publish the same accounts: a stopped holder releases its Leases after its last call, another manager
// takes each account over and rebuilds its windows from the checkpoint and the posts' statuses before it
// calls. No init may be answered 429 across the hand-overs, and every post must be Published exactly once.
func TestOverlappingManagersHandOver(t *testing.T) {
	t.Parallel()
	const accounts, perAccount = 3, 40
	e := newEnv(t, nil)
	names := e.fleet(accounts, perAccount)
	stops := map[string]func(){}
	for i := range 3 {
		o := fastOptions()
		o.Identity = fmt.Sprintf("manager-%d", i)
		stops[o.Identity] = e.startManager(o)
	}
	handedOver := 0
	for range 2 {
		time.Sleep(5 * time.Second)
		held := map[string]int{}
		var leases coordinationv1.LeaseList
		if err := k8sClient.List(context.Background(), &leases, client.InNamespace(e.ns)); err != nil {
			t.Fatal(err)
		}
		top := ""
		for _, l := range leases.Items {
			if h := ptr.Deref(l.Spec.HolderIdentity, ""); stops[h] != nil {
				if held[h]++; top == "" || held[h] > held[top] {
					top = h
				}
			}
		}
		if top == "" {
			t.Fatalf("no running manager holds an account: %v", held)
		}
		t0 := time.Now()
		stops[top]()
		delete(stops, top)
		handedOver += held[top]
		t.Logf("%s, holding %d accounts, stopped in %s; %v", top, held[top], time.Since(t0).Round(time.Millisecond), phases(e.posts()))
	}
	posts := e.waitPosts(2*time.Minute, nil)
	assertNeverOverQuota(t, e, names, 6)
	assertAllPublishedOnce(t, e, posts)
	if handedOver < 2 {
		t.Errorf("only %d accounts were handed over: the test proves little", handedOver)
	}
}
