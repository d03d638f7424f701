// Package apiproxy is a fault-injecting reverse proxy for a Kubernetes API server, for tests. It listens
// on 127.0.0.1, forwards every request to the API server with the upstream rest.Config's credentials, and
// hands back a rest.Config through which a client (the manager under test) talks to it. Rules pick the
// requests to strike (method, path, User-Agent, a header, a piece of the body) and what happens to them:
//
//   - Conflict409: answered 409 (metav1.Status, reason Conflict); the request is not forwarded.
//   - TooMany429: answered 429 (metav1.Status, reason TooManyRequests, Retry-After: 1); not forwarded.
//     client-go itself waits and sends the request again when a 429 carries Retry-After (rest.Request's
//     retry, up to 10 times), so a caller sees a delay, not an error, unless the retry is struck too.
//   - Error500AfterWrite: forwarded (the write lands), then answered 500 (metav1.Status, reason
//     InternalError, no Retry-After: client-go does not retry it) instead of the real answer.
//   - DropAfterWrite: forwarded (the write lands), then no answer at all: the handler aborts
//     (panic(http.ErrAbortHandler)). Over HTTP/2 that resets the request's stream; the client's call
//     fails with a transport error and it cannot know whether the write landed.
//
// Why TLS with a self-signed certificate rather than plain http: client-go negotiates HTTP/2 over TLS, as
// it does with a real API server, so the manager's watches and writes share one connection as they do in
// production; over plain http client-go speaks HTTP/1.1, one connection per watch and per concurrent
// request, a different transport than the one whose faults are being simulated.
//
// Watches stream through (httputil.ReverseProxy with FlushInterval -1: every chunk is flushed at once).
// Randomness is seeded; which request draws which fault still depends on the order requests arrive in.
package apiproxy

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
)

// Fault is what the proxy does to a request a rule matched.
type Fault string

const (
	// Pass forwards the request and returns the real answer (a rule matched, nothing was injected).
	Pass Fault = "Pass"
	// Conflict409 answers 409 Conflict without forwarding.
	Conflict409 Fault = "Conflict409"
	// TooMany429 answers 429 TooManyRequests with Retry-After: 1 without forwarding.
	TooMany429 Fault = "TooMany429"
	// Error500AfterWrite forwards the request, then answers 500 InternalError instead of the real answer.
	Error500AfterWrite Fault = "Error500AfterWrite"
	// DropAfterWrite forwards the request, then drops the answer (the handler aborts).
	DropAfterWrite Fault = "DropAfterWrite"
)

// AllFaults are the four faults, for an equal mix.
var AllFaults = []Fault{Conflict409, TooMany429, Error500AfterWrite, DropAfterWrite}

// Rule selects requests and says what to do with them. Every set field must match. The first rule (in
// order) that matches a request decides its fate.
type Rule struct {
	// Name labels the rule in Events.
	Name string
	// Method is the HTTP method ("" for any).
	Method string
	// Path must match the request's URL path (nil for any), e.g.
	// `^/apis/g/v1/namespaces/ns/things/[^/]+/status$`.
	Path *regexp.Regexp
	// UserAgent must be a substring of the request's User-Agent ("" for any): set rest.Config.UserAgent
	// on the client to strike so that no other client is hit.
	UserAgent string
	// Header, when set, must be present on the request with this value (each key, exactly).
	Header map[string]string
	// BodyContains must be a substring of the request's body ("" for any), e.g. `"phase":"Processing"`.
	BodyContains string

	// Script, when set, decides alone, per object (method and path): the n-th matching request for an
	// object gets Script[n] (Pass allowed), and every matching request after the script passes.
	Script []Fault
	// Probability is the chance that a matching request is struck (when Script is empty); the fault is
	// drawn uniformly from Faults (AllFaults when empty).
	Probability float64
	Faults      []Fault
}

// Options configure a Proxy.
type Options struct {
	// Seed seeds the random draws (Probability, and the choice among Faults).
	Seed uint64
	// Rules, in order; SetRules replaces them later.
	Rules []Rule
}

// Event is one request a rule matched.
type Event struct {
	Time   time.Time
	Rule   string
	Fault  Fault
	Method string
	Path   string
	// UpstreamStatus is the API server's status code for a forwarded request struck after the write
	// (200: the write landed; 409: the API server refused it itself), 0 otherwise.
	UpstreamStatus int
	// UpstreamError is the error of such a forward that got no answer from the API server.
	UpstreamError string
}

// Proxy is a running fault-injecting proxy. Its methods are safe for concurrent use.
type Proxy struct {
	upstream  *url.URL
	transport http.RoundTripper
	rp        *httputil.ReverseProxy
	srv       *http.Server
	url       string
	caPEM     []byte
	template  *rest.Config

	mu       sync.Mutex
	rules    []Rule
	rng      *mrand.Rand
	scripts  map[string]int // rule index + object -> matching requests seen
	injected map[Fault]int
	matched  int
	events   []Event
}

