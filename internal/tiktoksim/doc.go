// Package tiktoksim is a TikTok Content Posting API simulator: an http.Handler that answers like
// TikTok, limits, caps, token lifetimes, processing and faults included, and records what it accepted.
//
// It is the referee of the operator's tests and benchmarks, so its rules are deliberately simple and
// exact: every limit is a log of accepted call times, a call at time t is accepted iff fewer than n
// accepted calls lie in (t-W, t], and all state sits behind one mutex. It shares no code with the
// client it judges (package tiktok).
package tiktoksim
