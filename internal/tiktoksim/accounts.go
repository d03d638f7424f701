package tiktoksim

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"
)

// unknownAccount is the statistics key of calls whose token matches no account.
const unknownAccount = "(unknown)"

var allPrivacy = []string{"PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY"}

// AddAccount registers an account. Empty client key, secret, open id or tokens are generated; the
// returned Account holds the values in force (its tokens are valid for the configured lifetimes from now).
func (s *Server) AddAccount(a Account) (Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.Name == "" || a.Name == unknownAccount {
		return Account{}, fmt.Errorf("add account: invalid name %q", a.Name)
	}
	if _, dup := s.acct[a.Name]; dup {
		return Account{}, fmt.Errorf("add account %s: already exists", a.Name)
	}
	if a.ClientKey == "" {
		a.ClientKey = "sim-client-key"
	}
	if a.ClientSecret == "" {
		a.ClientSecret = s.randomToken("cs.")
	}
	if a.OpenID == "" {
		a.OpenID = s.randomToken("open.")
	}
	if a.AccessToken == "" {
		a.AccessToken = s.randomToken("act.")
	}
	if a.RefreshToken == "" {
		a.RefreshToken = s.randomToken("rft.")
	}
	if _, taken := s.access[a.AccessToken]; taken {
		return Account{}, fmt.Errorf("add account %s: access token already in use", a.Name)
	}
	if _, taken := s.refresh[a.RefreshToken]; taken {
		return Account{}, fmt.Errorf("add account %s: refresh token already in use", a.Name)
	}
	if len(a.Creator.PrivacyLevelOptions) == 0 {
		a.Creator.PrivacyLevelOptions = allPrivacy
	}
	if a.Creator.MaxVideoPostDurationSec == 0 {
		a.Creator.MaxVideoPostDurationSec = 600
	}
	if a.Creator.Username == "" {
		a.Creator.Username = a.Name
	}
	acc := &account{Account: a, seen: map[string]*timeLog{}}
	s.acct[a.Name] = acc
	now := s.now()
	s.access[a.AccessToken] = &tokenRec{account: acc, expires: now.Add(s.cfg.AccessTokenTTL.D())}
	s.refresh[a.RefreshToken] = &tokenRec{account: acc, expires: now.Add(s.cfg.RefreshTokenTTL.D())}
	return a, nil
}

// AccountInfo is an account as /sim/accounts lists it: no secrets.
type AccountInfo struct {
	Name      string      `json:"name"`
	ClientKey string      `json:"client_key"`
	OpenID    string      `json:"open_id"`
	Creator   CreatorInfo `json:"creator"`
	Banned    bool        `json:"banned"`
}

