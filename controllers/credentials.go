package controllers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktok"
)

// errNoCredentials means the account's tokens are not loaded (yet): the AccountQuota has not been
// reconciled, or its Secret is missing or unusable. Posts wait for the account.
var errNoCredentials = errors.New("the account's credentials are not loaded")

// tokenStore keeps every account's tokens in memory. The Secret is the durable copy; a refreshed pair
// lives here until the Secret holds it and is never dropped: TikTok may rotate refresh tokens (the old
// one stops working once a new one is issued), so losing the new pair loses the account.
type tokenStore struct {
	mu       sync.Mutex
	accounts map[string]*accountTokens
}

// accountTokens is one account's credentials. Its mutex serialises refreshes, so two reconciles that
// both see an expired token refresh once.
type accountTokens struct {
	mu           sync.Mutex
	secret       types.NamespacedName
	clientKey    string
	clientSecret tiktok.ClientSecret
	current      tokenPair
	// pending is a refreshed pair the Secret does not hold yet; it is used only once written.
	pending *tokenPair
	// invalid is set when TikTok refused current.access (access_token_invalid): refresh at once.
	invalid bool
}

// tokenPair is one generation of tokens and their expiry times (zero when unknown).
type tokenPair struct {
	access           tiktok.AccessToken
	refresh          tiktok.RefreshToken
	accessExpiresAt  time.Time
	refreshExpiresAt time.Time
	issuedAt         time.Time
}

func newTokenStore() *tokenStore { return &tokenStore{accounts: map[string]*accountTokens{}} }

func (s *tokenStore) get(key string) *accountTokens {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accounts[key]
}

func (s *tokenStore) forget(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.accounts, key)
}

