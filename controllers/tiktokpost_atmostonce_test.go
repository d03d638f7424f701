package controllers

import (
	"context"
	"testing"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
)

// TestIntentWriteFaults: the API server answers the intent write (and the writes after it) with each
// fault a flaky API server has. A post whose call was never made is queued again and published once; no
// post of this process is declared an uncertain outcome for a call it never started.
func TestIntentWriteFaults(t *testing.T) {
	tests := []struct {
		name   string
		faults []writeFault // the post's status writes from its first one (the Queued projection) on
		stale  int          // reads of the post that return the copy from before the last write
	}{
		{"intent refused 409", []writeFault{passWrite, conflict409}, 0},
		{"intent refused 429", []writeFault{passWrite, tooMany429}, 0},
		{"intent landed, answered 500", []writeFault{passWrite, error500After}, 0},
		{"intent landed, connection dropped", []writeFault{passWrite, droppedAfter}, 0},
		{"intent landed with a 500, the cache behind it", []writeFault{passWrite, error500After}, 3},
		{"intent landed with a 500, the undo refused 409", []writeFault{passWrite, error500After, conflict409}, 0},
		{"intent dropped after landing, the undo refused 429 twice", []writeFault{passWrite, droppedAfter, tooMany429, tooMany429}, 0},
		{"intent landed with a 500, the undo landed with a 500 too", []writeFault{passWrite, error500After, error500After}, 0},
		{"answer refused 409 then 429", []writeFault{passWrite, passWrite, conflict409, tooMany429}, 0},
		{"answer landed, answered 500", []writeFault{passWrite, passWrite, error500After}, 0},
		{"Published refused 409", []writeFault{passWrite, passWrite, passWrite, conflict409}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, nil)
			w.account("brand", nil)
			w.post("p", "brand", nil)
			w.faults("p", tt.faults...)
			p := w.driveWithStale("p", tt.stale, 200)
			t.Logf("status writes: %v", w.writes)
			if p.Status.Phase != v1alpha1.PhasePublished {
				t.Fatalf("the post did not end Published: %s", describe(p))
			}
			if n := w.held("p"); n != 1 {
				t.Errorf("the simulator holds the post %d times, want once", n)
			}
			if n := w.inits("brand"); n != 1 {
				t.Errorf("%d init calls reached the simulator, want 1", n)
			}
			for _, h := range p.Status.AttemptHistory {
				if h.Outcome == v1alpha1.AttemptOutcomeUncertain {
					t.Errorf("an attempt is recorded Uncertain: %+v", h)
				}
			}
		})
	}
}

// driveWithStale drives the post; once its intent write has gone out, the next n reads of it are stale.
func (w *world) driveWithStale(name string, n, steps int) *v1alpha1.TikTokPost {
	if n == 0 {
		return w.drive(name, steps)
	}
	for range steps {
		w.drive(name, 1)
		if p := w.get(name); p.Status.Attempts > 0 {
			w.staleReads(name, n)
			break
		}
	}
	return w.drive(name, steps)
}

// TestForeignIntentIsNeverTakenForOurs: while this process writes its intent, another manager (an
// overlapping shard) writes its own for the same attempt, so ours is refused with a conflict. The
// intent found is not ours: its call may be in flight, so this process never calls for it; with
// onUncertainOutcome Fail the post fails UncertainOutcome instead of being sent a second time.
func TestForeignIntentIsNeverTakenForOurs(t *testing.T) {
	w := newWorld(t, nil)
	w.account("brand", nil)
	w.post("p", "brand", nil)
	w.faults("p", passWrite, foreignIntent)
	p := w.drive("p", 100)
	if n := w.inits("brand"); n != 0 {
		t.Errorf("this process made %d init calls for a post whose intent another manager wrote, want 0", n)
	}
	if p.Status.Phase != v1alpha1.PhaseFailed || reasonOf(p) != v1alpha1.ReasonUncertainOutcome {
		t.Errorf("want Failed(UncertainOutcome) for another manager's unanswered intent, got %s", describe(p))
	}
}

// TestRestartFindsOwnIntentUncertain: after a restart, an unanswered intent written by the process
// before (the crash came between the intent and the answer) is an uncertain outcome: the new process
// cannot know whether the call left.
func TestRestartFindsOwnIntentUncertain(t *testing.T) {
	w := newWorld(t, nil)
	w.account("brand", nil)
	w.post("p", "brand", nil)
	// The intent lands with a 500; the process dies before it looks again.
	w.faults("p", passWrite, error500After)
	for range 20 {
		w.drive("p", 1)
		if w.get("p").Status.Phase == v1alpha1.PhasePublishing {
			break
		}
	}
	if got := w.get("p").Status.Phase; got != v1alpha1.PhasePublishing {
		t.Fatalf("setup: the intent did not land (phase %s)", got)
	}
	w.restart()
	w.readyAccount("brand")
	p := w.drive("p", 50)
	if p.Status.Phase != v1alpha1.PhaseFailed || reasonOf(p) != v1alpha1.ReasonUncertainOutcome {
		t.Errorf("want Failed(UncertainOutcome) for an earlier process's unanswered intent, got %s", describe(p))
	}
	if n := w.inits("brand"); n != 0 {
		t.Errorf("%d init calls, want 0", n)
	}
}

