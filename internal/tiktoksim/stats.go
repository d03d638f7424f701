package tiktoksim

// statKey is (account name, endpoint): statistics never hold a token.
type statKey struct{ account, endpoint string }

// EndpointStats counts one account's calls to one endpoint.
type EndpointStats struct {
	// Calls received, whatever happened to them.
	Calls int `json:"calls"`
	// Accepted by the rate gate (an accepted call can still fail validation, e.g. privacy mismatch).
	Accepted int `json:"accepted"`
	// RateLimited counts 429s by reason: "window", "burst", "lockout".
	RateLimited map[string]int `json:"rate_limited"`
	// LockoutExtensions counts penalty extensions.
	LockoutExtensions int `json:"lockout_extensions"`
	// MaxAcceptedInWindow is the most accepted calls seen in any window of the endpoint's limit, across
	// all the account's tokens: the referee's figure for "never over quota". 0 for unlimited endpoints.
	MaxAcceptedInWindow int `json:"max_accepted_in_window"`
	// Errors counts answers by error code (429s included).
	Errors map[string]int `json:"errors"`
	// Faults counts injected faults by kind.
	Faults map[string]int `json:"faults"`
}

type endpointStats = EndpointStats

// Stats is every account's statistics, by account name then endpoint name.
type Stats struct {
	Accounts map[string]map[string]EndpointStats `json:"accounts"`
}

// Get returns the statistics of one account and endpoint (zero if none).
func (s Stats) Get(account, endpoint string) EndpointStats {
	return s.Accounts[account][endpoint]
}

// statsFor returns the live counters of (account, endpoint), creating them. Callers hold s.mu.
func (s *Server) statsFor(account, endpoint string) *EndpointStats {
	k := statKey{account, endpoint}
	st := s.stats[k]
	if st == nil {
		st = &EndpointStats{RateLimited: map[string]int{}, Errors: map[string]int{}, Faults: map[string]int{}}
		s.stats[k] = st
	}
	return st
}

// Stats returns a copy of the statistics.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Stats{Accounts: map[string]map[string]EndpointStats{}}
	for k, st := range s.stats {
		m := out.Accounts[k.account]
		if m == nil {
			m = map[string]EndpointStats{}
			out.Accounts[k.account] = m
		}
		cp := *st
		cp.RateLimited = copyMap(st.RateLimited)
		cp.Errors = copyMap(st.Errors)
		cp.Faults = copyMap(st.Faults)
		m[k.endpoint] = cp
	}
	return out
}

func copyMap(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
