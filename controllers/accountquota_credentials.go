package controllers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktok"
)

// errNoCredentials means the account's tokens are not loaded (yet): the AccountQuota has not been
// reconciled, or its Secret is missing or unusable. Posts wait for the account.
var errNoCredentials = errors.New("the account's credentials are not loaded")

// errTokenRefused means TikTok refused the account's access token and the account has not refreshed it
// yet: posts wait for the account's reconcile instead of spending calls on a token known to be refused.
var errTokenRefused = errors.New("TikTok refused the account's access token; waiting for its refresh")

// notLoaded says the account's credentials are not in memory: they are loaded from the Secret.
func notLoaded(err error) bool { return errors.Is(err, errNoCredentials) }

// errRefreshInFlight means another refresh of the account is under way: one at a time per account.
var errRefreshInFlight = errors.New("a token refresh of this account is already in flight")

// errSecretNotLabelled refuses a write into a Secret that does not carry the credentials label: the
// label is the owner's consent to the operator writing the Secret, checked on the live object.
var errSecretNotLabelled = fmt.Errorf("the Secret does not carry the label %s=%s, without which the operator writes no Secret",
	v1alpha1.CredentialsLabel, v1alpha1.CredentialsLabelValue)

// errSecretReplaced refuses a write into a Secret that was deleted and created again since the tokens
// were refreshed from it: the new Secret is another grant.
var errSecretReplaced = errors.New("the Secret was deleted and created again since these tokens were refreshed from it")

// assumedAccessTokenLifetime is the lifetime taken for an access token when TikTok's refresh answer has
// no expires_in: conservative (TikTok documents 24 h), so the token is refreshed at TokenRefreshFraction
// of 2 h (96 min by default) rather than at once and then again on every reconcile. The assumed expiry is
// recorded in the Secret and the status like a real one.
const assumedAccessTokenLifetime = 2 * time.Hour

// tokenStore keeps every account's tokens in memory. The Secret is the durable copy; a refreshed pair
// lives here until the Secret holds it and is never dropped: TikTok may rotate refresh tokens (the old
// one stops working once a new one is issued), so losing the new pair loses the account.
type tokenStore struct {
	mu       sync.Mutex
	accounts map[accountKey]*accountTokens
}

// accountTokens is one account's credentials. Its mutex guards the fields only and is never held over a
// call to TikTok or the API server: a refresh snapshots what it needs, calls and writes without it, and
// publishes the result under it, so the posts of an account whose token endpoint stalls are never held
// (they read the token in use, or wait for the account), and neither is any worker. The refreshing flag
// keeps one refresh per account in flight.
type accountTokens struct {
	mu sync.Mutex
	// secret is the Secret (name and UID) the credentials were last loaded from.
	secret       secretID
	clientKey    string
	clientSecret tiktok.ClientSecret
	current      tokenPair
	// pending is a refreshed pair that its Secret does not hold yet; it is used only once written.
	pending *tokenPair
	// orphans are refreshed, unwritten pairs of Secrets the account no longer uses
	// (spec.credentialsSecretRef changed, or the Secret was created again): each goes back to its own
	// Secret if that still exists, or is dropped; never into another.
	orphans []*tokenPair
	// invalid is set when TikTok refused current.access (access_token_invalid): refresh at once.
	invalid bool
	// refreshing is set while a refresh (the call to TikTok and the Secret write) is under way.
	refreshing bool
}

// secretID names one incarnation of a Secret: a Secret deleted and created again under the same name has
// another UID.
type secretID struct {
	types.NamespacedName
	UID types.UID
}

func (id secretID) String() string { return id.Name }

// tokenPair is one generation of tokens and their expiry times (zero when unknown).
type tokenPair struct {
	access           tiktok.AccessToken
	refresh          tiktok.RefreshToken
	accessExpiresAt  time.Time
	refreshExpiresAt time.Time
	issuedAt         time.Time
	// from is the Secret whose refresh token this pair was obtained with: the only Secret it may be
	// written to (zero for a pair read from a Secret).
	from secretID
}

func newTokenStore() *tokenStore { return &tokenStore{accounts: map[accountKey]*accountTokens{}} }

