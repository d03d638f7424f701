package tiktoksim

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// Server is the simulator. It implements http.Handler; serve it with httptest.NewServer in tests or
// with cmd/tiktok-sim. All state sits behind one mutex: simple, and fast enough (see docs/simulator.md).
type Server struct {
	clock clock.PassiveClock

	mu      sync.Mutex
	cfg     Config
	rng     *rand.Rand
	last    time.Time // latest time seen; time never goes backwards inside the simulator
	seq     int64
	acct    map[string]*account  // by name
	active  map[string]time.Time // account name -> last accepted init, for the unaudited app's user cap
	access  map[string]*tokenRec // by access token
	refresh map[string]*tokenRec // by refresh token
	rate    map[rateKey]*rateState
	burst   map[string]*timeLog // by access token
	posts   map[string]*post    // by publish id
	order   []*post
	uploads map[string]*upload // by upload id
	stats   map[statKey]*endpointStats
	login   loginKit // Login Kit's consent pages and codes (authorize.go)
}

// Option configures New.
type Option func(*Server)

// WithClock sets the clock used to stamp requests and to age windows, tokens and processing; tests
// use a fake clock. Default: the real clock.
func WithClock(c clock.PassiveClock) Option { return func(s *Server) { s.clock = c } }

type rateKey struct{ key, endpoint string }

// rateState is one (token, endpoint) limit: its log of accepted calls and its penalty lockout.
type rateState struct {
	log         timeLog
	lockedUntil time.Time
}

type tokenRec struct {
	account *account
	expires time.Time
}

type account struct {
	Account
	pendingLog timeLog // inbox shares, for the pending-share cap
	dailyLog   timeLog // direct posts, for the daily cap
	// windows of accepted calls per endpoint across all the account's tokens, for MaxAcceptedInWindow
	seen map[string]*timeLog
}

// New returns a simulator with cfg (see DefaultConfig). Accounts in cfg are registered as given.
func New(cfg Config, opts ...Option) *Server {
	s := &Server{
		clock:   clock.RealClock{},
		acct:    map[string]*account{},
		active:  map[string]time.Time{},
		access:  map[string]*tokenRec{},
		refresh: map[string]*tokenRec{},
		rate:    map[rateKey]*rateState{},
		burst:   map[string]*timeLog{},
		posts:   map[string]*post{},
		uploads: map[string]*upload{},
		stats:   map[statKey]*endpointStats{},
		login:   loginKit{consents: map[string]*consent{}, codes: map[string]*authCode{}},
	}
	for _, o := range opts {
		o(s)
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = 1
	}
	s.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	accounts := cfg.Accounts
	cfg.Accounts = nil
	s.cfg = cfg
	for _, a := range accounts {
		if _, err := s.AddAccount(a); err != nil {
			panic(fmt.Sprintf("tiktoksim: %v", err)) // Validate catches this for loaded configs
		}
	}
	return s
}

// now returns the clock's time, never earlier than a time already used. Callers hold s.mu.
func (s *Server) now() time.Time {
	t := s.clock.Now()
	if t.Before(s.last) {
		return s.last
	}
	s.last = t
	return t
}

// ServeHTTP routes TikTok's paths, the upload URL and the /sim introspection API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if strings.HasPrefix(path, "/sim/") {
		s.serveAdmin(w, r)
		return
	}
	var ep string
	var h func(*call) reply
	switch path {
	case "/v2/post/publish/creator_info/query/":
		ep, h = EndpointCreatorInfo, s.creatorInfo
	case "/v2/post/publish/video/init/":
		ep, h = EndpointVideoInit, s.videoInit
	case "/v2/post/publish/inbox/video/init/":
		ep, h = EndpointInboxInit, s.inboxInit
	case "/v2/post/publish/content/init/":
		ep, h = EndpointContentInit, s.contentInit
	case "/v2/post/publish/status/fetch/":
		ep, h = EndpointStatusFetch, s.statusFetch
	case "/v2/post/publish/cancel/":
		ep, h = EndpointCancel, s.cancel
	case "/v2/oauth/token/":
		s.serveOAuth(w, r)
		return
	case AuthorizePath:
		s.serveAuthorize(w, r)
		return
	case "/upload/", "/upload":
		s.serveUpload(w, r)
		return
	default:
		writeJSON(w, http.StatusNotFound, errBody("not_found", "no such endpoint: "+path, s.logID()))
		return
	}
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, errBody("invalid_param", "method must be POST", s.logID()))
		return
	}
	s.serveAPI(w, r, ep, h)
}

