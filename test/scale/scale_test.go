package main

import (
	"context"
	"testing"
	"time"

	"github.com/tiktok-operator/tiktok-operator/test/scale/fleet"
)

// TestScaleSmall runs the scale measurement at 200 posts over 20 accounts and checks its structure, not
// its speed: every post got queued, and each figure was read from a real endpoint (the manager's
// /proc status and metrics, the API server's /metrics). Each post costs the operator at least one
// status write, so fewer requests than posts would mean the counting is broken.
func TestScaleSmall(t *testing.T) {
	dir := t.TempDir()
	cp, err := fleet.StartControlPlane(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cp.Stop() })
	bin, err := fleet.BuildManager(dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := fleet.RunScale(context.Background(), cp, bin, fleet.ScaleSpec{Accounts: 20, Posts: 200,
		MaxConcurrentReconciles: 4, Timeout: 2 * time.Minute, Quiet: 3 * time.Second, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("queued in %s, RSS %d, heap %d, %.2f requests per post: %v", r.Queued, r.PeakRSS, r.PeakHeap, r.RequestsPerPost(), r.Requests)
	if r.PeakRSS < 1<<20 || r.PeakHeap < 1<<20 {
		t.Errorf("peak RSS %d and heap %d bytes: not read from a running Go process", r.PeakRSS, r.PeakHeap)
	}
	if r.Published != 20 {
		t.Errorf("%d posts got past the queue; with one init per hour per account want exactly 20", r.Published)
	}
	if r.Requests["PATCH tiktokposts/status"]+r.Requests["PUT tiktokposts/status"] < 200 {
		t.Errorf("fewer post status writes than posts: %v", r.Requests)
	}

	// -failover at 200 posts, first manager stopped cleanly: its structure, never its speed. The new
	// manager's inits come from its post workers, which start once its caches synced, which follows its
	// start; every account had one slot free.
	fo, err := fleet.RunFailover(context.Background(), cp, bin, fleet.FailoverSpec{Accounts: 20, Posts: 200,
		Stop: fleet.StopClean, MaxConcurrentReconciles: 4, Timeout: 2 * time.Minute, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("failover: %+v", fo)
	if fo.Inits != 20 {
		t.Errorf("%d of 20 accounts made an init after the new manager started", fo.Inits)
	}
	ordered := 0 < fo.Started && fo.Started <= fo.LeadAsked && fo.LeadAsked <= fo.Leading && fo.Leading <= fo.SourcesStarted &&
		fo.SourcesStarted <= fo.PostsSynced && fo.PostsSynced < fo.FirstInit && fo.FirstInit <= fo.AllInits
	if !ordered {
		t.Errorf("failover milestones out of order: started %s, asked to lead %s, leading %s, caches synced %s, post workers %s, "+
			"first init %s, all inits %s", fo.Started, fo.LeadAsked, fo.Leading, fo.SourcesStarted, fo.PostsSynced, fo.FirstInit, fo.AllInits)
	}

	// -floor on the same control plane: its structure, never its speed.
	before, err := cp.APIServerRequests(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rs, err := fleet.RunFloor(context.Background(), cp, 30, 2, 4)
	if err != nil {
		t.Fatal(err)
	}
	after, err := cp.APIServerRequests(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := after.Sub(before)["PUT tiktokposts/status"]; got != 60 {
		t.Errorf("the floor's two rounds of 30 sent %v status PUTs, want 60", got)
	}
	if len(rs) != 2 || !rs[0].ManagedFields || rs[1].ManagedFields {
		t.Fatalf("floor rounds %+v: want two, the first with managedFields, the second without", rs)
	}
	for _, x := range rs {
		if x.CreateCPU <= 0 || x.WriteCPU <= 0 {
			t.Errorf("floor round %+v: API-server CPU not read", x)
		}
	}
}
