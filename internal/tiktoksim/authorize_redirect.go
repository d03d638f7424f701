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
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// wildcardPort is the port of a registered desktop redirect URI that admits any port (login-kit-desktop:
// "wildcard port number (*) is supported", for apps that listen on a random port).
const wildcardPort = "*"

// validateApps reports an app that Login Kit could not serve: a missing key or secret, a repeated key, or a
// redirect URI TikTok would not register.
func validateApps(apps []App) error {
	seen := map[string]bool{}
	for i, a := range apps {
		if a.ClientKey == "" || a.ClientSecret == "" {
			return fmt.Errorf("sim config: apps[%d]: client_key and client_secret are required", i)
		}
		if seen[a.ClientKey] {
			return fmt.Errorf("sim config: apps[%d]: client_key %q repeated", i, a.ClientKey)
		}
		seen[a.ClientKey] = true
		if len(a.RedirectURIs) == 0 || len(a.RedirectURIs) > 10 {
			return fmt.Errorf("sim config: apps[%d].redirect_uris: want 1 to 10 URIs (TikTok registers at most 10)", i)
		}
		for j, u := range a.RedirectURIs {
			if _, err := parseRegistered(u); err != nil {
				return fmt.Errorf("sim config: apps[%d].redirect_uris[%d]: %w", i, j, err)
			}
		}
	}
	return nil
}

// registeredURI is a registered redirect URI, its port possibly the wildcard.
type registeredURI struct {
	scheme, host, port, path string
}

// parseRegistered reads a registered redirect URI under TikTok's rules (login-kit-desktop, login-kit-web):
// absolute, http or https, static (no query, no fragment), shorter than 512 characters; the wildcard port
// only on a loopback host (localhost or 127.0.0.1), where a port is required.
func parseRegistered(raw string) (registeredURI, error) {
	if len(raw) >= 512 {
		return registeredURI{}, fmt.Errorf("redirect URI longer than 511 characters")
	}
	wild := strings.Contains(raw, ":"+wildcardPort+"/") || strings.HasSuffix(raw, ":"+wildcardPort)
	parsable := raw
	if wild {
		parsable = strings.Replace(raw, ":"+wildcardPort, ":1", 1) // url.Parse refuses a * port
	}
	u, err := url.Parse(parsable)
	if err != nil {
		return registeredURI{}, fmt.Errorf("redirect URI %q: %w", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return registeredURI{}, fmt.Errorf("redirect URI %q: want an absolute http:// or https:// URI", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" || strings.Contains(raw, "#") {
		return registeredURI{}, fmt.Errorf("redirect URI %q: parameters and fragments are not allowed", raw)
	}
	r := registeredURI{scheme: u.Scheme, host: u.Hostname(), port: u.Port(), path: u.EscapedPath()}
	if wild {
		if !isLoopbackHost(r.host) {
			return registeredURI{}, fmt.Errorf("redirect URI %q: the wildcard port is for localhost or 127.0.0.1 only", raw)
		}
		r.port = wildcardPort
	}
	return r, nil
}

func isLoopbackHost(h string) bool { return h == "localhost" || h == "127.0.0.1" }

// matches reports whether a request's redirect_uri is this registered URI: the same scheme, host and path,
// and the same port unless the registered port is the wildcard (then any explicit port). A redirect_uri
// with a query, a fragment or userinfo matches nothing.
func (r registeredURI) matches(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.RawQuery != "" || u.Fragment != "" || u.User != nil || strings.Contains(raw, "#") {
		return false
	}
	if u.Scheme != r.scheme || u.Hostname() != r.host || u.EscapedPath() != r.path {
		return false
	}
	port := u.Port()
	if r.port == wildcardPort {
		n, perr := strconv.Atoi(port)
		return perr == nil && n > 0 && n < 65536
	}
	return port == r.port
}

// redirectAllowed reports whether redirectURI matches one of the app's registered URIs.
func (a *App) redirectAllowed(redirectURI string) bool {
	for _, raw := range a.RedirectURIs {
		if reg, err := parseRegistered(raw); err == nil && reg.matches(redirectURI) {
			return true
		}
	}
	return false
}