// call is one authenticated API request, processed under s.mu.
type call struct {
	r       *http.Request
	body    []byte
	now     time.Time
	acct    *account
	token   string
	logID   string
	baseURL string
}

// reply is what a handler decided; the fault layer may still mangle it on the way out.
type reply struct {
	status int
	body   any
	header http.Header
}

// serveAPI runs one content-endpoint call: fault before, auth, rate gate, handler, fault after.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, ep string, h func(*call) reply) {
	body, err := readBody(r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, errBody("invalid_param", "unreadable body", s.logID()))
		return
	}
	s.mu.Lock()
	c := &call{r: r, body: body, now: s.now(), baseURL: s.baseURL(r)}
	c.logID = s.newLogID(c.now)
	tok := bearer(r)
	rec := s.access[tok]
	acctName := unknownAccount
	if rec != nil {
		acctName = rec.account.Name
	}
	st := s.statsFor(acctName, ep)
	st.Calls++
	f := s.drawFaults(ep)
	var rep reply
	switch {
	case f.serverError:
		st.Faults["server_error"]++
		rep = reply{status: http.StatusInternalServerError, body: errBody("internal_error", "simulated server error", c.logID)}
	case f.errorBody200:
		st.Faults["error_body_200"]++
		rep = reply{status: http.StatusOK, body: errBody("internal_error", "simulated error in a 200 answer", c.logID)}
	case rec == nil || !c.now.Before(rec.expires):
		rep = reply{status: http.StatusUnauthorized,
			body: errBody("access_token_invalid", "The access token is invalid or not found in the request.", c.logID)}
	case !jsonContentType(r):
		// TikTok's docs name the header but not the answer to another one: a deliberate choice (docs/simulator.md).
		rep = reply{status: http.StatusBadRequest,
			body: errBody("invalid_param", "Content-Type must be application/json; charset=UTF-8", c.logID)}
	default:
		c.acct, c.token = rec.account, tok
		if reason, retry := s.admit(tok, rec.account, ep, c.now, st); reason != "" {
			rep = reply{status: http.StatusTooManyRequests,
				body: errBody("rate_limit_exceeded", "API rate limit was exceeded ("+reason+")", c.logID)}
			if s.cfg.RetryAfterHeader && retry > 0 {
				secs := int64((retry + time.Second - 1) / time.Second)
				rep.header = http.Header{"Retry-After": {fmt.Sprint(secs)}}
			}
		} else {
			rep = h(c)
		}
	}
	if code := replyCode(rep); code != "" {
		st.Errors[code]++
	}
	if f.malformed {
		st.Faults["malformed_json"]++
	}
	if f.drop {
		st.Faults["drop"]++
	}
	if f.slow {
		st.Faults["slow"]++
	}
	slow := s.cfg.Faults.SlowDelay.D()
	s.mu.Unlock()
	s.finish(w, r, rep, f, slow)
}

