package controllers

import (
	"context"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	testclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/pacing"
)

const testLease = 30 * time.Second

// holderWorld is two managers, a and b, sharing one API server (the fake client) and one fake clock.
type holderWorld struct {
	t      *testing.T
	clk    *testclock.FakeClock
	c      client.WithWatch
	aq     *v1alpha1.AccountQuota
	a, b   *accountHolder
	resets map[string]int // by identity: how often the account's pacing state was forgotten
	// busy and active are what the accounts' posts say (accountRegistry.busy).
	busy, active bool
}

func newHolderWorld(t *testing.T) *holderWorld {
	t.Helper()
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	aq := &v1alpha1.AccountQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "brand", UID: "uid-1", Generation: 1}}
	w := &holderWorld{
		t: t, clk: testclock.NewFakeClock(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)),
		c:      fake.NewClientBuilder().WithScheme(s).WithObjects(aq).WithStatusSubresource(aq).Build(),
		aq:     aq,
		resets: map[string]int{}, busy: true, active: true,
	}
	w.a, w.b = w.manager("manager-a"), w.manager("manager-b")
	return w
}

func (w *holderWorld) manager(id string) *accountHolder {
	h := newAccountHolder(w.c, w.c, Options{Clock: w.clk, Identity: id, AccountLeaseDuration: testLease, CallTimeout: time.Second},
		events.NewFakeRecorder(10))
	h.reset = func(accountKey) { w.resets[id]++ }
	h.busy = func(context.Context, accountKey) (bool, bool) { return w.busy, w.busy && w.active }
	return h
}

func (w *holderWorld) hold(h *accountHolder, work bool) holdResult {
	w.t.Helper()
	res, err := h.hold(context.Background(), w.aq, func() bool { return work })
	if err != nil {
		w.t.Fatalf("%s: hold: %v", h.identity, err)
	}
	return res
}

func (w *holderWorld) lease() *coordinationv1.Lease {
	w.t.Helper()
	l := &coordinationv1.Lease{}
	if err := w.c.Get(context.Background(), types.NamespacedName{Namespace: "ns", Name: accountLeaseName("brand")}, l); err != nil {
		w.t.Fatal(err)
	}
	return l
}

func (w *holderWorld) step(d time.Duration) { w.clk.Step(d) }

// The first manager to need the account creates its Lease (owned by the AccountQuota, labelled for the
// cache) and rebuilds; the second finds it held, is told when it could lapse, and reports the holder once.
func TestHolderAcquire(t *testing.T) {
	w := newHolderWorld(t)
	res := w.hold(w.a, true)
	if !res.held || !res.takeover || w.resets["manager-a"] != 1 {
		t.Fatalf("a's first hold = %+v (resets %d), want held, takeover, one reset", res, w.resets["manager-a"])
	}
	l := w.lease()
	if ptr.Deref(l.Spec.HolderIdentity, "") != "manager-a" || ptr.Deref(l.Spec.LeaseDurationSeconds, 0) != 30 ||
		l.Labels[AccountLeaseLabel] != "true" || len(l.OwnerReferences) != 1 || l.OwnerReferences[0].UID != "uid-1" {
		t.Fatalf("the Lease is %+v", l)
	}
	rv := l.ResourceVersion
	w.step(time.Second)
	if res := w.hold(w.a, true); !res.held || res.takeover {
		t.Fatalf("a's second hold = %+v, want held without a takeover", res)
	}
	if w.lease().ResourceVersion != rv {
		t.Errorf("a valid Lease was written again by hold")
	}

	res = w.hold(w.b, true)
	if res.held || res.holder != "manager-a" || !res.lapse.Equal(w.clk.Now().Add(testLease)) {
		t.Fatalf("b's hold = %+v, want held by manager-a, lapsing in %s", res, testLease)
	}
	rec := w.b.recorder.(*events.FakeRecorder)
	w.b.report(w.aq, res)
	w.b.report(w.aq, w.hold(w.b, true))
	if n := len(rec.Events); n != 1 {
		t.Fatalf("b recorded %d Events for one holder, want 1", n)
	}
	if ev := <-rec.Events; !strings.Contains(ev, v1alpha1.ReasonAccountHeldElsewhere) ||
		!strings.Contains(ev, "manager-a") || !strings.Contains(ev, "manager-b") {
		t.Errorf("Event %q names neither the reason nor both managers", ev)
	}
}

