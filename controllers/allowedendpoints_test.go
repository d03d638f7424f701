package controllers

import (
	"strings"
	"testing"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
)

func TestParseAllowedEndpoints(t *testing.T) {
	tests := []struct {
		list string
		want string // the parsed list, or the words the error must hold
		bad  bool
	}{
		{"https://open.tiktokapis.com", "https://open.tiktokapis.com", false},
		{"https://open.tiktokapis.com/", "https://open.tiktokapis.com", false},
		{" HTTPS://Open.TikTokAPIs.com:443 , http://127.0.0.1:8080,", "https://open.tiktokapis.com:443,http://127.0.0.1:8080", false},
		{"http://[::1]:9000,http://[0:0:0:0:0:0:0:1]", "http://[::1]:9000,http://[::1]", false},
		{"https://api.example.com:0443", "https://api.example.com:443", false},
		{"", "lists no endpoint", true},
		{" , ", "lists no endpoint", true},
		{"open.tiktokapis.com", `"open.tiktokapis.com"`, true},
		{"ftp://open.tiktokapis.com", "scheme must be https or http", true},
		{"https://open.tiktokapis.com/v2/", "no path", true},
		{"https://open.tiktokapis.com?x=1", "no path, query", true},
		{"https://open.tiktokapis.com#x", "fragment", true},
		{"https://user:pw@open.tiktokapis.com", "user information", true},
		{"https://*.tiktokapis.com", "without wildcards", true},
		{"https://open.tiktokapis.com:", "port", true},
		{"https://open.tiktokapis.com:0", "port", true},
		{"https://open.tiktokapis.com:65536", "port", true},
		{"https://open.tiktokapis.com:https", "", true},
		{"https://", "no host", true},
		{"https://open.tiktokapis.com,http//127.0.0.1:80", `"http//127.0.0.1:80"`, true},
	}
	for _, tt := range tests {
		got, err := ParseAllowedEndpoints(tt.list)
		switch {
		case tt.bad && err == nil:
			t.Errorf("ParseAllowedEndpoints(%q) = %s, want an error", tt.list, got)
		case tt.bad && (!strings.Contains(err.Error(), AllowedEndpointsFlag) || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("ParseAllowedEndpoints(%q): error %q, want one naming %s and saying %q", tt.list, err, AllowedEndpointsFlag, tt.want)
		case !tt.bad && err != nil:
			t.Errorf("ParseAllowedEndpoints(%q): %v", tt.list, err)
		case !tt.bad && got.String() != tt.want:
			t.Errorf("ParseAllowedEndpoints(%q) = %s, want %s", tt.list, got, tt.want)
		}
	}
}

func TestAllowedEndpointsAdmits(t *testing.T) {
	tests := []struct {
		allowed  string
		endpoint string
		want     bool
	}{
		// The default: TikTok's API alone, https, any port.
		{DefaultAllowedEndpoints, "https://open.tiktokapis.com", true},
		{DefaultAllowedEndpoints, "https://open.tiktokapis.com/", true},
		{DefaultAllowedEndpoints, "https://open.tiktokapis.com/some/base/path", true},
		{DefaultAllowedEndpoints, "HTTPS://OPEN.TIKTOKAPIS.COM", true},
		{DefaultAllowedEndpoints, "https://open.tiktokapis.com:443", true},
		{DefaultAllowedEndpoints, "https://open.tiktokapis.com:8443", true}, // no port in the entry: any port
		{DefaultAllowedEndpoints, "http://open.tiktokapis.com", false},      // scheme mismatch
		{DefaultAllowedEndpoints, "https://evil.example", false},
		{DefaultAllowedEndpoints, "https://open.tiktokapis.com.evil.example", false},
		{DefaultAllowedEndpoints, "https://evil.example/open.tiktokapis.com", false},
		{DefaultAllowedEndpoints, "https://open.tiktokapis.com@evil.example", false},
		{DefaultAllowedEndpoints, "https://user@open.tiktokapis.com", false}, // user information: never sent
		{DefaultAllowedEndpoints, "https://open.tiktokapis.com.", false},     // another name: refused, not guessed
		{DefaultAllowedEndpoints, "http://127.0.0.1:8080", false},            // loopback only when listed
		{DefaultAllowedEndpoints, "http://localhost:8080", false},
		{DefaultAllowedEndpoints, "http://[::1]:8080", false},
		{DefaultAllowedEndpoints, "", false},
		{DefaultAllowedEndpoints, "open.tiktokapis.com", false},
		{DefaultAllowedEndpoints, "ftp://open.tiktokapis.com", false},
		// Ports: an entry with a port admits that port only; a URL without one means the scheme's default.
		{"https://api.example.com:443", "https://api.example.com", true},
		{"https://api.example.com:443", "https://api.example.com:443/", true},
		{"https://api.example.com:443", "https://api.example.com:8443", false},
		{"https://api.example.com:8443", "https://api.example.com", false},
		{"http://api.example.com:80", "http://api.example.com", true},
		{"http://api.example.com", "http://api.example.com:31337", true},
		{"https://api.example.com", "https://api.example.com:99999", false}, // not a port
		// Loopback, as the tests' simulator is listed.
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", true},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080/", true},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8081", false},
		{"http://127.0.0.1:8080", "https://127.0.0.1:8080", false},
		{"http://127.0.0.1:8080", "http://localhost:8080", false},
		{"http://127.0.0.1:8080", "http://127.0.0.2:8080", false},
		// IPv6 loopback, in any spelling of the address.
		{"http://[::1]:8080", "http://[::1]:8080", true},
		{"http://[::1]:8080", "http://[0:0:0:0:0:0:0:1]:8080", true},
		{"http://[::1]:8080", "http://[::1]:8081", false},
		{"http://[::1]:8080", "http://127.0.0.1:8080", false},
		{"http://[::1]", "http://[::1]:1234", true},
		// Case in the entry.
		{"https://API.Example.COM", "https://api.example.com", true},
		// Several entries.
		{"https://open.tiktokapis.com,http://127.0.0.1:8080", "http://127.0.0.1:8080", true},
		{"https://open.tiktokapis.com,http://127.0.0.1:8080", "https://open.tiktokapis.com", true},
	}
	for _, tt := range tests {
		a := MustParseAllowedEndpoints(tt.allowed)
		if got := a.Admits(tt.endpoint); got != tt.want {
			t.Errorf("%s admits %q = %v, want %v", tt.allowed, tt.endpoint, got, tt.want)
		}
	}
}

