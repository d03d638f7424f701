package controllers

import (
	"context"
	"strconv"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/pacing"
)

// TestQueueWake: the head of an account's queue comes back for its slot at slot priority, the posts
// behind it at normal priority, each at its projected time.
func TestQueueWake(t *testing.T) {
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		d        pacing.Decision
		after    time.Duration
		priority int
	}{
		{"head", pacing.Decision{NotBefore: now.Add(2 * time.Second), Position: 0}, 2 * time.Second, slotPriority},
		{"head due at once", pacing.Decision{NotBefore: now, Position: 0}, time.Millisecond, slotPriority},
		{"second in line", pacing.Decision{NotBefore: now.Add(33 * time.Millisecond), Position: 1}, 33 * time.Millisecond, normalPriority},
		{"far back", pacing.Decision{NotBefore: now.Add(time.Hour), Position: 59}, time.Hour, normalPriority},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := queueWake(tt.d, now)
			if res.RequeueAfter != tt.after || res.Priority == nil || *res.Priority != tt.priority {
				t.Errorf("queueWake = after %s, priority %v; want after %s, priority %d",
					res.RequeueAfter, ptrString(res.Priority), tt.after, tt.priority)
			}
		})
	}
}

// TestWithPriority: a requeue without a priority of its own gets the normal one (controller-runtime
// would otherwise keep the one the item came in with: a start-up's low priority, for ever); a chosen
// priority and a result without requeue are left alone.
func TestWithPriority(t *testing.T) {
	tests := []struct {
		name string
		in   ctrl.Result
		want *int
	}{
		{"timer without priority", ctrl.Result{RequeueAfter: time.Second}, ptr.To(normalPriority)},
		{"slot wake keeps its priority", ctrl.Result{RequeueAfter: time.Second, Priority: ptr.To(slotPriority)}, ptr.To(slotPriority)},
		{"no requeue", ctrl.Result{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := withPriority(tt.in)
			if ptrString(got.Priority) != ptrString(tt.want) || got.RequeueAfter != tt.in.RequeueAfter {
				t.Errorf("withPriority(%+v) = %+v (priority %s), want priority %s", tt.in, got, ptrString(got.Priority), ptrString(tt.want))
			}
		})
	}
}

// TestKickGoesFirst: a kicked post is handed out before posts already waiting at normal priority (an
// account that became ready wakes all its posts at once; the head must not wait behind them), using
// controller-runtime's own priority queue.
func TestKickGoesFirst(t *testing.T) {
	q := priorityqueue.New[reconcile.Request]("kick-test")
	defer q.ShutDown()
	req := func(name string) reconcile.Request {
		return reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "ns", Name: name}}
	}
	for _, name := range []string{"b1", "b2", "b3"} {
		q.AddWithOpts(priorityqueue.AddOpts{Priority: ptr.To(normalPriority)}, req(name))
	}
	kickHandler.Generic(context.Background(), event.GenericEvent{Object: &v1alpha1.TikTokPost{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "head"}}}, q)
	// The queue takes every add made before a Get into account before it hands an item out.
	got, prio, _ := q.GetWithPriority()
	if got != req("head") || prio != slotPriority {
		t.Fatalf("first out: %v at priority %d, want ns/head at %d", got, prio, slotPriority)
	}
}