// The holder renews a third of the duration after the last renewal while the account has work, and lets an
// idle account's Lease lapse; it re-acquires its own lapsed Lease without a rebuild when nobody wrote it.
func TestHolderRenew(t *testing.T) {
	w := newHolderWorld(t)
	w.hold(w.a, true)
	rv := w.lease().ResourceVersion
	w.step(testLease/3 - time.Second)
	w.a.renewDue(context.Background())
	if w.lease().ResourceVersion != rv {
		t.Fatal("renewed before a third of the duration")
	}
	w.step(time.Second)
	w.a.renewDue(context.Background())
	if w.lease().ResourceVersion == rv {
		t.Fatal("not renewed a third of the duration after the last renewal")
	}
	// Every renewal keeps a valid: b never may take over.
	for range 9 {
		w.step(testLease / 3)
		w.a.renewDue(context.Background())
		if res := w.hold(w.b, true); res.held {
			t.Fatalf("b took over a Lease renewed every %s", testLease/3)
		}
	}

	// Idle (no work, nothing acted on it for a lease duration): no renewal.
	w.busy = false
	w.step(testLease)
	rv = w.lease().ResourceVersion
	w.a.renewDue(context.Background())
	if w.lease().ResourceVersion != rv {
		t.Fatal("an idle account's Lease was renewed")
	}
	// a needs it again: nobody wrote it, so a keeps its pacing state.
	resets := w.resets["manager-a"]
	if res := w.hold(w.a, true); !res.held || res.takeover || w.resets["manager-a"] != resets {
		t.Fatalf("a re-acquiring its own lapsed Lease = %+v (resets %d -> %d), want held, no rebuild", res, resets, w.resets["manager-a"])
	}
}

// Another manager takes a Lease over only when it went unchanged for a whole duration since it saw it, and
// the account has work; it rebuilds. The former holder finds out at its next renewal (or hold), forgets the
// account's pacing state at once, and leaves the account alone.
func TestHolderTakeoverAndLost(t *testing.T) {
	w := newHolderWorld(t)
	w.hold(w.a, true)
	w.step(5 * time.Second)
	w.hold(w.b, true) // b sees a's Lease now: it lapses 30 s from here, not from a's renewal
	w.step(testLease - time.Second)
	if res := w.hold(w.b, true); res.held {
		t.Fatalf("b took over %s after it saw the Lease: %+v", testLease-time.Second, res)
	}
	w.step(time.Second)
	if res := w.hold(w.b, false); res.held {
		t.Fatal("b took over a lapsed Lease of an account without work")
	}
	res := w.hold(w.b, true)
	if !res.held || !res.takeover || w.resets["manager-b"] != 1 {
		t.Fatalf("b on the lapsed Lease = %+v (resets %d), want a takeover with a rebuild", res, w.resets["manager-b"])
	}
	l := w.lease()
	if ptr.Deref(l.Spec.HolderIdentity, "") != "manager-b" || ptr.Deref(l.Spec.LeaseTransitions, 0) != 1 {
		t.Fatalf("after the takeover the Lease is %+v", l.Spec)
	}

	// a comes back: its renewal conflicts, it forgets the account and leaves it alone.
	w.a.renewDue(context.Background())
	if w.a.state(accountKeyOf("ns", "brand")).mine != nil || w.resets["manager-a"] != 2 {
		t.Fatalf("a still thinks it holds the account after losing it (resets %d)", w.resets["manager-a"])
	}
	if res := w.hold(w.a, true); res.held || res.holder != "manager-b" {
		t.Fatalf("a's hold after losing = %+v, want held by manager-b", res)
	}
}

// A holder whose validity ran out (no renewal in two thirds of the duration) asks the API server again
// before it acts: if another manager wrote the Lease meanwhile, it has lost it.
func TestHolderLostFoundByHold(t *testing.T) {
	w := newHolderWorld(t)
	w.hold(w.a, true)
	w.hold(w.b, true)
	w.step(testLease) // a never renewed (its API calls failed, say)
	if res := w.hold(w.b, true); !res.held {
		t.Fatal("b did not take over")
	}
	resets := w.resets["manager-a"]
	res := w.hold(w.a, true)
	if res.held || res.holder != "manager-b" || w.resets["manager-a"] != resets+1 {
		t.Fatalf("a's hold = %+v (resets %d -> %d), want not held, manager-b, its state forgotten", res, resets, w.resets["manager-a"])
	}
}

// A released Lease (the holder stopped) is free at once; after release the former holder acts on nothing.
func TestHolderRelease(t *testing.T) {
	w := newHolderWorld(t)
	w.hold(w.a, true)
	w.hold(w.b, true)
	w.a.release()
	if h := w.lease().Spec.HolderIdentity; h != nil {
		t.Fatalf("the released Lease still names %s", *h)
	}
	if res := w.hold(w.a, true); res.held {
		t.Fatal("a stopped manager acted on an account")
	}
	if res := w.hold(w.b, false); !res.held || !res.takeover {
		t.Fatalf("b on a released Lease = %+v, want it at once, with a rebuild", res)
	}
}

