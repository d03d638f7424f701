package tiktoksim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// maxBody bounds the API request bodies the simulator reads (TikTok's are small JSON documents).
const maxBody = 1 << 20

// serveAdmin is the /sim/ introspection and control API, which TikTok does not have:
//
//	GET  /sim/stats                 Stats
//	GET  /sim/posts                 []AcceptedPost
//	GET  /sim/accounts              []AccountInfo (no secrets)
//	POST /sim/accounts              Account JSON; answers the Account in force, tokens included
//	POST /sim/faults                Faults JSON; replaces the fault settings
//	POST /sim/ban?account=N&banned=true|false
//	POST /sim/expire-tokens?account=N
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	get, post := r.Method == http.MethodGet, r.Method == http.MethodPost
	acct := r.URL.Query().Get("account")
	switch {
	case r.URL.Path == "/sim/stats" && get:
		writeJSON(w, http.StatusOK, s.Stats())
	case r.URL.Path == "/sim/posts" && get:
		writeJSON(w, http.StatusOK, s.Posts())
	case r.URL.Path == "/sim/accounts" && get:
		writeJSON(w, http.StatusOK, s.Accounts())
	case r.URL.Path == "/sim/accounts" && post:
		var a Account
		if err := decodeAdmin(r, &a); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{keyError: err.Error()})
			return
		}
		got, err := s.AddAccount(a)
		if err != nil {
			writeJSON(w, http.StatusConflict, map[string]string{keyError: err.Error()})
			return
		}
		writeJSON(w, http.StatusCreated, got)
	case r.URL.Path == "/sim/faults" && post:
		var f Faults
		if err := decodeAdmin(r, &f); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{keyError: err.Error()})
			return
		}
		s.SetFaults(f)
		writeJSON(w, http.StatusOK, f)
	case r.URL.Path == "/sim/ban" && post:
		adminResult(w, s.Ban(acct, r.URL.Query().Get("banned") != "false"))
	case r.URL.Path == "/sim/expire-tokens" && post:
		adminResult(w, s.ExpireAccessTokens(acct))
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{keyError: "no such /sim route or method"})
	}
}

func adminResult(w http.ResponseWriter, err error) {
	if err != nil {
		writeJSON(w, http.StatusNotFound, map[string]string{keyError: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"result": "ok"})
}

func decodeAdmin(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode body: %w", err)
	}
	return nil
}

// SetFaults replaces the fault settings.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.Faults = f
}

// SetLimit sets endpoint's limit to n calls per window (n 0: unlimited). Logged calls are kept, so the
// new limit applies to the calls already in the window.
func (s *Server) SetLimit(endpoint string, n int, window time.Duration) {
	s.UpdateConfig(func(c *Config) {
		if c.Limits == nil {
			c.Limits = map[string]Limit{}
		}
		c.Limits[endpoint] = Limit{Requests: n, Window: Duration(window)}
	})
}

// UpdateConfig changes the configuration under the simulator's lock. Changing Accounts has no effect
// (use AddAccount, Ban, ExpireAccessTokens).
func (s *Server) UpdateConfig(f func(*Config)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	limits := make(map[string]Limit, len(s.cfg.Limits))
	for k, v := range s.cfg.Limits {
		limits[k] = v
	}
	s.cfg.Limits = limits
	f(&s.cfg)
	s.cfg.Accounts = nil
}

// Config returns a copy of the configuration in force (without accounts).
func (s *Server) Config() Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cfg
	c.Limits = make(map[string]Limit, len(s.cfg.Limits))
	for k, v := range s.cfg.Limits {
		c.Limits[k] = v
	}
	return c
}

func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxBody {
		return nil, errors.New("body too large")
	}
	return b, nil
}

func parseForm(body []byte, readErr error) (url.Values, error) {
	if readErr != nil {
		return nil, readErr
	}
	return url.ParseQuery(string(body))
}
