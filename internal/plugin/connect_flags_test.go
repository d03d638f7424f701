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
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/tiktok-operator/tiktok-operator/internal/plugin"
	"github.com/tiktok-operator/tiktok-operator/test/fixture"
)

// TestConnectRefusesBadInputBeforeTheBrowser: bad flags, and a cluster state connect must not overwrite,
// end connect with an error naming the flag or object and the rule, before any URL is printed (the
// creator is never sent to TikTok for nothing) and with nothing written.
func TestConnectRefusesBadInputBeforeTheBrowser(t *testing.T) {
	w := newWorld(t, desktopRedirect)
	ctx := context.Background()
	unlabelled := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "frank-tiktok"},
		StringData: map[string]string{"anything": "else"}}
	if err := k8sClient.Create(ctx, unlabelled); err != nil {
		t.Fatal(err)
	}
	emptyFile := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(emptyFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"account name", []string{"Bad_Name", "--client-key", appKey}, `ACCOUNT "Bad_Name"`},
		{"no client key", []string{"erin"}, "--client-key is required"},
		{"scope", []string{"erin", "--client-key", appKey, "--scopes", "video.publish,Video Upload"}, `--scopes: "Video Upload"`},
		{"plain http endpoint", []string{"erin", "--client-key", appKey, "--endpoint", "http://tiktok.example.com"}, "--endpoint"},
		{"http media prefix", []string{"erin", "--client-key", appKey, "--allowed-media-prefix", "http://cdn.example.com/"}, "--allowed-media-prefix"},
		{"timeout", []string{"erin", "--client-key", appKey, "--timeout", "0s"}, "--timeout 0s: must be positive"},
		{"no client secret for a new account", []string{"erin", "--client-key", appKey}, "--client-secret-from-file is required"},
		{"empty client secret file", []string{"erin", "--client-key", appKey, "--client-secret-from-file", emptyFile},
			"want the client secret alone on one line"},
		{"an unlabelled Secret of that name", []string{"frank", "--client-key", appKey, "--client-secret-from-file", "-"},
			"exists without the label publish.tiktok-operator.dev/credentials=true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out fixture.SyncBuffer
			root := plugin.NewRootCommand(genericiooptions.IOStreams{In: strings.NewReader(appSecret), Out: &out, ErrOut: &out})
			root.SetArgs(append([]string{"--kubeconfig", kubeconfig, "-n", w.ns, "connect", "--endpoint", w.srv.URL, "--no-browser"}, tc.args...))
			err := root.Execute()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("connect %v: %v, want an error with %q", tc.args, err, tc.want)
			}
			if strings.Contains(out.String(), "/v2/auth/authorize/") {
				t.Fatalf("connect printed an authorize URL before refusing:\n%s", out.String())
			}
		})
	}
	w.nothingWritten("erin")
}