// A Lease renewal seen in an event moves the lapse to a duration after the renewal.
func TestHolderObserve(t *testing.T) {
	w := newHolderWorld(t)
	w.hold(w.a, true)
	w.hold(w.b, true)
	w.step(testLease / 2)
	w.a.renewDue(context.Background())
	w.b.observe(w.lease())
	w.step(testLease/2 + time.Second)
	if res := w.hold(w.b, true); res.held || !res.lapse.Equal(w.clk.Now().Add(testLease/2-time.Second)) {
		t.Fatalf("b's hold = %+v, want not held, lapsing a duration after the renewal it observed", res)
	}
}

func TestAccountLeaseName(t *testing.T) {
	if got := accountLeaseName("brand-main"); got != "brand-main.tiktok-operator" {
		t.Errorf("accountLeaseName(brand-main) = %s", got)
	}
	long1 := strings.Repeat("a", 240) + "." + strings.Repeat("b", 12)
	long2 := strings.Repeat("a", 240) + "." + strings.Repeat("c", 12)
	n1, n2 := accountLeaseName(long1), accountLeaseName(long2)
	for _, n := range []string{n1, n2, accountLeaseName(strings.Repeat("x", 224) + ".-y" + strings.Repeat("z", 26))} {
		if errs := validation.IsDNS1123Subdomain(n); len(errs) > 0 {
			t.Errorf("%s: %v", n, errs)
		}
	}
	if n1 == n2 {
		t.Errorf("two long names share the Lease %s", n1)
	}
}

// The Contended condition: a non-holder sets it once (naming the holder, not itself, so every non-holder
// agrees), the holder keeps it while it names the holder and is fresh, and removes it otherwise.
func TestContendedCondition(t *testing.T) {
	w := newHolderWorld(t)
	w.hold(w.a, true)
	opts := Options{AccountLeaseDuration: testLease, Identity: "manager-b"}
	rb := &AccountQuotaReconciler{deps: deps{Client: w.c, Clock: w.clk, Holders: w.b,
		Accounts: newAccountRegistry(nil, w.c, w.clk.Now), Options: opts}}
	ctx := context.Background()
	get := func() *v1alpha1.AccountQuota {
		aq := &v1alpha1.AccountQuota{}
		if err := w.c.Get(ctx, client.ObjectKeyFromObject(w.aq), aq); err != nil {
			t.Fatal(err)
		}
		return aq
	}
	held, err := rb.holdForAccount(ctx, get())
	if res := held.result; err != nil || !held.stop || res.RequeueAfter <= 0 || res.RequeueAfter > testLease+testLease/10 {
		t.Fatalf("b's holdForAccount = %+v, %v; want not held (stop), back when the Lease could lapse", held, err)
	}
	aq := get()
	c := meta.FindStatusCondition(aq.Status.Conditions, v1alpha1.ConditionContended)
	if c == nil || c.Reason != v1alpha1.ReasonAccountHeldElsewhere || !strings.Contains(c.Message, "manager-a") {
		t.Fatalf("Contended = %+v, want AccountHeldElsewhere naming manager-a", c)
	}
	rv := aq.ResourceVersion
	if _, err := rb.holdForAccount(ctx, get()); err != nil || get().ResourceVersion != rv {
		t.Fatalf("the same condition was written again (err %v)", err)
	}

	ra := &AccountQuotaReconciler{deps: deps{Clock: w.clk, Options: Options{AccountLeaseDuration: testLease, Identity: "manager-a"}}}
	tidy := func(id string) *metav1.Condition {
		ra.Options.Identity = id
		s := &accountScope{aq: get(), now: w.clk.Now()}
		ra.tidyContended(s)
		return meta.FindStatusCondition(s.aq.Status.Conditions, v1alpha1.ConditionContended)
	}
	if tidy("manager-a") == nil {
		t.Error("the holder removed a fresh condition that names it")
	}
	if tidy("manager-c") != nil {
		t.Error("a holder kept a condition that names another holder")
	}
	w.step(contendedFactor * testLease)
	if tidy("manager-a") != nil {
		t.Error("the holder kept a condition nobody set again for ten lease durations")
	}
}

