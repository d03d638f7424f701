package controllers

import "k8s.io/apimachinery/pkg/types"

// newTestPostReconciler builds the post reconciler as Setup does, without a manager.
func newTestPostReconciler(d deps, accountKicks chan eventFor) *TikTokPostReconciler {
	return &TikTokPostReconciler{deps: d, kicks: make(chan eventFor, 4096), accountKicks: accountKicks,
		base: &baseContext{}, intents: newIntentSource(), posts: map[types.NamespacedName]*postMemory{}}
}
