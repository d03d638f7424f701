package pacing

import "time"

// Head returns the key of the first waiter in the account's queue order whose publishAt has come at
// now: the one the controllers wake when a slot may have opened (a grant, an answer, a waiter leaving),
// so that it asks again at once instead of at a projection that has moved earlier.
func (e *Engine) Head(account string, now time.Time) (key string, ok bool) {
	a := e.get(account)
	if a == nil {
		return "", false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	n := nanos(now)
	for _, it := range a.q.items {
		if it.pub <= n {
			return it.w.Key, true
		}
	}
	return "", false
}
