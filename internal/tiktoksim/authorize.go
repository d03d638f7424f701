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

package tiktoksim

import (
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Login Kit (login-kit-desktop, login-kit-web): GET /v2/auth/authorize/ is the consent page a creator sees
// in the browser; its form posts the creator's decision back to the same path, which redirects to the
// app's redirect_uri with a one-time code (or error=access_denied) and the app's state. The code is
// exchanged at /v2/oauth/token/ with grant_type=authorization_code (authorize_token.go).

// AuthorizePath is where TikTok's authorize page lives (on www.tiktok.com; the simulator serves it on its
// one host).
const AuthorizePath = "/v2/auth/authorize/"

// defaultAppScopes are the scopes an app without a Scopes list may ask for.
var defaultAppScopes = []string{"user.info.basic", "video.publish", "video.upload"}

const (
	// consentTTL is how long a consent page can be answered; codeTTL how long a code can be exchanged.
	// TikTok publishes neither; the simulator keeps both short, as OAuth advises (RFC 6749 4.1.2).
	consentTTL = 10 * time.Minute
	codeTTL    = 10 * time.Minute
)

// loginKit is the simulator's Login Kit state, under Server.mu.
type loginKit struct {
	consents map[string]*consent  // by the consent page's id
	codes    map[string]*authCode // by code; a code is removed when first presented
}

// consent is an authorize request that passed its checks and waits for the creator's decision.
type consent struct {
	app         *App
	redirectURI string
	state       string
	scopes      []string
	challenge   string
	creators    []string
	expires     time.Time
}

// authCode is an issued code, good for one exchange.
type authCode struct {
	account     *account
	clientKey   string
	redirectURI string
	challenge   string
	scopes      []string
	expires     time.Time
}

func (s *Server) app(clientKey string) *App {
	for i := range s.cfg.Apps {
		if s.cfg.Apps[i].ClientKey == clientKey {
			return &s.cfg.Apps[i]
		}
	}
	return nil
}

// serveAuthorize is GET (the consent page) and POST (the creator's decision) on AuthorizePath.
func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		s.authorizePage(w, r)
	case http.MethodPost:
		s.authorizeDecision(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		errorPage(w, http.StatusMethodNotAllowed, "method", "GET or POST")
	}
}

// authorizePage checks the request as TikTok does and shows the consent page. A request TikTok would refuse
// gets its error page naming the parameter to correct ("correct the following: redirect_uri"), and no
// redirect: an unchecked redirect_uri is never sent anything.
func (s *Server) authorizePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	now := s.now()
	app := s.app(q.Get("client_key"))
	field, detail := "", ""
	scopes := splitScopes(q.Get("scope"))
	switch {
	case app == nil:
		field, detail = "client_key", "no app has this client key"
	case q.Get("redirect_uri") == "" || !app.redirectAllowed(q.Get("redirect_uri")):
		field, detail = "redirect_uri", "not one of the app's registered redirect URIs"
	case q.Get("response_type") != "code":
		field, detail = "response_type", "must be code"
	case len(scopes) == 0 || !subset(scopes, appScopes(app)):
		field, detail = "scope", "empty, or a scope the app may not ask for"
	case q.Get("state") == "":
		field, detail = "state", "required"
	case q.Get("code_challenge") == "":
		field, detail = "code_challenge", "required"
	case q.Get("code_challenge_method") != "S256":
		field, detail = "code_challenge_method", "must be S256"
	}
	var c *consent
	var id string
	if field == "" {
		c = &consent{app: app, redirectURI: q.Get("redirect_uri"), state: q.Get("state"), scopes: scopes,
			challenge: q.Get("code_challenge"), creators: s.creatorsOf(app), expires: now.Add(consentTTL)}
		if len(c.creators) == 0 {
			field, detail = "client_key", "no creator is signed in for this app (sim config: apps[].creators)"
		} else {
			id = s.randomToken("consent.")
			s.login.consents[id] = c
		}
	}
	s.mu.Unlock()
	if field != "" {
		errorPage(w, http.StatusBadRequest, field, detail)
		return
	}
	writeHTML(w, http.StatusOK, pageConsent, map[string]any{
		"ID": id, "Action": AuthorizePath, "Creators": c.creators, "Scopes": c.scopes, "ClientKey": app.ClientKey,
	})
}

