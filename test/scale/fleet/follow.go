package fleet

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
)

// queuedWatch follows a namespace's posts with an informer (client-go's reflector: one list, then a
// watch resumed from the last version seen whenever the API server ends it) and reports when want of
// them are queued.
type queuedWatch struct {
	want      int
	allQueued chan struct{} // closed when want posts are queued; at is set by then
	failed    chan error
	at        time.Time
	requests  *requestCounter // the informer's own requests, taken out of the API server's counts
	cancel    context.CancelFunc
	done      chan struct{}

	mu                sync.Mutex
	state             map[string]postState
	queued, published int // tallies of state
}

type postState struct{ queued, published bool }

// stateOf tells whether a post is Queued with a nextAttemptTime, or already past the queue.
func stateOf(p *v1alpha1.TikTokPost) postState {
	switch p.Status.Phase {
	case v1alpha1.PhaseQueued:
		return postState{queued: p.Status.NextAttemptTime != nil}
	case v1alpha1.PhasePublishing, v1alpha1.PhaseProcessing, v1alpha1.PhasePublished:
		return postState{queued: true, published: true}
	}
	return postState{}
}

func watchQueued(ctx context.Context, cp *ControlPlane, ns string, want int) (*queuedWatch, error) {
	rc := &requestCounter{}
	cfg := rest.CopyConfig(cp.Config)
	cfg.Wrap(rc.wrap)
	c, err := cache.New(cfg, cache.Options{Scheme: cp.Client.Scheme(), DefaultNamespaces: map[string]cache.Config{ns: {}}})
	if err != nil {
		return nil, fmt.Errorf("creating the posts' informer: %w", err)
	}
	inf, err := c.GetInformer(ctx, &v1alpha1.TikTokPost{})
	if err != nil {
		return nil, fmt.Errorf("creating the posts' informer: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &queuedWatch{want: want, allQueued: make(chan struct{}), failed: make(chan error, 1), requests: rc,
		cancel: cancel, done: make(chan struct{}), state: map[string]postState{}}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    w.observe,
		UpdateFunc: func(_, o any) { w.observe(o) },
	}); err != nil {
		cancel()
		return nil, fmt.Errorf("following the posts: %w", err)
	}
	go func() {
		defer close(w.done)
		if err := c.Start(ctx); err != nil && ctx.Err() == nil {
			w.failed <- fmt.Errorf("following the posts: %w", err)
		}
	}()
	if !c.WaitForCacheSync(ctx) {
		w.stop()
		return nil, fmt.Errorf("the posts' informer never synced")
	}
	return w, nil
}

func (w *queuedWatch) observe(o any) {
	p, ok := o.(*v1alpha1.TikTokPost)
	if !ok {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	now := stateOf(p)
	was := w.state[p.Name]
	w.state[p.Name] = now
	w.queued += b2i(now.queued) - b2i(was.queued)
	w.published += b2i(now.published) - b2i(was.published)
	if w.at.IsZero() && w.queued == w.want {
		w.at = time.Now()
		close(w.allQueued)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// counts are the posts queued (or past the queue) and past the queue, as last seen.
func (w *queuedWatch) counts() (queued, published int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.queued, w.published
}

func (w *queuedWatch) stop() {
	w.cancel()
	<-w.done
}

// requestCounter counts the LIST and WATCH requests for TikTokPosts that go through its transport.
type requestCounter struct{ lists, watches atomic.Int64 }

func (rc *requestCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/tiktokposts") {
			if w := r.URL.Query().Get("watch"); w == "true" || w == "1" {
				rc.watches.Add(1)
			} else {
				rc.lists.Add(1)
			}
		}
		return rt.RoundTrip(r)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
