package apiproxy

import (
	"bufio"
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// upstream is a stand-in API server over HTTPS (HTTP/2): it records what reaches it, echoes PUT bodies,
// and streams a watch in two parts, the second only once release is closed.
type upstream struct {
	srv     *httptest.Server
	release chan struct{}

	mu   sync.Mutex
	reqs []seen
}

type seen struct{ method, path, auth, userAgent, body string }

func newUpstream(t *testing.T) *upstream {
	t.Helper()
	u := &upstream{release: make(chan struct{})}
	u.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.reqs = append(u.reqs, seen{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.UserAgent(), string(body)})
		u.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Query().Get("watch") == "true":
			_, _ = io.WriteString(w, `{"type":"ADDED","object":{"kind":"ConfigMap","apiVersion":"v1"}}`+"\n")
			w.(http.Flusher).Flush()
			select {
			case <-u.release:
			case <-r.Context().Done():
				return
			}
			_, _ = io.WriteString(w, `{"type":"DELETED","object":{"kind":"ConfigMap","apiVersion":"v1"}}`+"\n")
		case r.Method == http.MethodPut:
			_, _ = w.Write(body)
		default:
			_, _ = io.WriteString(w, `{}`)
		}
	}))
	u.srv.EnableHTTP2 = true
	u.srv.StartTLS()
	t.Cleanup(u.srv.Close)
	return u
}

// config is how the proxy reaches the stand-in: its CA and a bearer token the proxy must send.
func (u *upstream) config() *rest.Config {
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: u.srv.Certificate().Raw})
	return &rest.Config{Host: u.srv.URL, BearerToken: "upstream-token", TLSClientConfig: rest.TLSClientConfig{CAData: ca}}
}

func (u *upstream) count(method string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := 0
	for _, r := range u.reqs {
		if r.method == method {
			n++
		}
	}
	return n
}

func (u *upstream) last() seen {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.reqs[len(u.reqs)-1]
}

