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

// Package v1alpha1 contains the API of tiktok-operator: AccountQuota (one TikTok app x one authorized
// creator account, with the account's quota and pacing state) and TikTokPost (one post to publish).
// Validation lives in the CRD (OpenAPI + CEL); there is no webhook.
// +kubebuilder:object:generate=true
// +groupName=publish.tiktok-operator.dev
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of this API: publish.tiktok-operator.dev/v1alpha1.
	GroupVersion = schema.GroupVersion{Group: "publish.tiktok-operator.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the Go types of this API with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the types of this API to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
