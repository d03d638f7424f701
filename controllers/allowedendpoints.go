package controllers

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/tiktok-operator/tiktok-operator/internal/tiktok"
)

// Where the operator may send an account's credentials, and where it may upload media to. Both are the
// manager's to decide (flags, so the cluster's administrators decide), never the namespace's: whoever may
// write an AccountQuota could otherwise point spec.endpoint at a host of theirs and receive the access
// token (creator_info) and, on a refresh, the client key, the client secret and the refresh token.

// The flags that set the lists (named in error messages and conditions, so a human knows what to change).
const (
	AllowedEndpointsFlag   = "--allowed-endpoints"
	AllowedUploadHostsFlag = "--allowed-upload-hosts"
)

// The two URL schemes an endpoint may have (media and upload URLs: https only).
const (
	schemeHTTPS = "https"
	schemeHTTP  = "http"
)

// DefaultAllowedEndpoints is --allowed-endpoints' default: TikTok's API alone.
const DefaultAllowedEndpoints = tiktok.DefaultBaseURL

// DefaultAllowedUploadHosts is --allowed-upload-hosts' default: TikTok's own hosts. TikTok's init answers
// give upload URLs on open-upload.tiktokapis.com (and regional variants of it), all under tiktokapis.com,
// the domain of the API itself; a host outside it is not TikTok's.
const DefaultAllowedUploadHosts = "*.tiktokapis.com"

// EndpointRule admits one API endpoint: a scheme and a host, and a port unless Port is empty (any port).
type EndpointRule struct {
	Scheme string // "https" or "http", lower case
	Host   string // lower case; an IPv6 address without brackets
	Port   string // "" admits any port
}

func (r EndpointRule) String() string {
	host := r.Host
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if r.Port != "" {
		host += ":" + r.Port
	}
	return r.Scheme + "://" + host
}

// AllowedEndpoints is the manager's allow-list of API endpoints (--allowed-endpoints): the only base URLs
// (an AccountQuota's spec.endpoint, or TikTok's when it is empty) the operator sends a request to.
type AllowedEndpoints []EndpointRule

// ParseAllowedEndpoints reads a comma-separated list of scheme://host[:port] entries (blank entries are
// skipped). An entry without a port admits every port of its host; http:// is admitted only where it is
// listed, and so is a loopback address. An error names the flag and the entry at fault.
func ParseAllowedEndpoints(list string) (AllowedEndpoints, error) {
	var out AllowedEndpoints
	for _, raw := range strings.Split(list, ",") {
		entry := strings.TrimSpace(raw)
		if entry == "" {
			continue
		}
		r, err := parseEndpointRule(entry)
		if err != nil {
			return nil, fmt.Errorf("%s: entry %q: %w (an entry is scheme://host[:port], e.g. %s)",
				AllowedEndpointsFlag, entry, err, DefaultAllowedEndpoints)
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s lists no endpoint: no account could call TikTok (the default is %s)",
			AllowedEndpointsFlag, DefaultAllowedEndpoints)
	}
	return out, nil
}

// MustParseAllowedEndpoints is ParseAllowedEndpoints for lists known to be right (defaults, tests); it
// panics on an error.
func MustParseAllowedEndpoints(list string) AllowedEndpoints {
	a, err := ParseAllowedEndpoints(list)
	if err != nil {
		panic(err)
	}
	return a
}

func parseEndpointRule(entry string) (EndpointRule, error) {
	u, err := url.Parse(entry)
	if err != nil {
		return EndpointRule{}, errors.New("not a URL")
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme != schemeHTTPS && scheme != schemeHTTP:
		return EndpointRule{}, errors.New("the scheme must be https or http")
	case u.Opaque != "" || u.Host == "":
		return EndpointRule{}, errors.New("no host")
	case u.User != nil:
		return EndpointRule{}, errors.New("user information is not allowed")
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.ForceQuery, u.Fragment != "":
		return EndpointRule{}, errors.New("only scheme, host and port are allowed (no path, query or fragment)")
	}
	host := canonicalHost(u.Hostname())
	if host == "" || strings.ContainsAny(host, "*%") {
		return EndpointRule{}, errors.New("the host must be a name or an IP address, without wildcards")
	}
	var port string
	if u.Port() != "" || strings.HasSuffix(u.Host, ":") {
		if port, err = canonicalPort(u.Port()); err != nil {
			return EndpointRule{}, err
		}
	}
	return EndpointRule{Scheme: scheme, Host: host, Port: port}, nil
}

// canonicalHost is a host as the rules compare it: lower case, an IP address in its shortest form (so
// [0:0:0:0:0:0:0:1] is [::1]).
func canonicalHost(h string) string {
	h = strings.ToLower(h)
	if ip := net.ParseIP(h); ip != nil {
		return ip.String()
	}
	return h
}

// canonicalPort checks a port and drops its leading zeros ("0443" is 443).
func canonicalPort(p string) (string, error) {
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("port %q is not a number from 1 to 65535", p)
	}
	return strconv.Itoa(n), nil
}

// origin is the scheme, host and port a request to a URL goes to, in the form the rules compare.
type origin struct {
	scheme, host, port string
}

