package controllers

import (
	"errors"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// The media URLs of a post are checked against the account's spec.allowedMediaPrefixes as URLs, not as
// strings (a string prefix "https://cdn.example.com" would admit https://cdn.example.com.evil.io/ and
// https://cdn.example.com@evil.io/, and "https://cdn.example.com/public/" would admit /public/../private/):
//
//   - the scheme is https, for the media and the prefix alike;
//   - the host is compared exactly, case aside, as it is spelled: no userinfo, no percent-escapes in the
//     host, no trailing dot (https://cdn.example.com./ is refused, not taken for the same host);
//   - the port is compared exactly: none and 443 are the same port; a prefix without a port admits only
//     443, never another port of the same host (https://cdn.example.com:8443/ needs a prefix naming 8443);
//   - the path is percent-decoded once and cleaned (path.Clean: "." and ".." resolved, "//" collapsed),
//     then compared on segment boundaries: a prefix path /public admits /public and /public/x but not
//     /publicity; /public/ admits what lies below /public/ (not /public itself); / or no path admits the
//     whole host. Case matters in paths;
//   - what a server could read another way is refused: encoded slashes (%2F) and backslashes (\ or %5C),
//     double encoding (%25), control characters (%00), a dot segment carrying a path parameter (..;), a
//     non-canonical port (0443).
//
// A prefix must also carry no query or fragment and no dot segment at all (the CRD refuses them too);
// one that does not parse admits nothing. The media URL may carry a query (signed CDN URLs do); it is no
// part of the comparison.

// errNotAllowed is why a URL cannot be compared safely.
var errNotAllowed = errors.New("not comparable")

// mediaLocation is a media URL or an allowed prefix, reduced to what is compared.
type mediaLocation struct {
	host string // lower case, brackets of an IPv6 literal removed
	port int    // 443 when the URL names none
	path string // percent-decoded and cleaned; "/" at least
	dir  bool   // the raw path ended with "/": a prefix then admits only what lies below it
}

// parseMediaLocation parses an https URL for the comparison. prefix asks for the stricter rules of an
// allowed prefix: no query, no fragment, no dot segment.
func parseMediaLocation(raw string, prefix bool) (mediaLocation, error) {
	var loc mediaLocation
	if strings.ContainsAny(raw, `\`) {
		return loc, errNotAllowed
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != schemeHTTPS || u.Opaque != "" || u.User != nil || u.Host == "" {
		return loc, errNotAllowed
	}
	if prefix && (u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(raw, "#")) {
		return loc, errNotAllowed
	}
	if loc.host, loc.port, err = hostPortOf(raw, u); err != nil {
		return loc, err
	}
	if loc.path, err = pathOf(u, prefix); err != nil {
		return loc, err
	}
	loc.dir = strings.HasSuffix(u.Path, "/")
	return loc, nil
}

// hostPortOf returns the URL's host, lower case, and port (443 when none). The authority must be
// spelled as parsed (url.Parse decodes escapes in the host), the host must not end with a dot, and a
// port must be written canonically.
func hostPortOf(raw string, u *url.URL) (string, int, error) {
	rest := raw[len("https://"):]
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if !strings.EqualFold(rest, u.Host) || strings.HasSuffix(u.Hostname(), ".") {
		return "", 0, errNotAllowed
	}
	port := 443
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != p {
			return "", 0, errNotAllowed
		}
		port = n
	}
	return strings.ToLower(u.Hostname()), port, nil
}

// pathOf returns the URL's path, decoded once and cleaned, refusing what a server could read another way
// (encoded slashes and backslashes, double encoding, control characters, a dot segment with a path
// parameter) and, in a prefix, any dot segment.
func pathOf(u *url.URL, prefix bool) (string, error) {
	escaped := strings.ToLower(u.EscapedPath())
	if strings.Contains(escaped, "%2f") || strings.Contains(escaped, "%5c") || strings.Contains(escaped, "%25") {
		return "", errNotAllowed
	}
	p := u.Path // decoded once
	if strings.IndexFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return "", errNotAllowed
	}
	for seg := range strings.SplitSeq(p, "/") {
		name, _, param := strings.Cut(seg, ";")
		if (name == "." || name == "..") && (prefix || param) {
			return "", errNotAllowed
		}
	}
	return path.Clean("/" + p), nil
}

// admits says whether the media location u lies under the prefix p.
func (p mediaLocation) admits(u mediaLocation) bool {
	switch {
	case u.host != p.host || u.port != p.port:
		return false
	case p.path == "/":
		return true
	case p.dir:
		return strings.HasPrefix(u.path, p.path+"/")
	default:
		return u.path == p.path || strings.HasPrefix(u.path, p.path+"/")
	}
}

// mediaURLAllowed says whether the media URL raw lies under one of the allowed prefixes (see above).
func mediaURLAllowed(raw string, prefixes []string) bool {
	u, err := parseMediaLocation(raw, false)
	if err != nil {
		return false
	}
	for _, s := range prefixes {
		if p, err := parseMediaLocation(s, true); err == nil && p.admits(u) {
			return true
		}
	}
	return false
}
