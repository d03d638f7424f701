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
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktok"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktoksim"
)

const desktopRedirect = "http://127.0.0.1:*/callback/"

// TestConnectEndToEnd: connect --no-browser waits while the test plays the creator over HTTP (consent
// page, Authorize, the redirect to connect's loopback listener); the Secret and the AccountQuota appear
// as the operator expects them, the real controllers make the account Ready, and connect prints the
// creator. Then TikTok refuses the account's refresh token (CredentialsInvalid) and connect, run again,
// authorizes it in place.
func TestConnectEndToEnd(t *testing.T) {
	w := newWorld(t, desktopRedirect)
	w.startOperator()
	run := w.connect("dana", "--allowed-media-prefix", "https://cdn.example.com/videos/", "--client-secret-from-file", "-")
	authURL := run.authorizeURL(t)
	for _, want := range []string{"client_key=" + appKey, "code_challenge_method=S256", "response_type=code",
		"redirect_uri=http%3A%2F%2F127.0.0.1%3A", "scope=user.info.basic%2Cvideo.publish%2Cvideo.upload"} {
		if !strings.Contains(authURL, want) {
			t.Errorf("authorize URL %s lacks %s", authURL, want)
		}
	}
	loc := consent(t, authURL, "authorize")
	status, page := get(t, loc.String())
	if status != http.StatusOK || !strings.Contains(page, "You may close this tab") {
		t.Fatalf("the loopback page: HTTP %d\n%s", status, page)
	}
	if err := run.wait(t); err != nil {
		t.Fatalf("connect: %v\n%s", err, run.out.String())
	}
	out := run.out.String()
	if !strings.Contains(out, "creator @"+creator) || !strings.Contains(out, "PUBLIC_TO_EVERYONE, MUTUAL_FOLLOW_FRIENDS") {
		t.Fatalf("connect's output lacks the creator and privacy levels:\n%s", out)
	}

	ctx := context.Background()
	sec := &corev1.Secret{}
	if err := k8sClient.Get(ctx, types.NamespacedName{Namespace: w.ns, Name: "dana-tiktok"}, sec); err != nil {
		t.Fatal(err)
	}
	access, refresh, _ := w.sim.Tokens(creator)
	if sec.Labels[v1alpha1.CredentialsLabel] != "true" || string(sec.Data[v1alpha1.SecretKeyClientKey]) != appKey ||
		string(sec.Data[v1alpha1.SecretKeyClientSecret]) != appSecret || len(sec.Data[v1alpha1.SecretKeyAccessToken]) == 0 ||
		len(sec.Data[v1alpha1.SecretKeyRefreshToken]) == 0 || len(sec.Data[v1alpha1.SecretKeyAccessTokenExpiresAt]) == 0 {
		t.Fatalf("Secret: labels %v, keys %v", sec.Labels, keysOf(sec.Data))
	}
	if string(sec.Data[v1alpha1.SecretKeyRefreshToken]) != refresh && string(sec.Data[v1alpha1.SecretKeyAccessToken]) != access {
		t.Fatal("the Secret holds none of the tokens TikTok issued")
	}
	aq := &v1alpha1.AccountQuota{}
	if err := k8sClient.Get(ctx, types.NamespacedName{Namespace: w.ns, Name: "dana"}, aq); err != nil {
		t.Fatal(err)
	}
	if aq.Spec.CredentialsSecretRef.Name != "dana-tiktok" || aq.Spec.Endpoint != w.srv.URL ||
		len(aq.Spec.AllowedMediaPrefixes) != 1 || aq.Spec.Limits.PostInit.Requests != 6 {
		t.Fatalf("AccountQuota spec: %+v", aq.Spec)
	}
	for _, s := range w.secrets() {
		if strings.Contains(out, s) {
			t.Fatalf("connect printed a secret:\n%s", out)
		}
	}

	// TikTok refuses the grant: the Secret now holds a refresh token TikTok does not know and an expired
	// access token, so the operator's refresh is refused and the account stalls with CredentialsInvalid.
	sec.Data[v1alpha1.SecretKeyAccessToken] = []byte("act.revoked")
	sec.Data[v1alpha1.SecretKeyRefreshToken] = []byte("rft.revoked")
	sec.Data[v1alpha1.SecretKeyAccessTokenExpiresAt] = []byte(time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
	if err := k8sClient.Update(ctx, sec); err != nil {
		t.Fatal(err)
	}
	waitReason(t, w.ns, "dana", v1alpha1.ReasonCredentialsInvalid)

	// connect again, without the client secret: it comes from the Secret.
	again := w.connect("dana")
	loc = consent(t, again.authorizeURL(t), "authorize")
	if status, page := get(t, loc.String()); status != http.StatusOK || !strings.Contains(page, "You may close this tab") {
		t.Fatalf("the loopback page on the second connect: HTTP %d\n%s", status, page)
	}
	if err := again.wait(t); err != nil {
		t.Fatalf("connect after CredentialsInvalid: %v\n%s", err, again.out.String())
	}
	waitReason(t, w.ns, "dana", v1alpha1.ReasonAccountReady)
}

func keysOf(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// waitReason waits until the AccountQuota's Ready condition has reason.
func waitReason(t *testing.T, ns, name, reason string) {
	t.Helper()
	var last *metav1.Condition
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		aq := &v1alpha1.AccountQuota{}
		if err := k8sClient.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, aq); err != nil {
			t.Fatal(err)
		}
		if last = meta.FindStatusCondition(aq.Status.Conditions, v1alpha1.ConditionReady); last != nil && last.Reason == reason {
			return
		}
	}
	t.Fatalf("AccountQuota %s never had Ready reason %s; last %+v", name, reason, last)
}

