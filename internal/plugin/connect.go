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
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/tiktok-operator/tiktok-operator/internal/tiktok"
)

// defaultScopes are what the operator uses: creator_info and direct posts need video.publish, inbox
// uploads video.upload; user.info.basic comes with every Login Kit grant.
var defaultScopes = []string{"user.info.basic", "video.publish", "video.upload"}

// connectOptions are the flags of `kubectl tiktok connect`.
type connectOptions struct {
	*Options
	account       string
	clientKey     string
	secretFrom    string
	secretName    string
	scopes        []string
	endpoint      string
	endpointGiven bool // --endpoint was on the command line
	mediaPrefixes []string
	noBrowser     bool
	timeout       time.Duration
	// issuedExpiry is when the access token connect wrote expires: Ready counts only once the operator's
	// status shows tokens at least that fresh (a re-connected account may already be Ready on the old ones).
	issuedExpiry time.Time
}

const connectLong = `Connect a TikTok creator account to tiktok-operator in one command.

connect runs TikTok's Login Kit for Desktop flow: it listens on 127.0.0.1 on a random port, opens TikTok's
authorize page in your browser (or prints its URL with --no-browser; the URL is printed in both cases),
and waits for the creator to press Authorize. It checks the random state TikTok sends back, exchanges the
one-time code for the creator's tokens (with a PKCE verifier that never leaves this process), then creates
or updates, in the namespace of -n or of your kubeconfig context:

  - the Secret ACCOUNT-tiktok (or the one the AccountQuota already names, or --secret-name), labelled
    publish.tiktok-operator.dev/credentials=true, with client_key, client_secret, access_token,
    refresh_token and their expiry times: the operator reads it and writes refreshed tokens back;
  - the AccountQuota ACCOUNT, pointing at that Secret, with --endpoint and --allowed-media-prefix if given
    (its limits keep TikTok's documented defaults),

and waits until the operator reports the account Ready, printing the creator's handle and the privacy
levels TikTok allows for them.

The tokens never appear on the command line, in the output or in a log: they go from TikTok's answer
straight into the Secret. The app's client secret is read from a file or from stdin (--client-secret-from-file
F, or - for stdin); when it is not given, the client secret already in the account's Secret is used.

Run connect again for an account whose refresh token TikTok refused (the AccountQuota is Ready=False,
reason CredentialsInvalid): the creator authorizes again and the Secret is updated in place, which the
operator picks up at once.

Register the redirect URI http://127.0.0.1:*/callback/ (loopback address, wildcard port) in your app's
Login Kit for Desktop settings on developers.tiktok.com. With --endpoint pointing at tiktok-sim, the
authorize page and the token exchange both go to the simulator.`

const connectExample = `  # Connect the creator behind the account brand-main; the client secret comes from a file.
  kubectl tiktok connect brand-main --client-key aw1exampleckey --client-secret-from-file ./client-secret.txt

  # The same from a password manager, on a machine without a browser: open the printed URL elsewhere.
  pass show tiktok/client-secret | kubectl tiktok connect brand-main -n social --client-key aw1exampleckey \
      --client-secret-from-file - --no-browser

  # Restrict the media URLs the account may post from.
  kubectl tiktok connect brand-main --client-key aw1exampleckey --client-secret-from-file ./client-secret.txt \
      --allowed-media-prefix https://cdn.example.com/videos/

  # Authorize again after TikTok refused the refresh token (Ready=False, CredentialsInvalid):
  # the client secret is taken from the account's Secret.
  kubectl tiktok connect brand-main --client-key aw1exampleckey

  # Against tiktok-sim, with an app (apps: in its config) whose client secret is in a file.
  kubectl tiktok connect demo --client-key sim-desktop-app --client-secret-from-file ./sim-secret.txt \
      --endpoint http://127.0.0.1:8081 --no-browser`

