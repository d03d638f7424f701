package controllers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"k8s.io/utils/clock"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktok"
)

// clientPool hands out one TikTok client per API endpoint (accounts may point at different ones, e.g. the
// simulator) and the HTTP client that reads media for FileUpload posts. It is the one place a request to
// TikTok's API gets its client from, and it hands none out for an endpoint the manager does not admit
// (Options.AllowedEndpoints): no code path can send an account's credentials elsewhere.
type clientPool struct {
	timeout     time.Duration
	clock       clock.PassiveClock
	allowed     AllowedEndpoints
	uploadHosts UploadHosts
	hc          *http.Client
	media       *http.Client

	mu        sync.Mutex
	clients   map[string]*tiktok.Client // admitted endpoints only
	endpoints map[accountKey]string     // account -> endpoint, for calls made after the account is gone
}

// newClientPool builds the pool from (defaulted) options.
func newClientPool(o Options) *clientPool {
	tr := o.APITransport
	if tr == nil {
		tr = http.DefaultTransport.(*http.Transport).Clone()
	}
	p := &clientPool{
		timeout:     o.CallTimeout,
		clock:       o.Clock,
		allowed:     o.AllowedEndpoints,
		uploadHosts: o.AllowedUploadHosts,
		// The API is never followed elsewhere: a redirect would re-send the call (with its access token,
		// or the OAuth form with the client secret) to a host nobody admitted. tiktok.New enforces it too.
		hc: &http.Client{Transport: tr, CheckRedirect: noRedirects},
		// Media is read from URLs a user wrote in a post: never follow a redirect, which could lead out of
		// the account's allowed prefixes (the same rule TikTok applies to PULL_FROM_URL).
		media: &http.Client{
			Transport:     http.DefaultTransport.(*http.Transport).Clone(),
			CheckRedirect: noRedirects,
		},
		clients:   map[string]*tiktok.Client{},
		endpoints: map[accountKey]string{},
	}
	if o.MediaClient != nil {
		p.media = o.MediaClient
	}
	return p
}

func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// endpointNotAllowedError says an account's endpoint is not on the manager's allow-list.
type endpointNotAllowedError struct {
	endpoint string
	allowed  AllowedEndpoints
}

func (e *endpointNotAllowedError) Error() string {
	return fmt.Sprintf("endpoint %s is not admitted by the manager's %s (%s): no request is sent to it",
		displayEndpoint(e.endpoint), AllowedEndpointsFlag, e.allowed)
}

// displayEndpoint shows an endpoint without user information, query or fragment, and cut short.
func displayEndpoint(ep string) string {
	if u, err := url.Parse(ep); err == nil {
		u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
		ep = u.String()
	} else {
		ep = "(unparseable)"
	}
	return strconv.Quote(truncate(ep, 256))
}

// endpointOfAccount is the account's spec.endpoint, or TikTok's when it is empty.
func endpointOfAccount(aq *v1alpha1.AccountQuota) string {
	if aq.Spec.Endpoint == "" {
		return tiktok.DefaultBaseURL
	}
	return aq.Spec.Endpoint
}

// admit says why the account's endpoint may not be called (nil when it may).
func (p *clientPool) admit(aq *v1alpha1.AccountQuota) error {
	if ep := endpointOfAccount(aq); !p.allowed.Admits(ep) {
		return &endpointNotAllowedError{endpoint: ep, allowed: p.allowed}
	}
	return nil
}

// forAccount returns the client for the account's spec.endpoint, or an error when the manager does not
// admit it.
func (p *clientPool) forAccount(aq *v1alpha1.AccountQuota) (*tiktok.Client, error) {
	ep := endpointOfAccount(aq)
	p.mu.Lock()
	p.endpoints[accountKeyOf(aq.Namespace, aq.Name)] = ep
	p.mu.Unlock()
	return p.forEndpoint(ep)
}

func (p *clientPool) endpointOf(acct accountKey) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ep := p.endpoints[acct]; ep != "" {
		return ep
	}
	return tiktok.DefaultBaseURL
}

// forEndpoint returns the client for an API endpoint, or an error when the manager does not admit it.
func (p *clientPool) forEndpoint(ep string) (*tiktok.Client, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c := p.clients[ep]; c != nil {
		return c, nil
	}
	if !p.allowed.Admits(ep) {
		return nil, &endpointNotAllowedError{endpoint: ep, allowed: p.allowed}
	}
	c := tiktok.New(tiktok.Options{BaseURL: ep, HTTPClient: p.hc, Timeout: p.timeout, Hook: observeCall, Clock: p.clock,
		// The client checks the upload URL itself too, before it opens the media.
		AllowUpload: func(uploadURL string) error { return uploadURLAllowed(ep, uploadURL, p.uploadHosts) }})
	p.clients[ep] = c
	return c, nil
}

// uploadAllowed says why an init answer's upload_url may not receive the account's media (nil when it
// may): it must be on the account's own admitted endpoint, or https on a host of AllowedUploadHosts.
func (p *clientPool) uploadAllowed(aq *v1alpha1.AccountQuota, uploadURL string) error {
	if err := p.admit(aq); err != nil {
		return err
	}
	return uploadURLAllowed(endpointOfAccount(aq), uploadURL, p.uploadHosts)
}

// mediaSize asks the media server for a FileUpload post's size.
func (p *clientPool) mediaSize(ctx context.Context, mediaURL string) (int64, error) {
	return tiktok.ProbeSize(ctx, p.media, mediaURL)
}

// mediaSource streams a FileUpload post's media, reopening at an offset with a Range request.
func (p *clientPool) mediaSource(ctx context.Context, mediaURL string) tiktok.Opener {
	return tiktok.HTTPSource(ctx, p.media, mediaURL)
}