func TestParseUploadHosts(t *testing.T) {
	good := map[string]string{
		DefaultAllowedUploadHosts:                 "*.tiktokapis.com",
		" *.TikTokAPIs.com , upload.example.com,": "*.tiktokapis.com,upload.example.com",
		"": "",
		"open-upload.tiktokapis.com,*.example.co.uk": "open-upload.tiktokapis.com,*.example.co.uk",
	}
	for list, want := range good {
		h, err := ParseUploadHosts(list)
		if err != nil || h.String() != want || h == nil {
			t.Errorf("ParseUploadHosts(%q) = %q, %v; want %q", list, h, err, want)
		}
	}
	for _, list := range []string{"https://open-upload.tiktokapis.com", "open-upload.tiktokapis.com:443", "*", "*.", "a.*.com",
		"upload.example.com/path", ".example.com", "example..com"} {
		if h, err := ParseUploadHosts(list); err == nil || !strings.Contains(err.Error(), AllowedUploadHostsFlag) {
			t.Errorf("ParseUploadHosts(%q) = %q, %v; want an error naming %s", list, h, err, AllowedUploadHostsFlag)
		}
	}
}

func TestUploadURLAllowed(t *testing.T) {
	const tiktokEP, simEP = "https://open.tiktokapis.com", "http://127.0.0.1:8080"
	def := MustParseUploadHosts(DefaultAllowedUploadHosts)
	tests := []struct {
		endpoint, upload string
		hosts            UploadHosts
		ok               bool
	}{
		{tiktokEP, "https://open-upload.tiktokapis.com/video/?upload_id=1&upload_token=secret", def, true},
		{tiktokEP, "https://open-upload-i18n.tiktokapis.com/video/?upload_token=secret", def, true},
		{tiktokEP, "https://OPEN-UPLOAD.tiktokapis.com:8443/video/", def, true},
		{tiktokEP, "https://open.tiktokapis.com/upload/", UploadHosts{}, true}, // the endpoint's own origin
		{tiktokEP, "http://open-upload.tiktokapis.com/video/?upload_token=secret", def, false},
		{tiktokEP, "https://tiktokapis.com/video/", def, false}, // *.domain is not the domain itself
		{tiktokEP, "https://open-upload.tiktokapis.com.evil.example/video/?upload_token=secret", def, false},
		{tiktokEP, "https://evil.example/video/?upload_token=secret", def, false},
		{tiktokEP, "https://user@open-upload.tiktokapis.com/video/", def, false},
		{tiktokEP, "https://open-upload.tiktokapis.com/video/", UploadHosts{}, false},
		{tiktokEP, "ftp://open-upload.tiktokapis.com/video/", def, false},
		{tiktokEP, "/upload/?upload_token=secret", def, false},
		// The simulator: its upload URLs are on its own origin, which is admitted with the endpoint.
		{simEP, "http://127.0.0.1:8080/upload/?upload_id=1&upload_token=secret", def, true},
		{simEP, "http://127.0.0.1:9090/upload/?upload_token=secret", def, false},
		{simEP, "https://127.0.0.1:8080/upload/", def, false},
		{simEP, "http://localhost:8080/upload/", def, false},
		// An explicit host.
		{tiktokEP, "https://upload.example.com:8443/x", UploadHosts{"upload.example.com"}, true},
		{tiktokEP, "https://a.upload.example.com/x", UploadHosts{"upload.example.com"}, false},
	}
	for _, tt := range tests {
		err := uploadURLAllowed(tt.endpoint, tt.upload, tt.hosts)
		if (err == nil) != tt.ok {
			t.Errorf("upload to %q for endpoint %s with hosts %q: %v, want allowed=%v", tt.upload, tt.endpoint, tt.hosts, err, tt.ok)
			continue
		}
		// The flag is named unless no list could make the URL usable; the upload token is never shown.
		if err != nil && (strings.Contains(err.Error(), "secret") ||
			!strings.Contains(err.Error(), AllowedUploadHostsFlag) && !strings.Contains(err.Error(), "unusable")) {
			t.Errorf("upload to %q: error %q must name %s and never the upload token", tt.upload, err, AllowedUploadHostsFlag)
		}
	}
}