func (o origin) String() string {
	return EndpointRule{Scheme: o.scheme, Host: o.host, Port: o.port}.String()
}

// originOf reads where a request to raw would go: the scheme and host lower case, the port explicit
// (443 for https, 80 for http when the URL names none). URLs with user information, or of another scheme,
// are refused: a request is never sent to them.
func originOf(raw string) (origin, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return origin{}, errors.New("not a URL")
	}
	o := origin{scheme: strings.ToLower(u.Scheme), host: canonicalHost(u.Hostname())}
	switch {
	case o.scheme != schemeHTTPS && o.scheme != schemeHTTP:
		return origin{}, errors.New("the scheme is neither https nor http")
	case u.Opaque != "" || o.host == "":
		return origin{}, errors.New("no host")
	case u.User != nil:
		return origin{}, errors.New("it carries user information")
	}
	if u.Port() == "" && !strings.HasSuffix(u.Host, ":") {
		o.port = defaultPort(o.scheme)
	} else if o.port, err = canonicalPort(u.Port()); err != nil {
		return origin{}, err
	}
	return o, nil
}

func defaultPort(scheme string) string {
	if scheme == schemeHTTP {
		return "80"
	}
	return "443"
}

// admits says whether the rule lets requests go to o.
func (r EndpointRule) admits(o origin) bool {
	if r.Scheme != o.scheme || r.Host != o.host {
		return false
	}
	if r.Port == "" {
		return true
	}
	return r.Port == o.port
}

// Admits says whether the operator may send requests (and so credentials) to the API endpoint ep, a base
// URL as spec.endpoint holds it: its scheme, host and port must match an entry (a path after them does not
// matter: every request to the endpoint goes to that origin).
func (a AllowedEndpoints) Admits(ep string) bool {
	o, err := originOf(ep)
	if err != nil {
		return false
	}
	for _, r := range a {
		if r.admits(o) {
			return true
		}
	}
	return false
}

func (a AllowedEndpoints) String() string {
	parts := make([]string, len(a))
	for i, r := range a {
		parts[i] = r.String()
	}
	return strings.Join(parts, ",")
}

// UploadHosts are the hosts the operator trusts, beyond the account's own endpoint, to receive a
// FileUpload post's bytes at the upload_url of an init answer (--allowed-upload-hosts). An entry is a host
// name, matched exactly, or *.domain, which matches every name under domain (not domain itself). Upload
// URLs on these hosts must be https (any port).
type UploadHosts []string

// ParseUploadHosts reads a comma-separated list of host names and *.domain patterns (blank entries are
// skipped; an empty list trusts only each account's own endpoint). An error names the flag.
func ParseUploadHosts(list string) (UploadHosts, error) {
	out := UploadHosts{}
	for _, raw := range strings.Split(list, ",") {
		entry := strings.ToLower(strings.TrimSpace(raw))
		if entry == "" {
			continue
		}
		name := strings.TrimPrefix(entry, "*.")
		if name == "" || strings.ContainsAny(name, "*/:@?#[]% ") || strings.HasPrefix(name, ".") ||
			strings.HasSuffix(name, ".") || strings.Contains(name, "..") {
			return nil, fmt.Errorf("%s: entry %q: a host name (upload.example.com) or *.domain is expected, "+
				"without scheme, port or path (the default is %s)", AllowedUploadHostsFlag, raw, DefaultAllowedUploadHosts)
		}
		out = append(out, entry)
	}
	return out, nil
}

// MustParseUploadHosts is ParseUploadHosts for lists known to be right; it panics on an error.
func MustParseUploadHosts(list string) UploadHosts {
	h, err := ParseUploadHosts(list)
	if err != nil {
		panic(err)
	}
	return h
}

func (h UploadHosts) matches(host string) bool {
	host = strings.ToLower(host)
	for _, e := range h {
		if d, ok := strings.CutPrefix(e, "*."); ok {
			if strings.HasSuffix(host, "."+d) && len(host) > len(d)+1 {
				return true
			}
			continue
		}
		if host == e {
			return true
		}
	}
	return false
}

func (h UploadHosts) String() string { return strings.Join(h, ",") }

// uploadURLAllowed checks an init answer's upload_url before a byte is sent to it: it must be on the
// account's own (admitted) endpoint, same scheme, host and port, or https on a host of uploadHosts. The
// error names the upload URL's origin only (its query carries the upload token) and the flag.
func uploadURLAllowed(endpoint, uploadURL string, uploadHosts UploadHosts) error {
	up, err := originOf(uploadURL)
	if err != nil {
		return fmt.Errorf("TikTok's upload_url is unusable (%v)", err)
	}
	if ep, err := originOf(endpoint); err == nil && ep == up {
		return nil
	}
	if up.scheme == schemeHTTPS && uploadHosts.matches(up.host) {
		return nil
	}
	trusted := "none"
	if len(uploadHosts) > 0 {
		trusted = uploadHosts.String()
	}
	return fmt.Errorf("the upload_url of TikTok's answer is on %s, which is neither the account's endpoint nor an "+
		"https host of the manager's %s (%s)", up, AllowedUploadHostsFlag, trusted)
}