// load takes the credentials from the account's Secret. A pending (refreshed, unwritten) pair wins over
// the Secret, which is older; otherwise a token a human put in the Secret replaces ours.
func (s *tokenStore) load(key string, sec *corev1.Secret, issuedAt time.Time) (*accountTokens, error) {
	d := sec.Data
	missing := []string{}
	for _, k := range []string{v1alpha1.SecretKeyClientKey, v1alpha1.SecretKeyClientSecret,
		v1alpha1.SecretKeyAccessToken, v1alpha1.SecretKeyRefreshToken} {
		if len(d[k]) == 0 {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("secret %s lacks the keys %v", sec.Name, missing)
	}
	s.mu.Lock()
	a := s.accounts[key]
	if a == nil {
		a = &accountTokens{}
		s.accounts[key] = a
	}
	s.mu.Unlock()

	a.mu.Lock()
	defer a.mu.Unlock()
	a.secret = types.NamespacedName{Namespace: sec.Namespace, Name: sec.Name}
	a.clientKey = string(d[v1alpha1.SecretKeyClientKey])
	a.clientSecret = tiktok.ClientSecret(d[v1alpha1.SecretKeyClientSecret])
	fromSecret := tokenPair{
		access:           tiktok.AccessToken(d[v1alpha1.SecretKeyAccessToken]),
		refresh:          tiktok.RefreshToken(d[v1alpha1.SecretKeyRefreshToken]),
		accessExpiresAt:  parseTime(d[v1alpha1.SecretKeyAccessTokenExpiresAt]),
		refreshExpiresAt: parseTime(d[v1alpha1.SecretKeyRefreshTokenExpiresAt]),
		issuedAt:         issuedAt,
	}
	if a.pending != nil && a.pending.refresh == fromSecret.refresh {
		// The Secret caught up with our write.
		a.current, a.pending, a.invalid = *a.pending, nil, false
		return a, nil
	}
	if a.pending == nil && (fromSecret.access != a.current.access || fromSecret.refresh != a.current.refresh) {
		if a.current.access != fromSecret.access {
			a.invalid = false
		}
		if fromSecret.issuedAt.IsZero() || a.current.access == fromSecret.access {
			fromSecret.issuedAt = a.current.issuedAt
		}
		a.current = fromSecret
	}
	return a, nil
}

// access returns the account's usable access token.
func (s *tokenStore) access(key string) (tiktok.AccessToken, error) {
	a := s.get(key)
	if a == nil {
		return "", errNoCredentials
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.current.access == "" {
		return "", errNoCredentials
	}
	return a.current.access, nil
}

// invalidate records that TikTok refused tok, so the next account reconcile refreshes at once. A token
// that was already replaced is ignored.
func (s *tokenStore) invalidate(key string, tok tiktok.AccessToken) {
	if a := s.get(key); a != nil {
		a.mu.Lock()
		if a.current.access == tok {
			a.invalid = true
		}
		a.mu.Unlock()
	}
}

// refreshDue says when the access token should be refreshed: at once when it was refused, has no known
// expiry, or a pair waits to be written; else after fraction of its lifetime.
func (a *accountTokens) refreshDue(now time.Time, fraction float64) time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.current
	if a.invalid || a.pending != nil || p.accessExpiresAt.IsZero() {
		return now
	}
	if p.issuedAt.IsZero() || !p.issuedAt.Before(p.accessExpiresAt) {
		// Lifetime unknown: refresh when (1-fraction) of a conservative 2 h lifetime remains.
		return p.accessExpiresAt.Add(-time.Duration((1 - fraction) * float64(2*time.Hour)).Round(time.Millisecond))
	}
	life := p.accessExpiresAt.Sub(p.issuedAt)
	return p.issuedAt.Add(time.Duration(fraction * float64(life)).Round(time.Millisecond))
}

// snapshot returns the current pair's public facts for the AccountQuota status.
func (a *accountTokens) snapshot() tokenPair {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.current
	p.access, p.refresh = "", ""
	return p
}

// secretWriteError means TikTok issued new tokens but the Secret could not be written; the pair is kept
// in memory and written again on the next reconcile.
type secretWriteError struct{ err error }

func (e *secretWriteError) Error() string {
	return "writing the refreshed tokens to the Secret: " + e.err.Error()
}
func (e *secretWriteError) Unwrap() error { return e.err }

// refresh obtains a new token pair (unless one already waits to be written) and persists it to the
// Secret before it becomes the pair in use. now stamps the new expiry times.
func (a *accountTokens) refresh(ctx context.Context, tt *tiktok.Client, c client.Client, live client.Reader,
	now func() time.Time) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.pending == nil {
		tok, err := tt.RefreshToken(ctx, tiktok.RefreshRequest{
			ClientKey: a.clientKey, ClientSecret: a.clientSecret, RefreshToken: a.current.refresh,
		})
		if err != nil {
			return err
		}
		at := now()
		p := tokenPair{access: tok.AccessToken, refresh: tok.RefreshToken, issuedAt: at}
		if p.refresh == "" {
			// TikTok did not rotate: the old refresh token stays valid.
			p.refresh, p.refreshExpiresAt = a.current.refresh, a.current.refreshExpiresAt
		}
		if tok.ExpiresIn > 0 {
			p.accessExpiresAt = at.Add(time.Duration(tok.ExpiresIn) * time.Second)
		}
		if tok.RefreshExpiresIn > 0 {
			p.refreshExpiresAt = at.Add(time.Duration(tok.RefreshExpiresIn) * time.Second)
		}
		a.pending = &p
	}
	if err := a.writeSecret(ctx, c, live, *a.pending); err != nil {
		return &secretWriteError{err: err}
	}
	a.current, a.pending, a.invalid = *a.pending, nil, false
	return nil
}

// writeSecret stores p in the Secret, reading it live and retrying on conflicts (someone else may edit
// the Secret's other keys or labels at the same time).
func (a *accountTokens) writeSecret(ctx context.Context, c client.Client, live client.Reader, p tokenPair) error {
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		sec := &corev1.Secret{}
		if err := live.Get(ctx, a.secret, sec); err != nil {
			return err
		}
		if sec.Data == nil {
			sec.Data = map[string][]byte{}
		}
		sec.Data[v1alpha1.SecretKeyAccessToken] = []byte(p.access)
		sec.Data[v1alpha1.SecretKeyRefreshToken] = []byte(p.refresh)
		setTime(sec.Data, v1alpha1.SecretKeyAccessTokenExpiresAt, p.accessExpiresAt)
		setTime(sec.Data, v1alpha1.SecretKeyRefreshTokenExpiresAt, p.refreshExpiresAt)
		return c.Update(ctx, sec)
	})
}

func setTime(d map[string][]byte, k string, t time.Time) {
	if t.IsZero() {
		delete(d, k)
		return
	}
	d[k] = []byte(t.UTC().Format(time.RFC3339))
}

func parseTime(b []byte) time.Time {
	if len(b) == 0 {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, string(b))
	if err != nil {
		return time.Time{}
	}
	return t
}