// TestConnectRefusals: each way the sign-in can go wrong ends connect with an error that says what
// happened, and writes nothing to the cluster. No operator runs: nothing may reach it.
func TestConnectRefusals(t *testing.T) {
	for _, tc := range []struct {
		name       string
		registered string
		timeout    string
		// creator plays the creator (and the attacker) from the URL connect printed.
		creator func(t *testing.T, w *world, authURL string)
		want    string
	}{
		{name: "deny", creator: func(t *testing.T, _ *world, authURL string) {
			status, page := get(t, consent(t, authURL, "deny").String())
			if status != http.StatusOK || !strings.Contains(page, "access_denied") {
				t.Errorf("the loopback page after Deny: HTTP %d\n%s", status, page)
			}
		}, want: "error=access_denied"},
		{name: "wrong state", creator: func(t *testing.T, _ *world, authURL string) {
			loc := consent(t, authURL, "authorize")
			q := loc.Query()
			q.Set("state", "forged-state")
			loc.RawQuery = q.Encode()
			if status, _ := get(t, loc.String()); status != http.StatusBadRequest {
				t.Errorf("a forged state: HTTP %d, want 400", status)
			}
		}, want: "state does not match"},
		{name: "reused code", creator: func(t *testing.T, w *world, authURL string) {
			loc := consent(t, authURL, "authorize")
			// Someone exchanges the code first (TikTok takes a code once, whatever the verifier).
			resp, err := http.PostForm(w.srv.URL+"/v2/oauth/token/", url.Values{"client_key": {appKey}, "client_secret": {appSecret},
				"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "redirect_uri": {redirectOf(loc)},
				"code_verifier": {strings.Repeat("a", 64)}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			get(t, loc.String())
		}, want: "invalid_grant"},
		{name: "wrong verifier", creator: func(t *testing.T, _ *world, authURL string) {
			// The challenge on the way to TikTok is not the one of connect's verifier.
			u, _ := url.Parse(authURL)
			q := u.Query()
			q.Set("code_challenge", tiktok.CodeChallenge(tiktok.CodeVerifier(strings.Repeat("z", 64))))
			u.RawQuery = q.Encode()
			if status, page := get(t, consent(t, u.String(), "authorize").String()); status != http.StatusBadGateway ||
				strings.Contains(page, "You may close") {
				t.Errorf("the loopback page after a refused code: HTTP %d\n%s", status, page)
			}
		}, want: tiktoksim.ErrPKCEDescription},
		{name: "unregistered redirect uri", registered: "http://127.0.0.1:*/oauth/", timeout: "3s",
			creator: func(t *testing.T, _ *world, authURL string) {
				status, page := get(t, authURL)
				if status != http.StatusBadRequest || !strings.Contains(page, "redirect_uri") {
					t.Errorf("TikTok's page for an unregistered redirect URI: HTTP %d\n%s", status, page)
				}
			}, want: "register http://127.0.0.1:*/callback/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			registered := desktopRedirect
			if tc.registered != "" {
				registered = tc.registered
			}
			w := newWorld(t, registered)
			var extra []string
			if tc.timeout != "" {
				extra = []string{"--timeout", tc.timeout}
			}
			run := w.connect("erin", append(extra, "--client-secret-from-file", "-")...)
			tc.creator(t, w, run.authorizeURL(t))
			err := run.wait(t)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "othing was written") {
				t.Fatalf("connect: %v, want an error with %q saying nothing was written\n%s", err, tc.want, run.out.String())
			}
			for _, s := range w.secrets() {
				if strings.Contains(err.Error()+run.out.String(), s) {
					t.Fatalf("connect showed a secret: %v", err)
				}
			}
			w.nothingWritten("erin")
		})
	}
}

// redirectOf is the redirect URI a redirect went to (without its query).
func redirectOf(loc *url.URL) string { return loc.Scheme + "://" + loc.Host + loc.Path }

// TestReconnectWaitsForTheNewTokens: connect on an account that is already Ready reports Ready only once
// the operator has read the Secret connect wrote (its status shows the new access token's expiry), not at
// once on the old tokens' Ready. With the operator stopped after the first connect, the second must end
// with its --timeout, although the AccountQuota still says Ready.
func TestReconnectWaitsForTheNewTokens(t *testing.T) {
	w := newWorld(t, desktopRedirect)
	stop := w.startOperator()
	first := w.connect("erin", "--client-secret-from-file", "-")
	get(t, consent(t, first.authorizeURL(t), "authorize").String()) // the browser lands on connect's listener
	if err := first.wait(t); err != nil {
		t.Fatalf("first connect: %v\n%s", err, first.out.String())
	}
	stop()
	// The second grant must expire at a later second than the first, so that the two expiries differ.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond)))
	again := w.connect("erin", "--timeout", "3s")
	get(t, consent(t, again.authorizeURL(t), "authorize").String())
	err := again.wait(t)
	if err == nil || !strings.Contains(err.Error(), "not Ready within --timeout") {
		t.Fatalf("second connect with no operator to read the new Secret: %v, want the --timeout error\n%s", err, again.out.String())
	}
	aq := &v1alpha1.AccountQuota{}
	if err := k8sClient.Get(context.Background(), types.NamespacedName{Namespace: w.ns, Name: "erin"}, aq); err != nil {
		t.Fatal(err)
	}
	if !meta.IsStatusConditionTrue(aq.Status.Conditions, v1alpha1.ConditionReady) {
		t.Fatal("the AccountQuota is not Ready on its old tokens: the test shows nothing")
	}
}
