package tiktoksim

import (
	"net/http"
	"slices"
	"time"
)

// faultDraw is the faults chosen for one answer.
type faultDraw struct {
	serverError, errorBody200, malformed, slow, drop bool
}

// drawFaults rolls each configured fault for an answer of endpoint ep. Callers hold s.mu.
func (s *Server) drawFaults(ep string) faultDraw {
	f := s.cfg.Faults
	if len(f.Endpoints) > 0 && !slices.Contains(f.Endpoints, ep) {
		return faultDraw{}
	}
	roll := func(p float64) bool { return p > 0 && s.rng.Float64() < p }
	d := faultDraw{serverError: roll(f.ServerError)}
	if !d.serverError {
		d.errorBody200 = roll(f.ErrorBody200)
	}
	if !d.serverError && !d.errorBody200 {
		d.drop = roll(f.Drop)
		if !d.drop {
			d.malformed = roll(f.MalformedJSON)
		}
	}
	d.slow = roll(f.Slow)
	return d
}

// finish writes rep, after the drawn faults: a slow answer waits (real time, cut short if the client
// goes away), a drop closes the connection with no answer, a malformed answer truncates the JSON.
func (s *Server) finish(w http.ResponseWriter, r *http.Request, rep reply, f faultDraw, slow time.Duration) {
	if f.slow && slow > 0 {
		t := time.NewTimer(slow)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	if f.drop {
		dropConnection(w)
		return
	}
	for k, v := range rep.header {
		w.Header()[k] = v
	}
	if f.malformed {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"data":{"publish_id":"v_pub`))
		return
	}
	writeJSON(w, rep.status, rep.body)
}

// dropConnection closes the client's connection without an answer. Over HTTP/1 it hijacks the
// connection; otherwise it aborts the handler (net/http then resets the stream).
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}
