package controllers

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"
	"sync/atomic"
)

// intentSource names the intents this process writes (AttemptRecord.intentID): a random identity of
// the process, chosen at start, and the process's own count of intents. An unanswered attempt found in
// a post's status is judged by its name (invariant "at most once"):
//   - written by this process, and this process never started its call (the intent write reported a
//     failure but landed): nothing left for TikTok, so the attempt is abandoned and the post queued again;
//   - written by this process and its call started, or written by any other process (a restart, a second
//     manager): the call may have reached TikTok, an uncertain outcome.
//
// The name is written with the intent itself, so the judgement does not depend on which of several
// writes landed or on what the cache shows: every reconcile that finds the same intent decides the same.
type intentSource struct {
	process string
	seq     atomic.Uint64
}

func newIntentSource() *intentSource {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("reading random bytes for the process identity: " + err.Error()) // crypto/rand never fails on Linux
	}
	return &intentSource{process: hex.EncodeToString(b[:])}
}

// next names a new intent of this process.
func (s *intentSource) next() string {
	return s.process + "-" + strconv.FormatUint(s.seq.Add(1), 10)
}

// mine says whether this process wrote the intent named id.
func (s *intentSource) mine(id string) bool {
	return strings.HasPrefix(id, s.process+"-")
}

// markSent records, before the call leaves, that this process started the call of intent id.
func (m *postMemory) markSent(id string) {
	if m.sent == nil {
		m.sent = map[string]bool{}
	}
	m.sent[id] = true
}

// wasSent says whether this process started the call of intent id.
func (m *postMemory) wasSent(id string) bool { return m.sent[id] }