// Accounts lists the accounts, by name, without their secrets.
func (s *Server) Accounts() []AccountInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]AccountInfo, 0, len(s.acct))
	for _, a := range s.acct {
		out = append(out, AccountInfo{Name: a.Name, ClientKey: a.ClientKey, OpenID: a.OpenID, Creator: a.Creator, Banned: a.Banned})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Tokens returns the newest access and refresh tokens of an account (after refreshes and rotations).
func (s *Server) Tokens(name string) (accessToken, refreshToken string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.acct[name]
	if !ok {
		return "", "", fmt.Errorf("tokens: no account %q", name)
	}
	return a.AccessToken, a.RefreshToken, nil
}

// Ban makes the account's posts fail with spam_risk_user_banned_from_posting (or lifts it).
func (s *Server) Ban(name string, banned bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.acct[name]
	if !ok {
		return fmt.Errorf("ban: no account %q", name)
	}
	a.Banned = banned
	return nil
}

// ExpireAccessTokens ends every access token of the account now (refresh tokens keep working).
func (s *Server) ExpireAccessTokens(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.acct[name]
	if !ok {
		return fmt.Errorf("expire tokens: no account %q", name)
	}
	now := s.now()
	for _, rec := range s.access {
		if rec.account == a && rec.expires.After(now) {
			rec.expires = now
		}
	}
	return nil
}

func (s *Server) randomToken(prefix string) string {
	return fmt.Sprintf("%s%016x%016x", prefix, s.rng.Uint64(), s.rng.Uint64())
}

// serveOAuth is POST /v2/oauth/token/ with grant_type=refresh_token or authorization_code (authorize_token.go),
// form-encoded only. Errors use
// OAuth's shape ({"error": "invalid_grant", "error_description": ..., "log_id": ...}) with HTTP 200 by
// default, as client authors report TikTok answers (Config.OAuthErrorStatus "http" gives 400/401).
func (s *Server) serveOAuth(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	s.mu.Lock()
	now := s.now()
	logID := s.newLogID(now)
	httpStatuses := s.cfg.OAuthErrorStatus == OAuthErrorStatusHTTP
	oauthErr := func(status int, code, desc string) reply {
		if !httpStatuses {
			status = http.StatusOK
		}
		return reply{status: status, body: oauthErrBody(code, desc, logID)}
	}
	var rep reply
	var acctName = unknownAccount
	form, perr := parseForm(body, err)
	f := s.drawFaults(EndpointOAuthToken)
	switch {
	case f.serverError:
		rep = reply{status: http.StatusInternalServerError, body: oauthErrBody("server_error", "simulated", logID)}
	case f.errorBody200:
		rep = reply{status: http.StatusOK, body: oauthErrBody("temporarily_unavailable", "simulated", logID)}
	case r.Method != http.MethodPost:
		rep = oauthErr(http.StatusBadRequest, "invalid_request", "method must be POST")
	case !isMediaType(r, "application/x-www-form-urlencoded") || perr != nil:
		rep = oauthErr(http.StatusBadRequest, "invalid_request", "want an application/x-www-form-urlencoded body")
	case form.Get("grant_type") == "":
		rep = oauthErr(http.StatusBadRequest, "invalid_request", "grant_type is missing")
	case form.Get("grant_type") == "authorization_code":
		rep, acctName = s.exchangeCode(form, now, oauthErr)
	case form.Get("grant_type") != "refresh_token":
		rep = oauthErr(http.StatusBadRequest, "unsupported_grant_type", "only refresh_token and authorization_code are simulated")
	default:
		rec := s.refresh[form.Get("refresh_token")]
		switch {
		case rec == nil || !now.Before(rec.expires):
			rep = oauthErr(http.StatusBadRequest, "invalid_grant", "refresh token is invalid or expired")
		case rec.account.ClientKey != form.Get("client_key") || rec.account.ClientSecret != form.Get("client_secret"):
			acctName = rec.account.Name
			rep = oauthErr(http.StatusUnauthorized, "invalid_client", "client key or secret is wrong")
		default:
			acctName = rec.account.Name
			rep = s.issueTokens(rec, form.Get("refresh_token"), now)
		}
	}
	st := s.statsFor(acctName, EndpointOAuthToken)
	st.Calls++
	if code := replyCode(rep); code != "" {
		st.Errors[code]++
	} else {
		st.Accepted++
	}
	slow := s.cfg.Faults.SlowDelay.D()
	s.mu.Unlock()
	s.finish(w, r, rep, f, slow)
}

// issueTokens answers a good refresh: a new access token and, with rotation, a new refresh token
// that replaces the old one; its scope is what the account granted, the scopes the new token carries.
// Callers hold s.mu.
func (s *Server) issueTokens(rec *tokenRec, oldRefresh string, now time.Time) reply {
	a := rec.account
	a.AccessToken = s.randomToken("act.")
	s.access[a.AccessToken] = &tokenRec{account: a, expires: now.Add(s.cfg.AccessTokenTTL.D())}
	if s.cfg.RotateRefreshTokens {
		delete(s.refresh, oldRefresh)
		a.RefreshToken = s.randomToken("rft.")
		rec = &tokenRec{account: a, expires: now.Add(s.cfg.RefreshTokenTTL.D())}
		s.refresh[a.RefreshToken] = rec
	}
	return reply{status: http.StatusOK, body: map[string]any{
		"access_token":       a.AccessToken,
		"expires_in":         int64(s.cfg.AccessTokenTTL.D() / time.Second),
		"refresh_token":      a.RefreshToken,
		"refresh_expires_in": int64(rec.expires.Sub(now) / time.Second),
		"open_id":            a.OpenID,
		"scope":              strings.Join(grantedScopes(a), ","), // oauth: comma-separated, what the user granted
		"token_type":         "Bearer",
	}}
}

// oauthErrBody is the token endpoint's error shape: OAuth's, with TikTok's log_id.
func oauthErrBody(code, desc, logID string) map[string]any {
	return map[string]any{keyError: code, "error_description": desc, "log_id": logID}
}

// RecordForeignPosts records n direct posts (inbox shares with pending) another app of the creator made
// at at: they count against the account's daily cap (pending-share cap) as TikTok's caps count every
// app, but the simulator holds no post for them. at must not be after the simulator's clock.
func (s *Server) RecordForeignPosts(name string, n int, at time.Time, pending bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.acct[name]
	if !ok {
		return fmt.Errorf("foreign posts: no account %q", name)
	}
	l := &a.dailyLog
	if pending {
		l = &a.pendingLog
	}
	i := slices.IndexFunc(l.times, func(t time.Time) bool { return t.After(at) }) // the log stays in order
	if i < 0 {
		i = len(l.times)
	}
	l.times = slices.Insert(l.times, i, slices.Repeat([]time.Time{at}, n)...)
	return nil
}