// authorizeDecision takes the consent form: decision=authorize redirects with a code, anything else with
// error=access_denied. A consent answers once.
func (s *Server) authorizeDecision(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	form, perr := parseForm(body, err)
	if perr != nil || !isMediaType(r, "application/x-www-form-urlencoded") {
		errorPage(w, http.StatusBadRequest, "form", "want the consent form")
		return
	}
	s.mu.Lock()
	now := s.now()
	c := s.login.consents[form.Get("consent_id")]
	delete(s.login.consents, form.Get("consent_id"))
	if c == nil || !now.Before(c.expires) {
		s.mu.Unlock()
		errorPage(w, http.StatusBadRequest, "consent_id",
			"this consent page expired or was answered already: start the sign-in again")
		return
	}
	q := url.Values{"state": {c.state}}
	handle := form.Get("creator")
	switch {
	case form.Get("decision") != "authorize":
		q.Set("error", "access_denied")
		q.Set("error_description", "The user denied the authorization.")
	case !slices.Contains(c.creators, handle):
		s.mu.Unlock()
		errorPage(w, http.StatusBadRequest, "creator", "not a creator signed in")
		return
	default:
		code := s.randomToken("code.")
		s.login.codes[code] = &authCode{account: s.accountFor(c.app, handle), clientKey: c.app.ClientKey,
			redirectURI: c.redirectURI, challenge: c.challenge, scopes: c.scopes, expires: now.Add(codeTTL)}
		q.Set("code", code)
		q.Set("scopes", strings.Join(c.scopes, ","))
	}
	s.mu.Unlock()
	http.Redirect(w, r, c.redirectURI+"?"+q.Encode(), http.StatusFound)
}

// creatorsOf lists the handles offered on the app's consent page. Callers hold s.mu.
func (s *Server) creatorsOf(app *App) []string {
	if len(app.Creators) > 0 {
		return app.Creators
	}
	var out []string
	for _, a := range s.acct {
		if a.ClientKey == app.ClientKey {
			out = append(out, a.Creator.Username)
		}
	}
	slices.Sort(out)
	return out
}

// accountFor is the app's account of the creator with this handle, created on the creator's first
// authorization. Callers hold s.mu.
func (s *Server) accountFor(app *App, handle string) *account {
	for _, a := range s.acct {
		if a.ClientKey == app.ClientKey && a.Creator.Username == handle {
			return a
		}
	}
	name := handle
	if _, taken := s.acct[name]; taken || name == unknownAccount {
		name = handle + "@" + app.ClientKey
	}
	a := &account{Account: Account{
		Name: name, ClientKey: app.ClientKey, ClientSecret: app.ClientSecret, OpenID: s.randomToken("open."),
		Creator: CreatorInfo{Username: handle, Nickname: handle, PrivacyLevelOptions: allPrivacy, MaxVideoPostDurationSec: 600},
	}, seen: map[string]*timeLog{}}
	s.acct[name] = a
	return a
}

func appScopes(app *App) []string {
	if len(app.Scopes) > 0 {
		return app.Scopes
	}
	return defaultAppScopes
}

// splitScopes reads TikTok's comma-separated scope list.
func splitScopes(v string) []string {
	var out []string
	for _, sc := range strings.Split(v, ",") {
		if sc = strings.TrimSpace(sc); sc != "" && !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out
}

func subset(a, of []string) bool {
	for _, x := range a {
		if !slices.Contains(of, x) {
			return false
		}
	}
	return true
}

// The consent page: the creator's handle (a choice when several are signed in), the scopes, and a plain
// form with an Authorize and a Deny button, so a browser and a test over HTTP answer it alike.
var pageConsent = template.Must(template.New("consent").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Authorize {{.ClientKey}} - tiktok-sim</title></head>
<body>
<h1>tiktok-sim: authorize an app</h1>
<p>The app <code>{{.ClientKey}}</code> asks to act on your TikTok account with these scopes:</p>
<ul>{{range .Scopes}}<li id="scope-{{.}}">{{.}}</li>{{end}}</ul>
<form id="consent" method="post" action="{{.Action}}">
<input type="hidden" name="consent_id" value="{{.ID}}">
<label>Signed in as <select name="creator" id="creator">
{{range $i, $c := .Creators}}<option value="{{$c}}"{{if eq $i 0}} selected{{end}}>@{{$c}}</option>
{{end}}</select></label>
<button type="submit" id="authorize" name="decision" value="authorize">Authorize</button>
<button type="submit" id="deny" name="decision" value="deny">Deny</button>
</form>
</body></html>
`))

// The error page TikTok shows for a request it refuses: the parameter to correct, no redirect.
var pageError = template.Must(template.New("error").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Something went wrong - tiktok-sim</title></head>
<body>
<h1>Something went wrong</h1>
<p>If you're a developer, correct the following and try again: <code id="field">{{.Field}}</code> ({{.Detail}})</p>
</body></html>
`))

// errorPage answers with the error page naming the parameter to correct.
func errorPage(w http.ResponseWriter, status int, field, detail string) {
	writeHTML(w, status, pageError, map[string]string{"Field": field, "Detail": detail})
}

func writeHTML(w http.ResponseWriter, status int, t *template.Template, data any) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = t.Execute(w, data)
}