func (s *tokenStore) get(acct accountKey) *accountTokens {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accounts[acct]
}

func (s *tokenStore) forget(acct accountKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.accounts, acct)
}

// load takes the credentials from the account's Secret. A pending (refreshed, unwritten) pair wins over
// the Secret, which is older; otherwise a token a human put in the Secret replaces ours.
func (s *tokenStore) load(acct accountKey, sec *corev1.Secret, issuedAt time.Time) (*accountTokens, error) {
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
	a := s.accounts[acct]
	if a == nil {
		a = &accountTokens{}
		s.accounts[acct] = a
	}
	s.mu.Unlock()

	a.mu.Lock()
	defer a.mu.Unlock()
	id := secretID{NamespacedName: types.NamespacedName{Namespace: sec.Namespace, Name: sec.Name}, UID: sec.UID}
	if a.pending != nil && a.pending.from != id {
		// The account uses another Secret now, or its Secret was created again: the unwritten pair belongs
		// to the Secret it was refreshed from (the account's reconcile writes it there or drops it).
		a.orphans = append(a.orphans, a.pending)
		a.pending = nil
	}
	a.secret = id
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
func (s *tokenStore) access(acct accountKey) (tiktok.AccessToken, error) {
	a := s.get(acct)
	if a == nil {
		return "", errNoCredentials
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.current.access == "" {
		return "", errNoCredentials
	}
	if a.invalid {
		return "", errTokenRefused
	}
	return a.current.access, nil
}

// invalidate records that TikTok refused tok, so the next account reconcile refreshes at once. A token
// that was already replaced is ignored.
func (s *tokenStore) invalidate(acct accountKey, tok tiktok.AccessToken) {
	if a := s.get(acct); a != nil {
		a.mu.Lock()
		if a.current.access == tok {
			a.invalid = true
		}
		a.mu.Unlock()
	}
}

// refreshDue says when the access token should be refreshed: at once when it was refused or has no known
// expiry, else after fraction of its lifetime; in any case not sooner than minInterval after the last
// refresh (a refused token, or one issued with a tiny lifetime, must not make the operator refresh, and
// write the Secret, on every reconcile). A pair waiting to be written is due at once: writing it calls
// no TikTok endpoint.
func (a *accountTokens) refreshDue(now time.Time, fraction float64, minInterval time.Duration) time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.current
	if a.pending != nil {
		return now
	}
	var due time.Time
	switch {
	case a.invalid || p.accessExpiresAt.IsZero():
		due = now
	case p.issuedAt.IsZero() || !p.issuedAt.Before(p.accessExpiresAt):
		// Lifetime unknown: refresh when (1-fraction) of the conservative assumed lifetime remains.
		due = p.accessExpiresAt.Add(-time.Duration((1 - fraction) * float64(assumedAccessTokenLifetime)).Round(time.Millisecond))
	default:
		life := p.accessExpiresAt.Sub(p.issuedAt)
		due = p.issuedAt.Add(time.Duration(fraction * float64(life)).Round(time.Millisecond))
	}
	if !p.issuedAt.IsZero() {
		if floor := p.issuedAt.Add(minInterval); due.Before(floor) {
			due = floor
		}
	}
	return due
}

// usable says whether the access token in use may still serve at now: TikTok has not refused it, and it
// has not expired (an unknown expiry counts as not expired). One look under the account's own lock, so
// the answer is never half of one state and half of another.
func (a *accountTokens) usable(now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	exp := a.current.accessExpiresAt
	return !a.invalid && (exp.IsZero() || now.Before(exp))
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
// Secret it was refreshed from before it becomes the pair in use. now stamps the new expiry times. No lock
// is held over the call to TikTok or the Secret write; a second refresh of the account while one is in
// flight returns errRefreshInFlight at once.
func (a *accountTokens) refresh(ctx context.Context, tt *tiktok.Client, c client.Client, live client.Reader,
	now func() time.Time) error {
	a.mu.Lock()
	if a.refreshing {
		a.mu.Unlock()
		return errRefreshInFlight
	}
	a.refreshing = true
	p := a.pending
	req := tiktok.RefreshRequest{ClientKey: a.clientKey, ClientSecret: a.clientSecret, RefreshToken: a.current.refresh}
	from, prev := a.secret, a.current
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		a.refreshing = false
		a.mu.Unlock()
	}()

	if p == nil {
		tok, err := tt.RefreshToken(ctx, req)
		if err != nil {
			return err
		}
		p = newPair(tok, now(), prev, from)
		a.mu.Lock()
		if a.secret == from {
			a.pending = p
		} else {
			// The account was pointed at another Secret during the call: the pair is the old Secret's.
			a.orphans = append(a.orphans, p)
		}
		a.mu.Unlock()
	}
	err := writeSecret(ctx, c, live, *p)
	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil {
		return &secretWriteError{err: err}
	}
	if a.pending == p {
		a.current, a.pending, a.invalid = *p, nil, false
	} else {
		a.orphans = slices.DeleteFunc(a.orphans, func(o *tokenPair) bool { return o == p })
	}
	return nil
}

// newPair is the pair TikTok issued at `at`, refreshed from Secret from whose pair was prev.
func newPair(tok *tiktok.Token, at time.Time, prev tokenPair, from secretID) *tokenPair {
	p := &tokenPair{access: tok.AccessToken, refresh: tok.RefreshToken, issuedAt: at, from: from}
	if p.refresh == "" {
		// TikTok did not rotate: the old refresh token stays valid.
		p.refresh, p.refreshExpiresAt = prev.refresh, prev.refreshExpiresAt
	}
	life := assumedAccessTokenLifetime // no expires_in: see assumedAccessTokenLifetime
	if tok.ExpiresIn > 0 {
		life = time.Duration(tok.ExpiresIn) * time.Second
	}
	p.accessExpiresAt = at.Add(life)
	if tok.RefreshExpiresIn > 0 {
		p.refreshExpiresAt = at.Add(time.Duration(tok.RefreshExpiresIn) * time.Second)
	}
	return p
}

// orphanOutcome is what became of a pair whose Secret the account no longer uses.
type orphanOutcome struct {
	from    secretID
	written bool
	// why is the reason it was dropped (when not written).
	why error
}

// settleOrphans writes each orphaned pair into the Secret it was refreshed from, or drops it when that
// Secret is gone, was created again or lost its label. A pair whose write fails otherwise is kept for the
// next reconcile.
func (a *accountTokens) settleOrphans(ctx context.Context, c client.Client, live client.Reader) []orphanOutcome {
	a.mu.Lock()
	orphans := slices.Clone(a.orphans)
	a.mu.Unlock()
	var out []orphanOutcome
	done := make([]*tokenPair, 0, len(orphans))
	for _, o := range orphans {
		err := writeSecret(ctx, c, live, *o)
		switch {
		case err == nil:
			out = append(out, orphanOutcome{from: o.from, written: true})
		case apierrors.IsNotFound(err), errors.Is(err, errSecretReplaced), errors.Is(err, errSecretNotLabelled):
			if apierrors.IsNotFound(err) {
				err = errors.New("the Secret no longer exists")
			}
			out = append(out, orphanOutcome{from: o.from, why: err})
		default:
			continue // kept: tried again on the next reconcile
		}
		done = append(done, o)
	}
	a.mu.Lock()
	a.orphans = slices.DeleteFunc(a.orphans, func(o *tokenPair) bool { return slices.Contains(done, o) })
	a.mu.Unlock()
	return out
}

// writeSecret stores p in the Secret it was refreshed from, reading it live and retrying on conflicts
// (someone else may edit the Secret's other keys or labels at the same time). The live object must be the
// same Secret (its UID) and carry the credentials label: the cache only filters by the label, and the
// label may have been removed since the cache saw it.
func writeSecret(ctx context.Context, c client.Client, live client.Reader, p tokenPair) error {
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		sec := &corev1.Secret{}
		if err := live.Get(ctx, p.from.NamespacedName, sec); err != nil {
			return err
		}
		if p.from.UID != "" && sec.UID != p.from.UID {
			return errSecretReplaced
		}
		if sec.Labels[v1alpha1.CredentialsLabel] != v1alpha1.CredentialsLabelValue {
			return errSecretNotLabelled
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
