package controllers

import (
	"fmt"
	"testing"
	"time"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
)

// TikTok's real limit of video inits is 3 a minute, not the configured 6: the fourth post's init is
// refused, the engine learns 3 at once, and the account's status says so (effectiveLimit 3, loweredAt,
// nextProbeAt). spec.adaptive.cleanWindows 2 reaches the engine: the probe is due 2 windows after the
// refusal, not the default 10, and the limit rises then.
func TestRefusalLowersTheLimitInStatus(t *testing.T) {
	w := newWorld(t, nil)
	w.sim.SetLimit(tiktoksim.EndpointVideoInit, 3, time.Minute)
	w.account("brand", func(aq *v1alpha1.AccountQuota) {
		aq.Spec.Adaptive = v1alpha1.AdaptivePolicy{CleanWindows: 2}
	})
	for i := range 3 {
		name := fmt.Sprintf("p%d", i)
		w.post(name, "brand", nil)
		if p := w.drive(name, 50); p.Status.Phase != v1alpha1.PhasePublished {
			t.Fatalf("%s: %s", name, describe(p))
		}
	}
	w.post("p3", "brand", nil)
	// The refusal happens within the drive step that makes the fourth init (which then runs the fake
	// clock on to the post's next wake): between stepAt and the clock's time after it.
	stepAt := w.clk.Now()
	for range 50 {
		if w.inits("brand") == 4 {
			break
		}
		stepAt = w.clk.Now()
		w.drive("p3", 1)
	}
	if st := w.sim.Stats().Get("brand", tiktoksim.EndpointVideoInit); st.Calls != 4 || st.RateLimited["window"] != 1 {
		t.Fatalf("video inits: %+v; want 4, the fourth refused by the window", st)
	}
	refusedAt := w.clk.Now()
	usage := func() v1alpha1.LimitUsage {
		t.Helper()
		if _, err := w.reconcileAccount("brand"); err != nil {
			t.Fatal(err)
		}
		aq := w.getAccount("brand")
		for _, u := range aq.Status.Usage {
			if u.Name == "postInit/video" {
				return u
			}
		}
		t.Fatalf("no postInit/video in %+v", aq.Status.Usage)
		return v1alpha1.LimitUsage{}
	}
	u := usage()
	if u.Limit != 6 || u.EffectiveLimit != 3 || u.LoweredAt == nil || u.NextProbeAt == nil {
		t.Fatalf("after the refusal: %+v; want limit 6, effective 3, loweredAt and nextProbeAt set", u)
	}
	if u.LoweredAt.Time.Before(stepAt.Add(-time.Second)) || u.LoweredAt.After(refusedAt) {
		t.Errorf("loweredAt %s, refusal between %s and %s", u.LoweredAt.Time, stepAt, refusedAt)
	}
	if d := u.NextProbeAt.Sub(u.LoweredAt.Time); d < 2*time.Minute || d > 2*time.Minute+2*time.Second {
		t.Errorf("nextProbeAt %s after loweredAt, want 2m (cleanWindows 2)", d)
	}
	// The status view rises with the engine once the stretch is over (the write waits for the
	// account's turn: AccountStatusInterval).
	w.clk.SetTime(u.NextProbeAt.Add(time.Minute))
	if u := usage(); u.EffectiveLimit != 4 || !u.NextProbeAt.Time.Before(w.clk.Now()) {
		t.Fatalf("after the clean stretch: %+v; want effective 4 on probation, probe due", u)
	}
}
