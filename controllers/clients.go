package controllers

import (
	"context"
	"net/http"
	"sync"
	"time"

	"k8s.io/utils/clock"

	"github.com/tiktok-operator/tiktok-operator/api/v1alpha1"
	"github.com/tiktok-operator/tiktok-operator/internal/tiktok"
)

// clientPool hands out one TikTok client per API endpoint (accounts may point at different ones, e.g. the
// simulator) and the HTTP client that reads media for FileUpload posts.
type clientPool struct {
	timeout time.Duration
	clock   clock.PassiveClock
	hc      *http.Client
	media   *http.Client

	mu        sync.Mutex
	clients   map[string]*tiktok.Client
	endpoints map[string]string // account key -> endpoint, for calls made after the account is gone
}

func newClientPool(timeout time.Duration, clk clock.PassiveClock, media *http.Client) *clientPool {
	p := &clientPool{
		timeout: timeout,
		clock:   clk,
		hc:      &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()},
		// Media is read from URLs a user wrote in a post: never follow a redirect, which could lead out of
		// the account's allowed prefixes (the same rule TikTok applies to PULL_FROM_URL).
		media: &http.Client{
			Transport:     http.DefaultTransport.(*http.Transport).Clone(),
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		clients:   map[string]*tiktok.Client{},
		endpoints: map[string]string{},
	}
	if media != nil {
		p.media = media
	}
	return p
}

// forAccount returns the client for the account's spec.endpoint.
func (p *clientPool) forAccount(aq *v1alpha1.AccountQuota) *tiktok.Client {
	ep := aq.Spec.Endpoint
	if ep == "" {
		ep = tiktok.DefaultBaseURL
	}
	p.mu.Lock()
	p.endpoints[accountKey(aq.Namespace, aq.Name)] = ep
	p.mu.Unlock()
	return p.forEndpoint(ep)
}

func (p *clientPool) endpointOf(acct string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ep := p.endpoints[acct]; ep != "" {
		return ep
	}
	return tiktok.DefaultBaseURL
}

func (p *clientPool) forEndpoint(ep string) *tiktok.Client {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.clients[ep]
	if c == nil {
		c = tiktok.New(tiktok.Options{BaseURL: ep, HTTPClient: p.hc, Timeout: p.timeout, Hook: observeCall, Clock: p.clock})
		p.clients[ep] = c
	}
	return c
}

// mediaSize asks the media server for a FileUpload post's size.
func (p *clientPool) mediaSize(ctx context.Context, url string) (int64, error) {
	return tiktok.ProbeSize(ctx, p.media, url)
}

// mediaSource streams a FileUpload post's media, reopening at an offset with a Range request.
func (p *clientPool) mediaSource(ctx context.Context, url string) tiktok.Opener {
	return tiktok.HTTPSource(ctx, p.media, url)
}
