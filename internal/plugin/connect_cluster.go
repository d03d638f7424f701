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

package plugin

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktok"
)

// connectTarget is what connect will write, decided before the browser opens.
type connectTarget struct {
	ns           string
	secretName   string
	clientSecret tiktok.ClientSecret
}

// plan reads the account's AccountQuota and Secret, if they exist, and settles the Secret's name and the
// client secret, so that every refusal comes before the creator is sent to TikTok.
func (c *connectOptions) plan(ctx context.Context, kc client.Client, ns string) (connectTarget, error) {
	t := connectTarget{ns: ns, secretName: c.secretName}
	aq := &v1alpha1.AccountQuota{}
	err := kc.Get(ctx, types.NamespacedName{Namespace: ns, Name: c.account}, aq)
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return t, fmt.Errorf("reading AccountQuota %s/%s: %w", ns, c.account, err)
	default:
		ref := aq.Spec.CredentialsSecretRef.Name
		if t.secretName != "" && t.secretName != ref {
			return t, fmt.Errorf("--secret-name %s: AccountQuota %s/%s already names Secret %s (spec.credentialsSecretRef); "+
				"leave --secret-name out to update that one", t.secretName, ns, c.account, ref)
		}
		t.secretName = ref
		if !c.endpointGiven && aq.Spec.Endpoint != "" {
			c.endpoint = aq.Spec.Endpoint // authorize again where the account lives
		}
	}
	if t.secretName == "" {
		t.secretName = c.account + "-tiktok"
	}
	if t.clientSecret, err = c.readClientSecret(); err != nil {
		return t, err
	}
	sec := &corev1.Secret{}
	err = kc.Get(ctx, types.NamespacedName{Namespace: ns, Name: t.secretName}, sec)
	switch {
	case apierrors.IsNotFound(err):
		if t.clientSecret == "" {
			return t, fmt.Errorf("--client-secret-from-file is required: Secret %s/%s does not exist yet, so the app's client "+
				"secret must come from a file, or from stdin with -", ns, t.secretName)
		}
		return t, nil
	case err != nil:
		return t, fmt.Errorf("reading Secret %s/%s: %w", ns, t.secretName, err)
	}
	if sec.Labels[v1alpha1.CredentialsLabel] != v1alpha1.CredentialsLabelValue {
		return t, fmt.Errorf("the Secret %s/%s exists without the label %s=%s: connect writes only credentials Secrets; "+
			"choose another name with --secret-name, or label it first", ns, t.secretName, v1alpha1.CredentialsLabel, v1alpha1.CredentialsLabelValue)
	}
	if t.clientSecret == "" {
		if string(sec.Data[v1alpha1.SecretKeyClientKey]) != c.clientKey || len(sec.Data[v1alpha1.SecretKeyClientSecret]) == 0 {
			return t, fmt.Errorf("--client-secret-from-file is required: Secret %s/%s holds no client secret for the client key %s",
				ns, t.secretName, c.clientKey)
		}
		t.clientSecret = tiktok.ClientSecret(sec.Data[v1alpha1.SecretKeyClientSecret])
	}
	return t, nil
}