// newConnectCommand builds `kubectl tiktok connect`.
func newConnectCommand(o *Options) *cobra.Command {
	c := &connectOptions{Options: o}
	cmd := &cobra.Command{
		Use:     "connect ACCOUNT --client-key KEY [--client-secret-from-file FILE|-]",
		Short:   "Authorize a TikTok creator (Login Kit) and create the account's Secret and AccountQuota",
		Long:    connectLong,
		Example: connectExample,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c.account = args[0]
			c.endpointGiven = cmd.Flags().Changed("endpoint")
			if err := c.validate(); err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), c.timeout)
			defer cancel()
			return c.run(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.clientKey, "client-key", "", "the TikTok app's client key (developers.tiktok.com, Manage apps)")
	f.StringVar(&c.secretFrom, "client-secret-from-file", "",
		"a file holding the app's client secret, or - to read it from stdin (default: the secret already in the account's Secret)")
	f.StringVar(&c.secretName, "secret-name", "", "the credentials Secret's name (default: the AccountQuota's, or ACCOUNT-tiktok)")
	f.StringSliceVar(&c.scopes, "scopes", defaultScopes, "the scopes to ask the creator for (comma-separated)")
	f.StringVar(&c.endpoint, "endpoint", tiktok.DefaultBaseURL,
		"TikTok's API base URL, written to the AccountQuota's spec.endpoint (http:// only to a loopback address, for tiktok-sim); "+
			"default: the existing AccountQuota's")
	f.StringArrayVar(&c.mediaPrefixes, "allowed-media-prefix", nil,
		"an https:// URL prefix the account's media may come from (spec.allowedMediaPrefixes); repeat for several")
	f.BoolVar(&c.noBrowser, "no-browser", false, "print the authorize URL instead of opening a browser")
	f.DurationVar(&c.timeout, "timeout", 5*time.Minute, "how long to wait for the creator and then for the account to become Ready")
	return cmd
}

var scopeRe = regexp.MustCompile(`^[a-z][a-z0-9_.]*$`)

// validate checks the flags before anything is opened or sent; each error names the flag and the rule.
func (c *connectOptions) validate() error {
	if errs := validation.IsDNS1123Subdomain(c.account); len(errs) > 0 {
		return fmt.Errorf("ACCOUNT %q: the AccountQuota's name must be a DNS-1123 subdomain: %s", c.account, strings.Join(errs, "; "))
	}
	if strings.TrimSpace(c.clientKey) == "" {
		return errors.New("--client-key is required: the TikTok app's client key")
	}
	if len(c.scopes) == 0 {
		return errors.New("--scopes: at least one scope is required")
	}
	for _, s := range c.scopes {
		if !scopeRe.MatchString(s) {
			return fmt.Errorf("--scopes: %q is not a TikTok scope name (lower-case words joined by dots, such as video.publish)", s)
		}
	}
	if err := checkEndpoint(c.endpoint); err != nil {
		return err
	}
	for _, p := range c.mediaPrefixes {
		u, err := url.Parse(p)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("--allowed-media-prefix %q: must be an https:// URL prefix with a host and no userinfo, query or fragment", p)
		}
	}
	if c.timeout <= 0 {
		return fmt.Errorf("--timeout %s: must be positive", c.timeout)
	}
	if c.secretName != "" {
		if errs := validation.IsDNS1123Subdomain(c.secretName); len(errs) > 0 {
			return fmt.Errorf("--secret-name %q: must be a DNS-1123 subdomain: %s", c.secretName, strings.Join(errs, "; "))
		}
	}
	return nil
}

// checkEndpoint applies the AccountQuota's spec.endpoint rule: https://, or http:// to a loopback address.
func checkEndpoint(raw string) error {
	u, err := url.Parse(raw)
	if err == nil && u.Host != "" && u.User == nil {
		h := u.Hostname()
		if u.Scheme == "https" || (u.Scheme == "http" && (h == "localhost" || h == "::1" || strings.HasPrefix(h, "127."))) {
			return nil
		}
	}
	return fmt.Errorf("--endpoint %q: must be an https:// URL, or http:// to a loopback address (127.x.x.x, localhost, [::1])", raw)
}

// authorizeBase is where the browser goes: TikTok's authorize page lives on www.tiktok.com, not on the API
// host; any other endpoint (tiktok-sim) serves both.
func (c *connectOptions) authorizeBase() string {
	if strings.TrimRight(c.endpoint, "/") == tiktok.DefaultBaseURL {
		return tiktok.AuthorizeBaseURL
	}
	return strings.TrimRight(c.endpoint, "/")
}

// readClientSecret reads the client secret from --client-secret-from-file ("-": stdin); "" when the flag
// is not given.
func (c *connectOptions) readClientSecret() (tiktok.ClientSecret, error) {
	if c.secretFrom == "" {
		return "", nil
	}
	var b []byte
	var err error
	if c.secretFrom == "-" {
		b, err = io.ReadAll(io.LimitReader(c.In, 64<<10))
	} else {
		b, err = os.ReadFile(c.secretFrom)
	}
	if err != nil {
		return "", fmt.Errorf("--client-secret-from-file %s: %w", c.secretFrom, err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" || strings.ContainsAny(s, "\r\n") {
		return "", fmt.Errorf("--client-secret-from-file %s: want the client secret alone on one line", c.secretFrom)
	}
	return tiktok.ClientSecret(s), nil
}
