package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
)

// editorAnnotation is the annotation the concurrent editor bumps on every object it touches.
const editorAnnotation = "e2e.tiktok-operator.dev/edit"

// TestConcurrentEditorLosesNoStatus runs an editor (a GitOps tool, a human with kubectl) that keeps
// updating posts' and AccountQuotas' metadata, and the AccountQuotas' spec, while the operator writes
// status. Every post publishes once with a complete status, every edit survives (the operator never
// writes back a stale object), and each AccountQuota catches up with its last spec generation.
func TestConcurrentEditorLosesNoStatus(t *testing.T) {
	t.Parallel()
	const accounts, perAccount = 2, 12
	e := newEnv(t, nil)
	var names, postNames []string
	for a := range accounts {
		name := fmt.Sprintf("acct-%d", a)
		names = append(names, name)
		e.account(name)
		for i := range perAccount {
			pn := fmt.Sprintf("%s-%02d", name, i)
			postNames = append(postNames, pn)
			e.post(pn, name, nil)
		}
	}
	e.startManager(fastOptions())

	ctx, cancel := context.WithCancel(context.Background())
	ed := &editor{last: map[string]string{}}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ed.run(ctx, e.ns, names, postNames)
	}()
	posts := e.waitPosts(2*time.Minute, nil)
	cancel()
	wg.Wait()
	if ed.err != nil {
		t.Fatalf("the editor: %v", ed.err)
	}
	t.Logf("the editor made %d updates (%d conflicts retried)", ed.updates, ed.conflicts)
	if ed.updates < 20 {
		t.Errorf("only %d edits landed while the operator worked: the test proves little", ed.updates)
	}

	assertAllPublishedOnce(t, e, posts)
	assertNeverOverQuota(t, e, names, 6)
	for _, p := range e.posts() {
		st := p.Status
		if st.PublishID == "" || st.PublishedAt == nil || len(st.PostIDs) == 0 || len(st.AttemptHistory) == 0 ||
			st.AttemptHistory[len(st.AttemptHistory)-1].Outcome != v1alpha1.AttemptOutcomeAccepted {
			t.Errorf("%s: incomplete status: publishID %q, publishedAt %v, postIDs %v, history %+v",
				p.Name, st.PublishID, st.PublishedAt, st.PostIDs, st.AttemptHistory)
		}
		if st.ObservedGeneration != p.Generation {
			t.Errorf("%s: observedGeneration %d, generation %d", p.Name, st.ObservedGeneration, p.Generation)
		}
		if want := ed.lastEdit("post/" + p.Name); p.Annotations[editorAnnotation] != want {
			t.Errorf("%s: the editor's last annotation %q was lost (found %q)", p.Name, want, p.Annotations[editorAnnotation])
		}
	}
	// The AccountQuotas catch up with their last spec and keep their status.
	deadline := time.Now().Add(30 * time.Second)
	for _, n := range names {
		for {
			aq := &v1alpha1.AccountQuota{}
			if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: e.ns, Name: n}, aq); err != nil {
				t.Fatal(err)
			}
			caughtUp := aq.Status.ObservedGeneration == aq.Generation && aq.Status.Creator != nil && len(aq.Status.Usage) > 0
			if caughtUp || time.Now().After(deadline) {
				if !caughtUp {
					t.Errorf("%s: observedGeneration %d of %d, creator %v, usage %v", n,
						aq.Status.ObservedGeneration, aq.Generation, aq.Status.Creator, aq.Status.Usage)
				}
				if want := ed.lastEdit("aq/" + n); aq.Annotations[editorAnnotation] != want {
					t.Errorf("%s: the editor's last annotation %q was lost (found %q)", n, want, aq.Annotations[editorAnnotation])
				}
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// editor updates random posts and AccountQuotas with a whole-object Update (what kubectl edit does),
// retrying conflicts, and remembers the last value it wrote to each.
type editor struct {
	mu        sync.Mutex
	last      map[string]string
	updates   int
	conflicts int
	err       error
}

func (ed *editor) lastEdit(key string) string {
	ed.mu.Lock()
	defer ed.mu.Unlock()
	return ed.last[key]
}

// run edits until ctx ends (bounded: at most 5,000 edits).
func (ed *editor) run(ctx context.Context, ns string, accounts, posts []string) {
	rng := rand.New(rand.NewPCG(3, 5))
	for i := 0; i < 5000 && ctx.Err() == nil; i++ {
		val := strconv.Itoa(i)
		var key string
		var err error
		if rng.IntN(3) == 0 {
			name := accounts[rng.IntN(len(accounts))]
			key = "aq/" + name
			err = ed.update(ctx, ns, name, &v1alpha1.AccountQuota{}, func(o client.Object) {
				aq := o.(*v1alpha1.AccountQuota)
				// A spec change that matters to no post: the generation moves, the operator must follow.
				aq.Spec.Backoff.Max.Duration = time.Duration(5+rng.IntN(5)) * time.Second
				setAnnotation(aq, val)
			})
		} else {
			name := posts[rng.IntN(len(posts))]
			key = "post/" + name
			err = ed.update(ctx, ns, name, &v1alpha1.TikTokPost{}, func(o client.Object) { setAnnotation(o, val) })
		}
		if err != nil {
			ed.mu.Lock()
			ed.err = fmt.Errorf("editing %s: %w", key, err)
			ed.mu.Unlock()
			return
		}
		ed.mu.Lock()
		ed.last[key] = val
		ed.updates++
		ed.mu.Unlock()
		time.Sleep(time.Duration(20+rng.IntN(40)) * time.Millisecond)
	}
}

// update reads the object, changes it and writes it back, retrying on conflict (at most 20 times). It
// ignores the run's cancellation: an edit cut short could land without being recorded.
func (ed *editor) update(_ context.Context, ns, name string, o client.Object, change func(client.Object)) error {
	ctx := context.Background()
	for range 20 {
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, o); err != nil {
			return err
		}
		change(o)
		err := k8sClient.Update(ctx, o)
		if !apierrors.IsConflict(err) {
			return err
		}
		ed.mu.Lock()
		ed.conflicts++
		ed.mu.Unlock()
	}
	return fmt.Errorf("still conflicting after 20 tries")
}

func setAnnotation(o client.Object, val string) {
	a := o.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	a[editorAnnotation] = val
	o.SetAnnotations(a)
}