// TestUploadDoneWriteRefused: a FileUpload post's upload ends, and the status write that records it
// (Publishing to Processing) is refused with a 409, then a 429. The upload's result is kept until its
// write lands: exactly one init reaches TikTok, and the post is published once.
func TestUploadDoneWriteRefused(t *testing.T) {
	w := newWorld(t, nil)
	w.account("brand", nil)
	w.post("up", "brand", w.fileUpload)
	// Writes: the Queued projection, the intent, the accepted answer (Publishing with a publish id), then
	// the end of the upload.
	w.faults("up", passWrite, passWrite, passWrite, conflict409, tooMany429)
	p := w.drive("up", 300)
	t.Logf("faults applied: %v", w.applied)
	if p.Status.Phase != v1alpha1.PhasePublished {
		t.Fatalf("the post did not end Published: %s", describe(p))
	}
	if n := w.inits("brand"); n != 1 {
		t.Errorf("%d init calls reached the simulator, want 1 (the upload was sent again)", n)
	}
	if n := w.held("up"); n != 1 {
		t.Errorf("the simulator holds the post %d times, want once", n)
	}
}

// TestUploadDoneThenRestart: the upload ends and the process dies before it writes Processing. The next
// process finds Publishing with a publish id and no upload of its own: it asks TikTok first, finds every
// byte there, and polls the post instead of sending it again.
func TestUploadDoneThenRestart(t *testing.T) {
	w := newWorld(t, nil)
	w.account("brand", nil)
	w.post("up", "brand", w.fileUpload)
	w.faults("up", passWrite, passWrite, passWrite, conflict409, conflict409, conflict409, conflict409)
	for range 40 {
		w.drive("up", 1)
		if len(w.script["up"]) <= 2 {
			break // the end of the upload has been refused twice: the process dies now
		}
	}
	if p := w.get("up"); p.Status.Phase != v1alpha1.PhasePublishing || p.Status.PublishID == "" {
		t.Fatalf("setup: want Publishing with a publish id, got %s", describe(p))
	}
	w.restart()
	w.mu.Lock()
	w.script["up"] = nil
	w.mu.Unlock()
	w.readyAccount("brand")
	p := w.drive("up", 100)
	if p.Status.Phase != v1alpha1.PhasePublished {
		t.Fatalf("the post did not end Published: %s", describe(p))
	}
	if n := w.inits("brand"); n != 1 {
		t.Errorf("%d init calls reached the simulator, want 1", n)
	}
}

// TestStaleAnswerNeverOverwritesTheNextHolder: this process could not write TikTok's answer (the write
// was refused), then lost the account to another manager, which judged the post itself. When this process
// holds the account again, the answer it kept is stale: it is dropped, never written over the other
// manager's status.
func TestStaleAnswerNeverOverwritesTheNextHolder(t *testing.T) {
	w := newWorld(t, nil)
	w.account("brand", nil)
	w.post("p", "brand", nil)
	w.faults("p", passWrite, passWrite, conflict409, conflict409) // the answer stays in memory only
	for range 20 {
		w.drive("p", 1)
		if len(w.script["p"]) == 0 {
			break
		}
	}
	if p := w.get("p"); p.Status.Phase != v1alpha1.PhasePublishing || p.Status.PublishID != "" {
		t.Fatalf("setup: want the intent stored and the answer not, got %s", describe(p))
	}
	// The account changes hands, and the other manager ends the post as an uncertain outcome.
	w.posts.Accounts.reset(accountKeyOf(testNS, "brand"))
	other := w.get("p")
	other.Status.Phase = v1alpha1.PhaseFailed
	other.Status.LastError = &v1alpha1.PostError{Code: "uncertain_outcome", Message: "judged by the other manager"}
	if err := w.raw.Status().Update(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	p := w.drive("p", 5)
	if p.Status.Phase != v1alpha1.PhaseFailed || p.Status.LastError == nil || p.Status.LastError.Message != "judged by the other manager" {
		t.Errorf("the stale answer was written over the other manager's status: %s", describe(p))
	}
}
