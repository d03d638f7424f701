/*
Copyright 2026 The tiktok-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package controllers

import (
	"context"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
)

// Both reconcilers are an ordered list of steps over a scope (a postScope or an accountScope: one
// reconcile of one object). Each step either lets the next one run, or has the last word: it stops the
// reconcile with the result the work queue gets. One contract for both, so that a step reads the same
// wherever it is, as in Flux's reconcilers.

// staleCopyRetry is how soon a reconcile whose status write was refused with a conflict (it decided on a
// stale copy: the cache lags behind our own last write, or someone else wrote) decides again, on a fresher
// copy. Short, since a post at the head of its queue waits meanwhile; not zero, so the watch can catch up.
const staleCopyRetry = 50 * time.Millisecond

// step is one step of a reconcile over the scope S.
type step[S any] func(context.Context, S) (stepResult, error)

// stepResult is a step's word: go on to the next step, or stop with this result. A step that returns an
// error stops the reconcile too (its result is then ignored, as controller-runtime ignores a result
// returned with an error).
type stepResult struct {
	stop   bool
	result ctrl.Result
}

// proceed lets the next step run.
func proceed() stepResult { return stepResult{} }

// stop ends the reconcile with res (ctrl.Result{}: nothing to wait for, the watches bring it back).
func stop(res ctrl.Result) stepResult { return stepResult{stop: true, result: res} }

// runSteps runs the steps in order until one stops or fails.
func runSteps[S any](ctx context.Context, s S, steps ...step[S]) (stepResult, error) {
	for _, st := range steps {
		if r, err := st(ctx, s); r.stop || err != nil {
			return r, err
		}
	}
	return proceed(), nil
}