// write creates or updates the labelled credentials Secret, then the AccountQuota that names it (so the
// operator never sees the AccountQuota without its Secret). Limits are left to their defaults.
func (c *connectOptions) write(ctx context.Context, kc client.Client, t connectTarget, tok *tiktok.Token) error {
	if tok.RefreshToken == "" {
		// The operator could use such a grant for a day at most and then lose the account.
		return fmt.Errorf("TikTok's answer carries no refresh token: nothing was written to the cluster; run connect again")
	}
	now := time.Now()
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: t.ns, Name: t.secretName}}
	if _, err := controllerutil.CreateOrUpdate(ctx, kc, sec, func() error {
		if sec.ResourceVersion != "" && sec.Labels[v1alpha1.CredentialsLabel] != v1alpha1.CredentialsLabelValue {
			return fmt.Errorf("the Secret %s/%s lost the label %s=%s: not written", t.ns, t.secretName,
				v1alpha1.CredentialsLabel, v1alpha1.CredentialsLabelValue)
		}
		if sec.Labels == nil {
			sec.Labels = map[string]string{}
		}
		sec.Labels[v1alpha1.CredentialsLabel] = v1alpha1.CredentialsLabelValue
		if sec.Type == "" {
			sec.Type = corev1.SecretTypeOpaque
		}
		if sec.Data == nil {
			sec.Data = map[string][]byte{}
		}
		sec.Data[v1alpha1.SecretKeyClientKey] = []byte(c.clientKey)
		sec.Data[v1alpha1.SecretKeyClientSecret] = []byte(t.clientSecret)
		sec.Data[v1alpha1.SecretKeyAccessToken] = []byte(tok.AccessToken)
		sec.Data[v1alpha1.SecretKeyRefreshToken] = []byte(tok.RefreshToken)
		setExpiry(sec.Data, v1alpha1.SecretKeyAccessTokenExpiresAt, now, tok.ExpiresIn)
		if tok.ExpiresIn > 0 {
			c.issuedExpiry = now.Add(time.Duration(tok.ExpiresIn) * time.Second).UTC().Truncate(time.Second)
		}
		setExpiry(sec.Data, v1alpha1.SecretKeyRefreshTokenExpiresAt, now, tok.RefreshExpiresIn)
		return nil
	}); err != nil {
		return fmt.Errorf("writing Secret %s/%s (TikTok issued the tokens; run connect again to retry): %w", t.ns, t.secretName, err)
	}
	aq := &v1alpha1.AccountQuota{ObjectMeta: metav1.ObjectMeta{Namespace: t.ns, Name: c.account}}
	if _, err := controllerutil.CreateOrUpdate(ctx, kc, aq, func() error {
		aq.Spec.CredentialsSecretRef.Name = t.secretName
		if c.endpointSet() { // else the AccountQuota keeps its endpoint, or takes the default: TikTok's
			aq.Spec.Endpoint = strings.TrimRight(c.endpoint, "/")
		}
		if len(c.mediaPrefixes) > 0 {
			aq.Spec.AllowedMediaPrefixes = c.mediaPrefixes
		}
		return nil
	}); err != nil {
		return fmt.Errorf("writing AccountQuota %s/%s (the Secret %s holds the tokens): %w", t.ns, c.account, t.secretName, err)
	}
	return nil
}

// endpointSet reports whether --endpoint differs from TikTok's: only then does an update change the
// AccountQuota's endpoint.
func (c *connectOptions) endpointSet() bool {
	return strings.TrimRight(c.endpoint, "/") != tiktok.DefaultBaseURL
}

// setExpiry records when a token expires, as the operator does (RFC 3339); unknown lifetimes are removed.
func setExpiry(d map[string][]byte, key string, now time.Time, secs int64) {
	if secs <= 0 {
		delete(d, key)
		return
	}
	d[key] = []byte(now.Add(time.Duration(secs) * time.Second).UTC().Format(time.RFC3339))
}

// sawNewTokens says whether the operator's status reflects the tokens connect wrote (or later ones it
// refreshed): without it, re-connecting an account that was Ready on its old tokens would report Ready at
// once, before the operator read the new Secret.
func (c *connectOptions) sawNewTokens(aq *v1alpha1.AccountQuota) bool {
	if c.issuedExpiry.IsZero() {
		return true // TikTok gave no lifetime: nothing to compare
	}
	t := aq.Status.Token
	return t != nil && t.AccessTokenExpiresAt != nil && !t.AccessTokenExpiresAt.Time.Before(c.issuedExpiry)
}

// waitReady polls the AccountQuota until the operator reports it Ready, then prints the creator.
func (c *connectOptions) waitReady(ctx context.Context, kc client.Client, ns string) error {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var last *metav1.Condition
	for {
		aq := &v1alpha1.AccountQuota{}
		if err := kc.Get(ctx, types.NamespacedName{Namespace: ns, Name: c.account}, aq); err == nil {
			last = meta.FindStatusCondition(aq.Status.Conditions, v1alpha1.ConditionReady)
			if last != nil && last.Status == metav1.ConditionTrue && aq.Status.ObservedGeneration == aq.Generation &&
				aq.Status.Creator != nil && c.sawNewTokens(aq) {
				cr := aq.Status.Creator
				c.printf("AccountQuota %s/%s is Ready: creator @%s", ns, c.account, cr.Username)
				if cr.Nickname != "" {
					c.printf(" (%s)", cr.Nickname)
				}
				c.printf("\nPrivacy levels TikTok allows: %s\n", strings.Join(cr.PrivacyLevelOptions, ", "))
				return nil
			}
		}
		select {
		case <-ctx.Done():
			state := "no Ready condition yet (is the operator running and watching this namespace?)"
			if last != nil {
				state = fmt.Sprintf("Ready=%s, reason %s: %s", last.Status, last.Reason, last.Message)
			}
			return fmt.Errorf("the Secret and AccountQuota %s/%s are written, but the account is not Ready within --timeout %s: %s "+
				"(kubectl describe accountquota %s -n %s)", ns, c.account, c.timeout, state, c.account, ns)
		case <-tick.C:
		}
	}
}
