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
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
)

// An account key gives back the namespace and name it was made of, whichever constructor made it, and
// the engine sees the same namespace/name string it always did (a checkpoint or a Lease of an older
// process names the account the same way).
func TestAccountKey(t *testing.T) {
	post := &v1alpha1.TikTokPost{ObjectMeta: metav1.ObjectMeta{Namespace: "team-b", Name: "launch"},
		Spec: v1alpha1.TikTokPostSpec{AccountRef: v1alpha1.LocalObjectReference{Name: "brand"}}}
	for _, tc := range []struct {
		name            string
		acct            accountKey
		namespace, item string
		engine          string
	}{
		{"of", accountKeyOf("ns", "brand"), "ns", "brand", "ns/brand"},
		{"for a post", accountKeyFor(post), "team-b", "brand", "team-b/brand"},
		{"empty name", accountKeyOf("ns", ""), "ns", "", "ns/"},
		{"no namespace", accountKey("brand"), "", "brand", "brand"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.acct.Namespace(); got != tc.namespace {
				t.Errorf("Namespace() = %q, want %q", got, tc.namespace)
			}
			if got := tc.acct.Name(); got != tc.item {
				t.Errorf("Name() = %q, want %q", got, tc.item)
			}
			if got := tc.acct.engine(); got != tc.engine {
				t.Errorf("engine() = %q, want %q", got, tc.engine)
			}
			if got, want := tc.acct.namespacedName(), (types.NamespacedName{Namespace: tc.namespace, Name: tc.item}); got != want {
				t.Errorf("namespacedName() = %v, want %v", got, want)
			}
		})
	}
}