// New starts a proxy in front of the API server upstream points at. Close stops it.
func New(upstream *rest.Config, opts Options) (*Proxy, error) {
	if err := validate(opts.Rules); err != nil {
		return nil, err
	}
	target, err := url.Parse(upstream.Host)
	if err != nil {
		return nil, fmt.Errorf("parsing the upstream host %q: %w", upstream.Host, err)
	}
	if target.Scheme == "" {
		target.Scheme = "https"
	}
	rt, err := rest.TransportFor(upstream)
	if err != nil {
		return nil, fmt.Errorf("the upstream transport: %w", err)
	}
	cert, caPEM, err := selfSigned()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{
		upstream:  target,
		transport: rt,
		caPEM:     caPEM,
		url:       "https://" + ln.Addr().String(),
		rules:     append([]Rule(nil), opts.Rules...),
		rng:       mrand.New(mrand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		scripts:   map[string]int{},
		injected:  map[Fault]int{},
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = target.Host
		},
		Transport:     rt,
		FlushInterval: -1, // watches: every event goes out as it comes
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			// The client went away (a watch closed by its client, the manager stopping): nothing to say.
			if r.Context().Err() != nil {
				return
			}
			writeStatus(w, http.StatusBadGateway, &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusBadGateway,
				Reason: metav1.StatusReasonServiceUnavailable, Message: "apiproxy: the upstream API server: " + err.Error()})
		},
		ErrorLog: log.New(io.Discard, "", 0),
	}
	ac := rest.AnonymousClientConfig(upstream)
	ac.Host = p.url
	ac.APIPath = upstream.APIPath
	ac.TLSClientConfig = rest.TLSClientConfig{CAData: caPEM}
	p.template = ac
	p.srv = &http.Server{
		Handler:           p,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}, MinVersion: tls.VersionTLS12},
		ErrorLog:          log.New(io.Discard, "", 0), // TLS handshakes cut short by clients going away
		ReadHeaderTimeout: 30 * time.Second,
	}
	go func() { _ = p.srv.ServeTLS(ln, "", "") }()
	return p, nil
}

// Config is a rest.Config for a client that goes through the proxy: the proxy's address and CA, no
// credentials (the proxy sends the upstream's), the upstream's QPS, Burst and Timeout. Each call returns
// a fresh copy the caller may change (e.g. its UserAgent).
func (p *Proxy) Config() *rest.Config { return rest.CopyConfig(p.template) }

// URL is the proxy's address (https://127.0.0.1:port).
func (p *Proxy) URL() string { return p.url }

// CAData is the PEM certificate clients must trust to talk to the proxy.
func (p *Proxy) CAData() []byte { return append([]byte(nil), p.caPEM...) }

// Close stops the proxy and drops every connection (watches included).
func (p *Proxy) Close() { _ = p.srv.Close() }

// SetRules replaces the rules; scripts start over.
func (p *Proxy) SetRules(rules ...Rule) error {
	if err := validate(rules); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = append([]Rule(nil), rules...)
	p.scripts = map[string]int{}
	return nil
}

func validate(rules []Rule) error {
	for _, r := range rules {
		for _, f := range append(append([]Fault(nil), r.Script...), r.Faults...) {
			switch f {
			case Pass, Conflict409, TooMany429, Error500AfterWrite, DropAfterWrite:
			default:
				return fmt.Errorf("rule %q: unknown fault %q", r.Name, f)
			}
		}
		if r.Probability < 0 || r.Probability > 1 {
			return fmt.Errorf("rule %q: probability %v outside [0, 1]", r.Name, r.Probability)
		}
	}
	return nil
}

// Injected counts the faults injected so far, by kind (Pass is not counted).
func (p *Proxy) Injected() map[Fault]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[Fault]int, len(p.injected))
	for k, v := range p.injected {
		out[k] = v
	}
	return out
}

// Matched counts the requests a rule matched, struck or not.
func (p *Proxy) Matched() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.matched
}

// Events lists the requests a rule matched, in order.
func (p *Proxy) Events() []Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Event(nil), p.events...)
}

// ServeHTTP decides the request's fate and carries it out.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ev, body, ok, err := p.decide(r)
	if err != nil {
		writeStatus(w, http.StatusBadGateway, &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusBadGateway,
			Reason: metav1.StatusReasonServiceUnavailable, Message: "apiproxy: reading the request body: " + err.Error()})
		return
	}
	if body != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	if !ok || ev.Fault == Pass {
		if ok {
			p.record(ev)
		}
		p.rp.ServeHTTP(w, r)
		return
	}
	gr, name := objectOf(r.URL.Path)
	switch ev.Fault {
	case Conflict409:
		p.record(ev)
		writeAPIError(w, apierrors.NewConflict(gr, name, errors.New("injected by apiproxy")))
	case TooMany429:
		p.record(ev)
		w.Header().Set("Retry-After", "1")
		writeAPIError(w, apierrors.NewTooManyRequests("injected by apiproxy", 1))
	case Error500AfterWrite, DropAfterWrite:
		ev.UpstreamStatus, ev.UpstreamError = p.forward(r, body)
		p.record(ev)
		if ev.Fault == DropAfterWrite {
			panic(http.ErrAbortHandler) // no answer: the stream (HTTP/2) or connection (HTTP/1) is reset
		}
		writeAPIError(w, apierrors.NewInternalError(errors.New("injected by apiproxy after the write")))
	}
}

