package tiktoksim

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// TestFaults injects each fault with probability 1 and checks what the client sees and whether the
// request took effect (faults before processing must not create posts, faults after must).
func TestFaults(t *testing.T) {
	for _, tc := range []struct {
		name      string
		faults    Faults
		status    int
		code      string
		transport bool // the client gets no answer at all
		posted    bool
	}{
		{"server error", Faults{ServerError: 1}, 500, "internal_error", false, false},
		{"error body in a 200", Faults{ErrorBody200: 1}, 200, "internal_error", false, false},
		{"malformed JSON", Faults{MalformedJSON: 1}, 200, "", false, true},
		{"dropped connection", Faults{Drop: 1}, 0, "", true, true},
		{"slow answer", Faults{Slow: 1, SlowDelay: Duration(time.Millisecond)}, 200, "", false, true},
		{"other endpoint only", Faults{ServerError: 1, Endpoints: []string{EndpointStatusFetch}}, 200, "", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.Faults = tc.faults })
			b, _ := json.Marshal(pullVideo("t", "SELF_ONLY"))
			req, _ := http.NewRequest(http.MethodPost, h.srv.URL+pathVideo, bytesReader(b))
			req.Header.Set("Authorization", "Bearer "+h.tok)
			req.Header.Set("Content-Type", "application/json; charset=UTF-8")
			resp, err := h.srv.Client().Do(req)
			if tc.transport {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("want a transport error, got HTTP %d", resp.StatusCode)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				var env struct {
					Error struct{ Code string } `json:"error"`
				}
				decErr := json.NewDecoder(resp.Body).Decode(&env)
				resp.Body.Close()
				if resp.StatusCode != tc.status {
					t.Fatalf("HTTP %d, want %d", resp.StatusCode, tc.status)
				}
				if tc.name == "malformed JSON" {
					if decErr == nil {
						t.Fatalf("body decoded, want malformed JSON")
					}
				} else if code := env.Error.Code; (code == "ok" && tc.code != "") || (code != "ok" && code != tc.code) {
					t.Fatalf("code %q, want %q", code, tc.code)
				}
			}
			if got := len(h.sim.Posts()) == 1; got != tc.posted {
				t.Fatalf("post created = %v, want %v", got, tc.posted)
			}
		})
	}
}

// TestFaultRate checks a probability is honoured roughly (seeded, so the figure is exact per seed).
func TestFaultRate(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Limits = map[string]Limit{}
		c.Faults = Faults{ServerError: 0.25}
		c.Seed = 42
	})
	fails := 0
	for i := 0; i < 400; i++ {
		if h.call(pathCreator, h.tok, nil).status == 500 {
			fails++
		}
	}
	if fails < 60 || fails > 140 {
		t.Fatalf("%d of 400 calls failed with p=0.25", fails)
	}
	if got := h.sim.Stats().Get("alice", EndpointCreatorInfo).Faults["server_error"]; got != fails {
		t.Fatalf("stats count %d server errors, saw %d", got, fails)
	}
}
