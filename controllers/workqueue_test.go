package controllers

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
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

	deadline := time.Now().Add(10 * time.Second)
	for q.Len() < 4 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // the queue takes adds through a buffer
	}
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

// TestAccountOfPostCoalesces: the phase changes of many posts of one account wake the account once, after
// the delay, in controller-runtime's own priority queue; a post moved to another account wakes both.
func TestAccountOfPostCoalesces(t *testing.T) {
	q := priorityqueue.New[reconcile.Request]("account-of-post-test")
	defer q.ShutDown()
	h := accountOfPostHandler(200 * time.Millisecond)
	post := func(name, account string) *v1alpha1.TikTokPost {
		return &v1alpha1.TikTokPost{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name},
			Spec: v1alpha1.TikTokPostSpec{AccountRef: v1alpha1.LocalObjectReference{Name: account}}}
	}
	ctx := context.Background()
	start := time.Now()
	for i := range 50 {
		p := post(fmt.Sprint("p", i), "brand")
		h.Create(ctx, event.CreateEvent{Object: p}, q)
		h.Update(ctx, event.UpdateEvent{ObjectOld: p, ObjectNew: p}, q)
	}
	got, _, _ := q.GetWithPriority()
	if waited := time.Since(start); waited < 200*time.Millisecond {
		t.Errorf("the account was woken after %s, before the delay", waited)
	}
	if want := (reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "ns", Name: "brand"}}); got != want {
		t.Fatalf("woke %v, want %v", got, want)
	}
	q.Done(got)
	if n := q.Len(); n != 0 {
		t.Errorf("100 events left %d more wake-ups of the account, want them coalesced into one", n)
	}

	h.Update(ctx, event.UpdateEvent{ObjectOld: post("p", "old"), ObjectNew: post("p", "new")}, q)
	seen := map[string]bool{}
	for range 2 {
		r, _, _ := q.GetWithPriority()
		seen[r.Name] = true
		q.Done(r)
	}
	if !seen["old"] || !seen["new"] {
		t.Errorf("a post moved between accounts woke %v, want old and new", seen)
	}
}
