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
	"strings"

	"k8s.io/apimachinery/pkg/types"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
)

// accountKey names one account (one AccountQuota) across the process: the registry, the token store, the
// Lease holder, the client pool, the metrics and the post steps key their state by it. It is a type of its
// own, not a bare string, so that an account cannot be mixed up with a post's name or a Secret's key, and
// so that the one place the pacing engine's string is made is engine() below.
type accountKey string

// accountKeyOf is the key of the AccountQuota namespace/name.
func accountKeyOf(namespace, name string) accountKey { return accountKey(namespace + "/" + name) }

// accountKeyFor is the key of the account a post publishes to: accounts are namespaced with their posts.
func accountKeyFor(post *v1alpha1.TikTokPost) accountKey {
	return accountKeyOf(post.Namespace, post.Spec.AccountRef.Name)
}

// Namespace is the account's namespace (a Kubernetes name never holds a slash, so the first one splits).
func (k accountKey) Namespace() string {
	ns, _, ok := strings.Cut(string(k), "/")
	if !ok {
		return ""
	}
	return ns
}

// Name is the AccountQuota's name.
func (k accountKey) Name() string {
	_, name, ok := strings.Cut(string(k), "/")
	if !ok {
		return string(k)
	}
	return name
}

// namespacedName is the AccountQuota's object key, to read it or to queue its reconcile.
func (k accountKey) namespacedName() types.NamespacedName {
	return types.NamespacedName{Namespace: k.Namespace(), Name: k.Name()}
}

// String is namespace/name, as logs and error messages show the account.
func (k accountKey) String() string { return string(k) }

// engine is the account's name in the pacing engine, whose API takes strings (internal/pacing knows
// nothing of Kubernetes): every call into the engine converts here and nowhere else.
func (k accountKey) engine() string { return string(k) }