// TestOwnWriteStandsInForAStaleCache: after a status write, a cached copy that predates it (its
// resourceVersion is the one the write replaced) is read as the written status with the new
// resourceVersion; a copy with any other resourceVersion is taken as read, and the write forgotten.
func TestOwnWriteStandsInForAStaleCache(t *testing.T) {
	cached := func(rv string, phase v1alpha1.Phase) *v1alpha1.TikTokPost {
		return &v1alpha1.TikTokPost{ObjectMeta: metav1.ObjectMeta{Name: "p", ResourceVersion: rv},
			Status: v1alpha1.TikTokPostStatus{Phase: phase}}
	}
	written := &v1alpha1.TikTokPostStatus{Phase: v1alpha1.PhaseQueued, QueuePosition: 3}

	m := &postMemory{ownWrite: &ownWrite{replaced: "10", version: "11", status: written}}
	p := cached("10", v1alpha1.PhasePending)
	m.applyOwnWrite(p)
	if p.ResourceVersion != "11" || p.Status.Phase != v1alpha1.PhaseQueued || p.Status.QueuePosition != 3 {
		t.Errorf("a copy from before our write: got rv %s, status %+v; want rv 11 and the written status", p.ResourceVersion, p.Status)
	}
	p.Status.QueuePosition = 9
	if written.QueuePosition != 3 {
		t.Errorf("the reconcile's changes reach the remembered write")
	}
	if m.ownWrite == nil {
		t.Errorf("the write is forgotten while the cache still lags")
	}

	for _, rv := range []string{"11", "12"} { // the cache shows our write, or something newer
		m := &postMemory{ownWrite: &ownWrite{replaced: "10", version: "11", status: written}}
		p := cached(rv, v1alpha1.PhasePublishing)
		m.applyOwnWrite(p)
		if p.ResourceVersion != rv || p.Status.Phase != v1alpha1.PhasePublishing {
			t.Errorf("cache at %s: the copy was replaced (rv %s, phase %s)", rv, p.ResourceVersion, p.Status.Phase)
		}
		if m.ownWrite != nil {
			t.Errorf("cache at %s: the write is still remembered", rv)
		}
	}
}

func ptrString(p *int) string {
	if p == nil {
		return "nil"
	}
	return strconv.Itoa(*p)
}

// TestAccountOfPostWakesAfterTheInterval: every create, phase change and delete of a post asks for its
// account after the delay, not at once (the work queue keeps one wake-up per account and the earliest
// time: controller-runtime's PriorityQueue contract), and a post moved to another account asks for both.
func TestAccountOfPostWakesAfterTheInterval(t *testing.T) {
	const delay = 5 * time.Second
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	// "brand" has its turn in the write budget in 40 s; "new" could write in 2 s (sooner than the
	// interval); "old" is unknown to this process.
	due := map[accountKey]time.Time{accountKeyOf("ns", "brand"): now.Add(40 * time.Second), accountKeyOf("ns", "new"): now.Add(2 * time.Second)}
	h := accountOfPostHandler(delay, func(acct accountKey) time.Time { return due[acct] }, func() time.Time { return now })
	post := func(name, account string) *v1alpha1.TikTokPost {
		return &v1alpha1.TikTokPost{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name},
			Spec: v1alpha1.TikTokPostSpec{AccountRef: v1alpha1.LocalObjectReference{Name: account}}}
	}
	ctx := context.Background()
	q := &recordingQueue{}
	h.Create(ctx, event.CreateEvent{Object: post("p1", "brand")}, q)
	h.Update(ctx, event.UpdateEvent{ObjectOld: post("p1", "old"), ObjectNew: post("p1", "new")}, q)
	h.Delete(ctx, event.DeleteEvent{Object: post("p2", "brand")}, q)
	want := []queuedAfter{
		{req("brand"), 40 * time.Second}, // not before its turn: a reconcile then would write nothing
		{req("old"), delay},
		{req("new"), delay}, // never sooner than the interval
		{req("brand"), 40 * time.Second},
	}
	if len(q.added) != len(want) {
		t.Fatalf("asked for %v, want %v", q.added, want)
	}
	for i, a := range q.added {
		if a != want[i] {
			t.Errorf("wake-up %d: %s after %s, want %s after %s", i, a.req, a.after, want[i].req, want[i].after)
		}
	}
}

func req(account string) reconcile.Request {
	return reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "ns", Name: account}}
}

// recordingQueue records AddAfter and fails the test on anything else (the handler must never wake an
// account at once). It stands in for the work queue because the real one's delays run on the wall clock.
type recordingQueue struct {
	workqueue.TypedRateLimitingInterface[reconcile.Request] // nil: any other method panics
	added                                                   []queuedAfter
}

type queuedAfter struct {
	req   reconcile.Request
	after time.Duration
}

func (q *recordingQueue) AddAfter(r reconcile.Request, d time.Duration) {
	q.added = append(q.added, queuedAfter{r, d})
}
