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
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"os/exec"
	"runtime"
	"sync"
	"time"

	"github.com/tiktok-operator/tiktok-operator/internal/tiktok"
)

// callbackPath is the redirect URI's path; the app registers http://127.0.0.1:*/callback/.
const callbackPath = "/callback/"

// run is the whole connect: checks against the cluster, the browser flow, the writes, the wait for Ready.
// Nothing is written to the cluster before TikTok has issued the tokens.
func (c *connectOptions) run(ctx context.Context) error {
	kc, err := c.Client()
	if err != nil {
		return err
	}
	ns, err := c.Namespace()
	if err != nil {
		return err
	}
	t, err := c.plan(ctx, kc, ns)
	if err != nil {
		return err
	}
	tok, err := c.authorize(ctx, t.clientSecret)
	if err != nil {
		return err
	}
	if err := c.write(ctx, kc, t, tok); err != nil {
		return err
	}
	c.printf("Wrote Secret %s/%s and AccountQuota %s/%s; waiting for the operator to report it Ready...\n",
		ns, t.secretName, ns, c.account)
	return c.waitReady(ctx, kc, ns)
}

// printf writes to the terminal; a terminal that cannot be written to is no reason to stop.
func (c *connectOptions) printf(format string, args ...any) {
	_, _ = fmt.Fprintf(c.Out, format, args...)
}

// flowResult is what the loopback listener learned from the redirect.
type flowResult struct {
	tok *tiktok.Token
	err error
}

// authorize runs Login Kit: loopback listener, PKCE, state, browser, redirect, code exchange.
func (c *connectOptions) authorize(ctx context.Context, secret tiktok.ClientSecret) (*tiktok.Token, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening on 127.0.0.1 for TikTok's redirect: %w", err)
	}
	redirectURI := fmt.Sprintf("http://%s%s", ln.Addr().String(), callbackPath)
	verifier, err := tiktok.NewCodeVerifier()
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	state := rand.Text()
	authURL := tiktok.AuthorizeURL(c.authorizeBase(), tiktok.AuthorizeRequest{
		ClientKey: c.clientKey, Scopes: c.scopes, RedirectURI: redirectURI, State: state, Verifier: verifier,
	})
	api := tiktok.New(tiktok.Options{BaseURL: c.endpoint, UserAgent: "kubectl-tiktok", Timeout: 30 * time.Second})
	done := make(chan flowResult, 1)
	h := &callback{state: state, done: done, exchange: func(ctx context.Context, code tiktok.AuthCode) (*tiktok.Token, error) {
		return api.ExchangeCode(ctx, tiktok.ExchangeRequest{ClientKey: c.clientKey, ClientSecret: secret, Code: code,
			RedirectURI: redirectURI, Verifier: verifier})
	}}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx) // lets the last page reach the browser
	}()

	c.printf("Authorize %s for the TikTok app %s in your browser:\n\n  %s\n\n", c.account, c.clientKey, authURL)
	if !c.noBrowser {
		if err := openBrowser(authURL); err != nil {
			c.printf("Could not open a browser (%v): open the URL above yourself.\n", err)
		}
	}
	c.printf("Waiting for TikTok's redirect to %s (up to %s)...\n", redirectURI, c.timeout)
	select {
	case r := <-done:
		return r.tok, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("no authorization arrived within --timeout %s: finish the consent page in the browser; "+
			"if TikTok's page asked to correct redirect_uri, register http://127.0.0.1:*/callback/ in the app's Login Kit "+
			"for Desktop settings. Nothing was written to the cluster", c.timeout)
	}
}

// callback is the loopback listener's handler: it takes the first redirect only.
type callback struct {
	state    string
	exchange func(context.Context, tiktok.AuthCode) (*tiktok.Token, error)
	done     chan<- flowResult
	once     sync.Once
	mu       sync.Mutex
	finished bool
}

func (h *callback) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != callbackPath || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock() // one redirect at a time; the first decides
	if h.finished {
		writePage(w, http.StatusConflict, "Already finished", "This sign-in has already finished. You may close this tab.")
		return
	}
	h.finished = true
	q := r.URL.Query()
	var res flowResult
	switch {
	case subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(h.state)) != 1:
		res.err = errors.New("the redirect's state does not match the one this sign-in sent (a forged or stale redirect): " +
			"nothing was written to the cluster; run kubectl tiktok connect again")
		writePage(w, http.StatusBadRequest, "Sign-in refused", "The redirect does not belong to this sign-in (state mismatch). "+
			"Nothing was changed. Run kubectl tiktok connect again.")
	case q.Get("error") != "":
		res.err = fmt.Errorf("TikTok answered error=%s (%s): the creator did not authorize the app; nothing was written to the cluster",
			truncateText(q.Get("error"), 64), truncateText(q.Get("error_description"), 200))
		writePage(w, http.StatusOK, "Not authorized",
			"The app was not authorized ("+q.Get("error")+"). Nothing was changed. You may close this tab.")
	case q.Get("code") == "":
		res.err = errors.New("TikTok's redirect carried neither a code nor an error: nothing was written to the cluster")
		writePage(w, http.StatusBadRequest, "Sign-in failed", "The redirect carried no authorization code. Nothing was changed.")
	default:
		res.tok, res.err = h.exchange(r.Context(), tiktok.AuthCode(q.Get("code")))
		if res.err != nil {
			res.err = fmt.Errorf("TikTok refused the authorization code: %w; nothing was written to the cluster, "+
				"run kubectl tiktok connect again", res.err)
			writePage(w, http.StatusBadGateway, "Sign-in failed", "TikTok refused the authorization code. Nothing was changed. "+
				"See the terminal for the reason, and run kubectl tiktok connect again.")
		} else {
			writePage(w, http.StatusOK, "Authorized", "The account is authorized: kubectl tiktok connect finishes the setup "+
				"in your terminal. You may close this tab.")
		}
	}
	h.once.Do(func() { h.done <- res })
}

var pageDone = template.Must(template.New("done").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{.Title}} - kubectl tiktok connect</title></head>
<body><h1 id="title">{{.Title}}</h1><p id="message">{{.Message}}</p></body></html>
`))

func writePage(w http.ResponseWriter, status int, title, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = pageDone.Execute(w, map[string]string{"Title": title, "Message": msg})
}

func truncateText(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// openBrowser opens url in the user's browser (xdg-open, open, or rundll32), without waiting for it.
func openBrowser(url string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", url)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		cmd = exec.Command("xdg-open", url)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { _ = cmd.Wait() }()
	return nil
}