// admit is the rate gate for an authenticated call: lockout, burst, then the endpoint's window. It
// returns "" when the call is accepted (and logs it), or the refusal reason. Callers hold s.mu.
func (s *Server) admit(key string, a *account, ep string, now time.Time, st *endpointStats) (reason string, retryIn time.Duration) {
	lim := s.cfg.Limits[ep]
	rs := s.rate[rateKey{key, ep}]
	if rs == nil {
		rs = &rateState{}
		s.rate[rateKey{key, ep}] = rs
	}
	penalty := s.cfg.Penalty.D()
	if now.Before(rs.lockedUntil) {
		if penalty > 0 {
			rs.lockedUntil = rs.lockedUntil.Add(penalty)
			st.LockoutExtensions++
		}
		st.RateLimited["lockout"]++
		return "lockout", rs.lockedUntil.Sub(now)
	}
	if b := s.cfg.Burst; b.Enabled {
		bl := s.burst[key]
		if bl == nil {
			bl = &timeLog{}
			s.burst[key] = bl
		}
		bl.count(now, b.Within.D())
		bl.add(now) // every call counts towards a burst, refused ones too
		if len(bl.times) > b.Calls {
			st.RateLimited["burst"]++
			return "burst", b.Within.D()
		}
	}
	if lim.Requests > 0 {
		if !rs.log.fits(now, lim.Requests, lim.Window.D()) {
			free := rs.log.freeAt(lim.Window.D())
			if penalty > 0 {
				rs.lockedUntil = free.Add(penalty)
				st.LockoutExtensions++
				free = rs.lockedUntil
			}
			st.RateLimited["window"]++
			return "window", free.Sub(now)
		}
		rs.log.add(now)
		seen := a.seen[ep]
		if seen == nil {
			seen = &timeLog{}
			a.seen[ep] = seen
		}
		seen.add(now)
		if n := seen.count(now, lim.Window.D()); n > st.MaxAcceptedInWindow {
			st.MaxAcceptedInWindow = n
		}
	}
	st.Accepted++
	return "", 0
}

// baseURL is where this simulator is reachable, for the upload URLs it hands out.
func (s *Server) baseURL(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimRight(s.cfg.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Server) newLogID(now time.Time) string {
	s.seq++
	return fmt.Sprintf("%s%08X", now.UTC().Format("20060102150405"), s.seq)
}

// logID takes the lock and returns a new log id, for answers given outside a locked section.
func (s *Server) logID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newLogID(s.now())
}

// isMediaType reports whether the request's Content-Type is want (parameters aside).
func isMediaType(r *http.Request, want string) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == want
}

// jsonContentType reports whether the request's Content-Type is TikTok's application/json; charset=UTF-8
// or a bare application/json; any other charset or parameter is refused.
func jsonContentType(r *http.Request) bool {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return false
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return false
		}
	}
	return true
}

func (s *Server) nextSeq() int64 {
	s.seq++
	return s.seq
}

func bearer(r *http.Request) string {
	v := r.Header.Get("Authorization")
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		return strings.TrimSpace(v[7:])
	}
	return ""
}

// errBody is TikTok's error envelope.
func errBody(code, msg, logID string) map[string]any {
	return map[string]any{keyError: map[string]string{"code": code, "message": msg, "log_id": logID}}
}

// okBody is TikTok's success envelope around data.
func okBody(data any, logID string) map[string]any {
	return map[string]any{"data": data, keyError: map[string]string{"code": "ok", "message": "", "log_id": logID}}
}

// replyCode extracts the error code of a reply ("" for ok), for the statistics.
func replyCode(rep reply) string {
	m, ok := rep.body.(map[string]any)
	if !ok {
		return ""
	}
	switch e := m["error"].(type) {
	case map[string]string:
		if e["code"] != "ok" {
			return e["code"]
		}
	case string:
		return e
	}
	return ""
}

// encodeFallback is the answer when a body cannot be encoded: TikTok's error envelope, valid JSON.
const encodeFallback = `{"error":{"code":"internal_error","message":"the simulator could not encode its answer","log_id":""}}`

func writeJSON(w http.ResponseWriter, status int, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(encodeFallback)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=UTF-8")
	h.Set("Content-Length", fmt.Sprint(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