// decide finds the first matching rule and draws the request's fault. body is the request's body when it
// had to be read (a rule looks into bodies), nil otherwise.
func (p *Proxy) decide(r *http.Request) (ev Event, body []byte, matched bool, err error) {
	p.mu.Lock()
	rules := p.rules
	p.mu.Unlock()
	bodyRead := false
	for i := range rules {
		rule := &rules[i]
		if !rule.matchesHead(r) {
			continue
		}
		if rule.BodyContains != "" {
			if !bodyRead {
				if r.Body != nil {
					if body, err = io.ReadAll(r.Body); err != nil {
						return Event{}, nil, false, err
					}
					_ = r.Body.Close()
				}
				if body == nil {
					body = []byte{}
				}
				bodyRead = true
			}
			if !bytes.Contains(body, []byte(rule.BodyContains)) {
				continue
			}
		}
		return p.draw(i, rule, r), body, true, nil
	}
	return Event{}, body, false, nil
}

func (rule *Rule) matchesHead(r *http.Request) bool {
	if rule.Method != "" && !strings.EqualFold(rule.Method, r.Method) {
		return false
	}
	if rule.Path != nil && !rule.Path.MatchString(r.URL.Path) {
		return false
	}
	if rule.UserAgent != "" && !strings.Contains(r.UserAgent(), rule.UserAgent) {
		return false
	}
	for k, v := range rule.Header {
		if r.Header.Get(k) != v {
			return false
		}
	}
	return true
}

// draw picks the fault for a request rule i matched and counts it.
func (p *Proxy) draw(i int, rule *Rule, r *http.Request) Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.matched++
	ev := Event{Time: time.Now(), Rule: rule.Name, Fault: Pass, Method: r.Method, Path: r.URL.Path}
	if len(rule.Script) > 0 {
		key := fmt.Sprintf("%d %s %s", i, r.Method, r.URL.Path)
		n := p.scripts[key]
		p.scripts[key] = n + 1
		if n < len(rule.Script) {
			ev.Fault = rule.Script[n]
		}
	} else if rule.Probability > 0 && p.rng.Float64() < rule.Probability {
		faults := rule.Faults
		if len(faults) == 0 {
			faults = AllFaults
		}
		ev.Fault = faults[p.rng.IntN(len(faults))]
	}
	if ev.Fault != Pass {
		p.injected[ev.Fault]++
	}
	return ev
}

func (p *Proxy) record(ev Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events = append(p.events, ev)
}

// forward sends the request to the API server and throws the answer away; it returns the API server's
// status code, or the error of a forward that got no answer. The forward is not cut short when the client
// gives up: the write is meant to land.
func (p *Proxy) forward(r *http.Request, body []byte) (int, string) {
	if body == nil && r.Body != nil {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			return 0, err.Error()
		}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), time.Minute)
	defer cancel()
	out := r.Clone(ctx)
	u := *p.upstream
	u.Path = strings.TrimSuffix(p.upstream.Path, "/") + r.URL.Path
	u.RawPath = ""
	u.RawQuery = r.URL.RawQuery
	out.URL = &u
	out.Host = p.upstream.Host
	out.RequestURI = ""
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.ContentLength = int64(len(body))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	for _, h := range []string{"Connection", "Proxy-Connection", "Keep-Alive", "Te", "Trailer", "Transfer-Encoding", "Upgrade"} {
		out.Header.Del(h)
	}
	resp, err := p.transport.RoundTrip(out)
	if err != nil {
		return 0, err.Error()
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, ""
}

// objectOf reads the group, resource and name out of an API path (/api/v1/... or /apis/g/v/...),
// for the Status of an injected error; zero values for a path of another shape.
func objectOf(path string) (schema.GroupResource, string) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	var group string
	switch {
	case len(parts) >= 2 && parts[0] == "api":
		parts = parts[2:]
	case len(parts) >= 3 && parts[0] == "apis":
		group, parts = parts[1], parts[3:]
	default:
		return schema.GroupResource{}, ""
	}
	if len(parts) > 2 && parts[0] == "namespaces" {
		parts = parts[2:]
	}
	gr := schema.GroupResource{Group: group}
	if len(parts) > 0 {
		gr.Resource = parts[0]
	}
	if len(parts) > 1 {
		return gr, parts[1]
	}
	return gr, ""
}

func writeAPIError(w http.ResponseWriter, err *apierrors.StatusError) {
	st := err.ErrStatus
	writeStatus(w, int(st.Code), &st)
}

// writeStatus answers with a metav1.Status as the API server does.
func writeStatus(w http.ResponseWriter, code int, st *metav1.Status) {
	st.TypeMeta = metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(st)
}

// selfSigned makes the proxy's certificate for 127.0.0.1, its own CA.
func selfSigned() (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "apiproxy"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, caPEM, nil
}
