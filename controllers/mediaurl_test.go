package controllers

import "testing"

// The allowed media prefixes are compared as URLs, not as strings: the host and port exactly, the path
// cleaned and on segment boundaries, and anything that could be read two ways is refused.
func TestMediaURLAllowed(t *testing.T) {
	tests := []struct {
		name, url, prefix string
		want              bool
	}{
		// The plain cases.
		{"under the prefix", "https://cdn.example.com/a.mp4", "https://cdn.example.com/", true},
		{"host-only prefix", "https://cdn.example.com/a.mp4", "https://cdn.example.com", true},
		{"other host", "https://evil.io/a.mp4", "https://cdn.example.com/", false},
		{"http media", "http://cdn.example.com/a.mp4", "https://cdn.example.com/", false},
		{"query and fragment of the media are not its path", "https://cdn.example.com/public/a.mp4?sig=x#t", "https://cdn.example.com/public/", true},
		{"a path in the query is no path", "https://cdn.example.com/x?u=/public/a.mp4", "https://cdn.example.com/public/", false},

		// Hosts.
		{"suffix host", "https://cdn.example.com.evil.io/a.mp4", "https://cdn.example.com", false},
		{"suffix host, prefix with slash", "https://cdn.example.com.evil.io/a.mp4", "https://cdn.example.com/", false},
		{"host with a dash suffix", "https://cdn.example.com-evil.io/a.mp4", "https://cdn.example.com", false},
		{"userinfo that looks like the host", "https://cdn.example.com@evil.io/", "https://cdn.example.com", false},
		{"userinfo that looks like the host, media path", "https://cdn.example.com@evil.io/a.mp4", "https://cdn.example.com/", false},
		{"userinfo on the right host", "https://user:pw@cdn.example.com/a.mp4", "https://cdn.example.com/", false},
		{"host case", "https://CDN.Example.COM/a.mp4", "https://cdn.example.com/", true},
		{"prefix host case", "https://cdn.example.com/a.mp4", "https://CDN.example.com/", true},
		{"scheme case", "HTTPS://cdn.example.com/a.mp4", "https://cdn.example.com/", true},
		{"host spelled with escapes", "https://cdn%2Eexample.com/a.mp4", "https://cdn.example.com/", false},
		{"trailing dot host is another spelling", "https://cdn.example.com./a.mp4", "https://cdn.example.com/", false},
		{"no host", "https:///a.mp4", "https://cdn.example.com/", false},
		{"IPv6 host", "https://[2001:db8::1]/a.mp4", "https://[2001:db8::1]/", true},
		{"IPv6 host, other address", "https://[2001:db8::2]/a.mp4", "https://[2001:db8::1]/", false},

		// Ports: none and 443 are the same port; any other must be named by the prefix.
		{"other port", "https://cdn.example.com:8443/", "https://cdn.example.com/", false},
		{"other port, host-only prefix", "https://cdn.example.com:8443/a.mp4", "https://cdn.example.com", false},
		{"explicit 443 in the media", "https://cdn.example.com:443/a.mp4", "https://cdn.example.com/", true},
		{"explicit 443 in the prefix", "https://cdn.example.com/a.mp4", "https://cdn.example.com:443/", true},
		{"same explicit port", "https://cdn.example.com:8443/a.mp4", "https://cdn.example.com:8443/", true},
		{"prefix port, media without", "https://cdn.example.com/a.mp4", "https://cdn.example.com:8443/", false},
		{"port with a leading zero", "https://cdn.example.com:0443/a.mp4", "https://cdn.example.com/", false},
		{"port out of range", "https://cdn.example.com:70000/a.mp4", "https://cdn.example.com/", false},

		// Paths: segment boundaries and trailing slashes.
		{"segment prefix admits itself", "https://cdn.example.com/public", "https://cdn.example.com/public", true},
		{"segment prefix admits below", "https://cdn.example.com/public/x.mp4", "https://cdn.example.com/public", true},
		{"segment boundary", "https://cdn.example.com/publicity/a.mp4", "https://cdn.example.com/public", false},
		{"segment boundary, dir prefix", "https://cdn.example.com/publicity/a.mp4", "https://cdn.example.com/public/", false},
		{"dir prefix admits below", "https://cdn.example.com/public/x.mp4", "https://cdn.example.com/public/", true},
		{"dir prefix admits deeper", "https://cdn.example.com/public/a/b/c.mp4", "https://cdn.example.com/public/", true},
		{"dir prefix does not admit the bare dir", "https://cdn.example.com/public", "https://cdn.example.com/public/", false},
		{"path case", "https://cdn.example.com/Public/a.mp4", "https://cdn.example.com/public/", false},
		{"a dotted name is no dot segment", "https://cdn.example.com/.well-known/media/a.mp4", "https://cdn.example.com/.well-known/media/", true},
		{"escapes are decoded before comparing", "https://cdn.example.com/my%20media/%61.mp4", "https://cdn.example.com/my%20media/", true},
		{"double slash collapses", "https://cdn.example.com/public//a.mp4", "https://cdn.example.com/public/", true},

		// Dot segments, plain and encoded.
		{"dot-dot", "https://cdn.example.com/public/../private/a.mp4", "https://cdn.example.com/public/", false},
		{"dot-dot, segment prefix", "https://cdn.example.com/public/../private/a.mp4", "https://cdn.example.com/public", false},
		{"dot-dot that stays inside", "https://cdn.example.com/public/x/../a.mp4", "https://cdn.example.com/public/", true},
		{"dot", "https://cdn.example.com/public/./a.mp4", "https://cdn.example.com/public/", true},
		{"encoded dot-dot", "https://cdn.example.com/public/%2e%2e/private/a.mp4", "https://cdn.example.com/public/", false},
		{"encoded dot-dot, upper case", "https://cdn.example.com/public/%2E%2E/private/a.mp4", "https://cdn.example.com/public/", false},
		{"half-encoded dot-dot", "https://cdn.example.com/public/.%2E/private/a.mp4", "https://cdn.example.com/public/", false},
		{"dot-dot climbing above the root", "https://cdn.example.com/../../public/a.mp4", "https://cdn.example.com/private/", false},
		{"encoded slash", "https://cdn.example.com/public%2F..%2Fprivate/a.mp4", "https://cdn.example.com/public", false},
		{"encoded slash inside the prefix", "https://cdn.example.com/public/..%2fprivate/a.mp4", "https://cdn.example.com/public/", false},
		{"double-encoded dot-dot", "https://cdn.example.com/public/%252e%252e/private/a.mp4", "https://cdn.example.com/public/", false},
		{"backslash", `https://cdn.example.com/public/..\private/a.mp4`, "https://cdn.example.com/public/", false},
		{"encoded backslash", "https://cdn.example.com/public/..%5Cprivate/a.mp4", "https://cdn.example.com/public/", false},
		{"dot-dot with a path parameter", "https://cdn.example.com/public/..;/private/a.mp4", "https://cdn.example.com/public/", false},
		{"encoded NUL", "https://cdn.example.com/public/a.mp4%00.jpg", "https://cdn.example.com/public/", false},
		{"unparseable", "https://cdn.example.com/public/%zz.mp4", "https://cdn.example.com/public/", false},

		// Prefixes the CRD refuses admit nothing (an older CRD, or a client that bypassed it).
		{"prefix with a query", "https://cdn.example.com/public/a.mp4", "https://cdn.example.com/public/?x=1", false},
		{"prefix with a fragment", "https://cdn.example.com/public/a.mp4", "https://cdn.example.com/public/#x", false},
		{"prefix with userinfo", "https://cdn.example.com/public/a.mp4", "https://u@cdn.example.com/public/", false},
		{"prefix with dot-dot", "https://cdn.example.com/private/a.mp4", "https://cdn.example.com/public/../", false},
		{"prefix with encoded dot-dot", "https://cdn.example.com/private/a.mp4", "https://cdn.example.com/public/%2e%2e/", false},
		{"http prefix", "https://cdn.example.com/a.mp4", "http://cdn.example.com/", false},
		{"empty prefix", "https://cdn.example.com/a.mp4", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mediaURLAllowed(tt.url, []string{tt.prefix}); got != tt.want {
				t.Errorf("mediaURLAllowed(%q, [%q]) = %v, want %v", tt.url, tt.prefix, got, tt.want)
			}
		})
	}
}