// TestClientPoolRefusesEndpointsNotAdmitted: the pool hands out no client for an endpoint the manager does
// not admit, whichever way it is asked (the account, or the endpoint recorded for a deleted account).
func TestClientPoolRefusesEndpointsNotAdmitted(t *testing.T) {
	p := newClientPool(Options{AllowedEndpoints: MustParseAllowedEndpoints("http://127.0.0.1:8080")}.withDefaults())
	aq := &v1alpha1.AccountQuota{}
	aq.Namespace, aq.Name = "team", "brand"
	for ep, ok := range map[string]bool{"http://127.0.0.1:8080": true, "https://evil.example": false, "": false} {
		aq.Spec.Endpoint = ep
		c, err := p.forAccount(aq)
		if (err == nil) != ok || (c != nil) != ok {
			t.Errorf("forAccount(endpoint %q) = %v, %v; want a client: %v", ep, c, err, ok)
		}
		if err != nil && !strings.Contains(err.Error(), AllowedEndpointsFlag) {
			t.Errorf("forAccount(endpoint %q): error %q does not name %s", ep, err, AllowedEndpointsFlag)
		}
		if c, err := p.forEndpoint(p.endpointOf("team/brand")); (err == nil) != ok || (c != nil) != ok {
			t.Errorf("forEndpoint(the endpoint recorded for %q) = %v, %v; want a client: %v", ep, c, err, ok)
		}
		if err := p.admit(aq); (err == nil) != ok {
			t.Errorf("admit(endpoint %q) = %v, want nil: %v", ep, err, ok)
		}
	}
	// The default list admits TikTok alone, and an empty spec.endpoint means TikTok.
	d := newClientPool(Options{}.withDefaults())
	aq.Spec.Endpoint = ""
	if _, err := d.forAccount(aq); err != nil {
		t.Errorf("the default list refuses TikTok's own endpoint: %v", err)
	}
	aq.Spec.Endpoint = "http://127.0.0.1:8080"
	if _, err := d.forAccount(aq); err == nil {
		t.Errorf("the default list admits the loopback simulator")
	}
}