// The holder keeps renewing while the account is its own and has work: posts waiting, scheduled or in
// flight. An account relabelled to another shard, or with every post ended, is left to lapse.
func TestHolderBusyRules(t *testing.T) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	aq := &v1alpha1.AccountQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "brand", Labels: map[string]string{"shard": "a"}}}
	post := &v1alpha1.TikTokPost{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p"},
		Spec: v1alpha1.TikTokPostSpec{AccountRef: v1alpha1.LocalObjectReference{Name: "brand"},
			Video: &v1alpha1.VideoSource{URL: "https://cdn.example.com/p.mp4"}}}
	c := fake.NewClientBuilder().WithScheme(s).WithObjects(aq, post).WithStatusSubresource(post).
		WithIndex(&v1alpha1.TikTokPost{}, indexAccountRef, func(o client.Object) []string {
			return []string{o.(*v1alpha1.TikTokPost).Spec.AccountRef.Name}
		}).Build()
	clk := testclock.NewFakeClock(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC))
	reg := newAccountRegistry(pacing.NewEngine(clk, nil), c, clk.Now)
	ctx := context.Background()
	brand := accountKeyOf("ns", "brand")
	shard := func(v string) labels.Selector { return labels.SelectorFromSet(labels.Set{"shard": v}) }
	busyOf := func(reg *accountRegistry, acct accountKey, sel labels.Selector) bool {
		work, _ := reg.busy(ctx, acct, sel, 10*testLease)
		return work
	}
	if work, active := reg.busy(ctx, brand, shard("a"), 10*testLease); !work || active {
		t.Error("an account whose post waits (no call due) is not busy, or is active")
	}
	reg.engine.Configure(brand.engine(), pacing.DefaultLimits(), pacing.DefaultBackoff())
	reg.engine.Enqueue(brand.engine(), waiterOf(post, time.Time{}))
	if _, active := reg.busy(ctx, brand, shard("a"), 10*testLease); !active {
		t.Error("an account whose queue's head is due now is not active")
	}
	reg.engine.Remove(brand.engine(), "p")
	if busyOf(reg, brand, shard("b")) {
		t.Error("an account of another shard is busy")
	}
	post.Status.Phase = v1alpha1.PhaseProcessing
	if err := c.Status().Update(ctx, post); err != nil {
		t.Fatal(err)
	}
	if work, active := reg.busy(ctx, brand, shard("a"), 10*testLease); !work || !active {
		t.Error("an account with a post in flight is not busy and active")
	}
	post.Status.Phase = v1alpha1.PhasePublished
	if err := c.Status().Update(ctx, post); err != nil {
		t.Fatal(err)
	}
	if busyOf(reg, brand, shard("a")) {
		t.Error("an account whose posts all ended is busy")
	}
	if busyOf(reg, accountKeyOf("ns", "gone"), shard("a")) {
		t.Error("a deleted account is busy")
	}
}

// A Lease deleted under its holder (by hand) is lost: the holder forgets the account, then creates the
// Lease again when it needs the account, and rebuilds.
func TestHolderLeaseDeleted(t *testing.T) {
	w := newHolderWorld(t)
	w.hold(w.a, true)
	if err := w.c.Delete(context.Background(), w.lease()); err != nil {
		t.Fatal(err)
	}
	w.step(testLease / 3)
	w.a.renewDue(context.Background())
	if w.a.state(accountKeyOf("ns", "brand")).mine != nil || w.resets["manager-a"] != 2 {
		t.Fatalf("a still holds a deleted Lease (resets %d)", w.resets["manager-a"])
	}
	if res := w.hold(w.a, true); !res.held || !res.takeover {
		t.Fatalf("a's hold after the deletion = %+v, want the Lease created again, with a rebuild", res)
	}
}

// An account whose posts merely wait (none in flight, the next call not due within the idle duration) is
// renewed with the idle duration, ten times less often; once it becomes active again its Lease is renewed
// with the short duration at once. The other manager's lapse follows the duration the holder wrote.
func TestHolderIdleDuration(t *testing.T) {
	w := newHolderWorld(t)
	w.hold(w.a, true)
	w.active = false
	w.step(testLease / 3)
	w.a.renewDue(context.Background())
	if d := ptr.Deref(w.lease().Spec.LeaseDurationSeconds, 0); d != 300 {
		t.Fatalf("a waiting account's Lease lasts %d s, want 300", d)
	}
	res := w.hold(w.b, true)
	if res.held || !res.lapse.Equal(w.clk.Now().Add(10*testLease)) {
		t.Fatalf("b's hold = %+v, want not held, lapsing in %s", res, 10*testLease)
	}
	rv := w.lease().ResourceVersion
	for range 9 { // 90 s: no renewal before a third of the idle duration (100 s)
		w.step(10 * time.Second)
		w.a.renewDue(context.Background())
	}
	if w.lease().ResourceVersion != rv {
		t.Fatal("an idle Lease was renewed before a third of its duration")
	}
	if res := w.hold(w.a, true); !res.held || res.takeover {
		t.Fatalf("a's hold on its idle Lease = %+v, want held from the fast path", res)
	}
	w.active = true
	w.a.renewDue(context.Background())
	if d := ptr.Deref(w.lease().Spec.LeaseDurationSeconds, 0); d != 30 {
		t.Fatalf("an active account's Lease lasts %d s, want 30 at once", d)
	}
}
