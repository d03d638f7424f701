package fleet

import (
	"context"
	"sync"
	"time"
)

// sampler scrapes the manager's metrics every 5 s and keeps the largest Go heap and, while a queueing
// is followed, how many posts are queued and how deep the manager's post work queue is. One scrape
// serves both: a scrape of a manager with 1,000 accounts' series costs it real CPU (a quarter of its
// time when sampled twice a second), which the measurement should not add. The peak RSS (VmHWM) is
// exact whatever the interval.
type sampler struct {
	stop func()

	mu              sync.Mutex
	heap            int64
	err             error
	following       *queuedWatch
	queued, backlog []int
}

func startSampler(ctx context.Context, url string) *sampler {
	s := &sampler{}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	var once sync.Once
	// The last scrape is taken on stop: a small run can end before the ticker's second scrape, and the
	// first one may come before the manager's metrics server listens.
	s.stop = func() { once.Do(func() { cancel(); <-done; s.scrape(parent, url) }) }
	go func() {
		defer close(done)
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			s.scrape(ctx, url)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *sampler) scrape(ctx context.Context, url string) {
	body, err := fetch(ctx, url)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			s.err = err
		}
		return
	}
	if v, err := gauge(body, "go_memstats_heap_inuse_bytes"); err != nil {
		s.err = err
	} else if int64(v) > s.heap {
		s.heap = int64(v)
	}
	if w := s.following; w != nil {
		select {
		case <-w.allQueued: // done: nothing more to record
		default:
			q, _ := w.counts()
			d, err := sum(body, "workqueue_depth", `name="tiktokpost"`)
			if err != nil {
				d = -1
			}
			s.queued, s.backlog = append(s.queued, q), append(s.backlog, int(d))
		}
	}
}

// follow records w's progress with every scrape until all its posts are queued.
func (s *sampler) follow(w *queuedWatch) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.following = w
}

// progress is what follow recorded: posts queued and the work queue's depth, one pair per scrape.
func (s *sampler) progress() (queued, backlog []int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.queued...), append([]int(nil), s.backlog...)
}

func (s *sampler) peakHeap() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.heap
}

func (s *sampler) lastErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}
