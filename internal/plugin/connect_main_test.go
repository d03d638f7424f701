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

package plugin_test

import (
	"sync"
	"testing"

	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/plugin"
)

// The connect tests run against a real kube-apiserver and etcd (envtest, the package's one control plane,
// started by the first test that needs it: see harness_test.go), reached through a kubeconfig file as a
// user's kubectl would. useCluster sets these for the test.
var (
	cfg        *rest.Config
	k8sClient  client.Client
	kubeconfig string
	schemeOnce sync.Once
)

// useCluster starts the control plane if no test has yet (failing with how to build it when it is
// missing) and points cfg, k8sClient and kubeconfig at it.
func useCluster(t *testing.T) {
	t.Helper()
	schemeOnce.Do(func() {
		if err := v1alpha1.AddToScheme(scheme.Scheme); err != nil {
			t.Fatal(err)
		}
	})
	cfg, k8sClient, kubeconfig = plugin.SharedTestCluster(t)
}