func start(t *testing.T, up *upstream, opts Options) *Proxy {
	t.Helper()
	p, err := New(up.config(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func httpClient(t *testing.T, p *Proxy) *http.Client {
	t.Helper()
	rt, err := rest.TransportFor(p.Config())
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: rt, Timeout: 10 * time.Second}
}

// A watch streams through event by event, over HTTP/2 and the proxy's own CA, with the upstream's
// credentials added by the proxy (the client has none).
func TestPassesThroughAndStreams(t *testing.T) {
	up := newUpstream(t)
	p := start(t, up, Options{})
	if cfg := p.Config(); cfg.BearerToken != "" || len(cfg.CertData) != 0 || !strings.HasPrefix(cfg.Host, "https://127.0.0.1:") {
		t.Fatalf("the client config carries credentials or another host: %+v", cfg)
	}
	rt, err := rest.TransportFor(p.Config())
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: rt} // no timeout: the watch stays open until release
	resp, err := c.Get(p.URL() + "/api/v1/namespaces/ns/configmaps?watch=true")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.ProtoMajor != 2 {
		t.Errorf("the client spoke %s to the proxy, want HTTP/2", resp.Proto)
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	select {
	case l := <-lines:
		if !strings.Contains(l, "ADDED") {
			t.Fatalf("first watch line %q", l)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the first watch event did not come through while the upstream held the stream open: not flushed")
	}
	close(up.release)
	select {
	case l := <-lines:
		if !strings.Contains(l, "DELETED") {
			t.Fatalf("second watch line %q", l)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the second watch event did not come through")
	}
	if got := up.last().auth; got != "Bearer upstream-token" {
		t.Errorf("the upstream saw Authorization %q, want the upstream config's token", got)
	}
	if p.Matched() != 0 || len(p.Injected()) != 0 {
		t.Errorf("no rule, yet matched %d, injected %v", p.Matched(), p.Injected())
	}
}

// Each fault as client-go reports it, and whether the write reached the API server.
func TestFaultsAsClientGoSeesThem(t *testing.T) {
	up := newUpstream(t)
	p := start(t, up, Options{Rules: []Rule{{
		Name: "cm", Method: http.MethodPut, UserAgent: "victim",
		Path:   regexp.MustCompile(`^/api/v1/namespaces/ns/configmaps/[^/]+$`),
		Script: []Fault{Conflict409, Error500AfterWrite, DropAfterWrite, TooMany429},
	}}})
	victimCfg, bystanderCfg := p.Config(), p.Config()
	victimCfg.UserAgent = "victim/1.0"
	victimCfg.ContentType, bystanderCfg.ContentType = "application/json", "application/json" // the stand-in echoes bodies
	victim := kubernetes.NewForConfigOrDie(victimCfg)
	bystander := kubernetes.NewForConfigOrDie(bystanderCfg)
	ctx := context.Background()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm", Namespace: "ns"}, Data: map[string]string{"k": "v"}}
	update := func(cs kubernetes.Interface) error {
		_, err := cs.CoreV1().ConfigMaps("ns").Update(ctx, cm, metav1.UpdateOptions{})
		return err
	}

	// Another client's writes are not struck and do not advance the script.
	if err := update(bystander); err != nil {
		t.Fatalf("bystander: %v", err)
	}
	if n := up.count(http.MethodPut); n != 1 {
		t.Fatalf("upstream PUTs %d, want 1", n)
	}

	err := update(victim)
	if !apierrors.IsConflict(err) {
		t.Errorf("1st: %v, want a Conflict", err)
	}
	if n := up.count(http.MethodPut); n != 1 {
		t.Errorf("1st (409): upstream PUTs %d, want still 1: a 409 is not forwarded", n)
	}

	err = update(victim)
	if !apierrors.IsInternalError(err) {
		t.Errorf("2nd: %v, want an InternalError", err)
	}
	if n := up.count(http.MethodPut); n != 2 {
		t.Errorf("2nd (500 after write): upstream PUTs %d, want 2: the write goes through", n)
	}
	if got := up.last(); got.userAgent != "victim/1.0" || !strings.Contains(got.body, `"k":"v"`) {
		t.Errorf("the forwarded write lost its User-Agent or body: %+v", got)
	}

	err = update(victim)
	if err == nil || apierrors.ReasonForError(err) != metav1.StatusReasonUnknown {
		t.Errorf("3rd: %v (reason %q), want a transport error with no API status", err, apierrors.ReasonForError(err))
	}
	if n := up.count(http.MethodPut); n != 3 {
		t.Errorf("3rd (drop after write): upstream PUTs %d, want 3", n)
	}

	// client-go waits for Retry-After and sends the write again; the script is over, the retry passes.
	t0 := time.Now()
	if err := update(victim); err != nil {
		t.Errorf("4th: %v, want client-go to retry the 429 itself and succeed", err)
	}
	if d := time.Since(t0); d < time.Second {
		t.Errorf("4th took %s, want at least the 1 s of Retry-After", d)
	}
	if n := up.count(http.MethodPut); n != 4 {
		t.Errorf("4th (429, then client-go's retry): upstream PUTs %d, want 4", n)
	}

	want := map[Fault]int{Conflict409: 1, Error500AfterWrite: 1, DropAfterWrite: 1, TooMany429: 1}
	if got := p.Injected(); !maps.Equal(got, want) {
		t.Errorf("injected %v, want %v", got, want)
	}
	var faults []Fault
	for _, ev := range p.Events() {
		faults = append(faults, ev.Fault)
		if (ev.Fault == Error500AfterWrite || ev.Fault == DropAfterWrite) && ev.UpstreamStatus != http.StatusOK {
			t.Errorf("%s: upstream status %d (%s), want 200", ev.Fault, ev.UpstreamStatus, ev.UpstreamError)
		}
	}
	if want := []Fault{Conflict409, Error500AfterWrite, DropAfterWrite, TooMany429, Pass}; !slices.Equal(faults, want) {
		t.Errorf("events %v, want %v", faults, want)
	}
}

// The refusals are metav1.Status bodies as the API server writes them; the body rule looks into bodies
// and the script runs per object.
func TestStatusBodiesAndBodyRules(t *testing.T) {
	up := newUpstream(t)
	p := start(t, up, Options{Rules: []Rule{{
		Method: http.MethodPut, BodyContains: `"phase":"Processing"`,
		Path:   regexp.MustCompile(`/tiktokposts/[^/]+/status$`),
		Script: []Fault{Conflict409, TooMany429},
	}}})
	c := httpClient(t, p)
	put := func(name, body string) (*http.Response, metav1.Status) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPut, p.URL()+"/apis/publish.example/v1/namespaces/ns/tiktokposts/"+name+"/status", strings.NewReader(body))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		var st metav1.Status
		b, _ := io.ReadAll(resp.Body)
		_ = json.Unmarshal(b, &st)
		return resp, st
	}
	processing := `{"status":{"phase":"Processing"}}`
	if resp, _ := put("a", `{"status":{"phase":"Publishing"}}`); resp.StatusCode != 200 {
		t.Errorf("a body without the phrase: %d, want 200", resp.StatusCode)
	}
	resp, st := put("a", processing)
	if resp.StatusCode != 409 || st.Kind != "Status" || st.Reason != metav1.StatusReasonConflict ||
		st.Details == nil || st.Details.Name != "a" || st.Details.Group != "publish.example" || st.Details.Kind != "tiktokposts" {
		t.Errorf("1st: %d %+v, want 409 Conflict naming tiktokposts.publish.example a", resp.StatusCode, st)
	}
	resp, st = put("a", processing)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1" || st.Reason != metav1.StatusReasonTooManyRequests {
		t.Errorf("2nd: %d (Retry-After %q) %+v, want 429 TooManyRequests with Retry-After 1", resp.StatusCode, resp.Header.Get("Retry-After"), st)
	}
	if resp, _ := put("a", processing); resp.StatusCode != 200 {
		t.Errorf("3rd: %d, want 200 once the script is over", resp.StatusCode)
	}
	if resp, _ := put("b", processing); resp.StatusCode != 409 {
		t.Errorf("another object: %d, want 409: the script runs per object", resp.StatusCode)
	}
	if n := up.count(http.MethodPut); n != 2 {
		t.Errorf("upstream PUTs %d, want 2 (the one without the phrase, the third)", n)
	}
	if got := up.last().body; got != processing {
		t.Errorf("the upstream got body %q after the proxy read it, want %q", got, processing)
	}
}

// The same seed and the same sequence of requests give the same faults.
func TestSeededDraws(t *testing.T) {
	up := newUpstream(t)
	run := func(seed uint64) []Fault {
		p := start(t, up, Options{Seed: seed, Rules: []Rule{{Method: http.MethodPost, Probability: 0.3,
			Faults: []Fault{Conflict409, TooMany429}}}})
		c := httpClient(t, p)
		for range 300 {
			resp, err := c.Post(p.URL()+"/api/v1/namespaces/ns/configmaps", "application/json", strings.NewReader(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
		}
		var out []Fault
		for _, ev := range p.Events() {
			out = append(out, ev.Fault)
		}
		inj := p.Injected()
		struck := inj[Conflict409] + inj[TooMany429]
		if struck < 60 || struck > 120 || inj[Conflict409] == 0 || inj[TooMany429] == 0 {
			t.Errorf("seed %d: injected %v of 300 at 30%%", seed, inj)
		}
		return out
	}
	a, b, c := run(1), run(1), run(2)
	if !slices.Equal(a, b) {
		t.Errorf("the same seed gave different faults")
	}
	if slices.Equal(a, c) {
		t.Errorf("another seed gave the same faults")
	}
}
