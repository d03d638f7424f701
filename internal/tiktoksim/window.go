package tiktoksim

import "time"

// timeLog is an exact sliding-window log: the times of accepted calls, oldest first. It is the whole
// rate-limiting model, kept small so it can be trusted: a call at t fits a limit of n per w iff fewer
// than n logged times s satisfy t-w < s <= t. So a call exactly w after an old one no longer sees it.
// Times are appended in non-decreasing order (the server never lets its clock go backwards).
type timeLog struct {
	times []time.Time
}

// count drops the times that left the window ending at now and returns how many remain.
func (l *timeLog) count(now time.Time, w time.Duration) int {
	cut := now.Add(-w)
	i := 0
	for i < len(l.times) && !l.times[i].After(cut) {
		i++
	}
	if i > 0 {
		l.times = l.times[i:]
	}
	return len(l.times)
}

// fits reports whether one more call at now stays within n per w.
func (l *timeLog) fits(now time.Time, n int, w time.Duration) bool {
	return l.count(now, w) < n
}

func (l *timeLog) add(now time.Time) { l.times = append(l.times, now) }

// freeAt is when the oldest logged call leaves the window (the earliest time a full log has room);
// call it after count.
func (l *timeLog) freeAt(w time.Duration) time.Time {
	if len(l.times) == 0 {
		return time.Time{}
	}
	return l.times[0].Add(w)
}
