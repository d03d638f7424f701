package tiktoksim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

func TestAdminAPI(t *testing.T) {
	h := newHarness(t, nil)
	get := func(path string) string {
		resp, err := http.Get(h.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: HTTP %d %s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	post := func(path, body string) (int, string) {
		resp, err := http.Post(h.srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, body := post("/sim/accounts", `{"name":"carol","creator":{"nickname":"Carol"}}`)
	if status != http.StatusCreated {
		t.Fatalf("add account: HTTP %d %s", status, body)
	}
	var carol Account
	if err := json.Unmarshal([]byte(body), &carol); err != nil || carol.AccessToken == "" || carol.RefreshToken == "" {
		t.Fatalf("add account answer %s: %v", body, err)
	}
	if status, _ := post("/sim/accounts", `{"name":"carol"}`); status != http.StatusConflict {
		t.Fatalf("duplicate account: HTTP %d", status)
	}
	if a := h.call(pathVideo, carol.AccessToken, pullVideo("from carol", "PUBLIC_TO_EVERYONE")); a.status != 200 {
		t.Fatalf("carol's post: HTTP %d %s", a.status, a.raw)
	}
	h.call(pathCreator, h.tok, nil)
	h.call(pathCreator, "act.wrong", nil)

	var stats Stats
	statsJSON := get("/sim/stats")
	if err := json.Unmarshal([]byte(statsJSON), &stats); err != nil {
		t.Fatal(err)
	}
	if stats.Get("carol", EndpointVideoInit).Accepted != 1 || stats.Get("alice", EndpointCreatorInfo).Calls != 1 ||
		stats.Get(unknownAccount, EndpointCreatorInfo).Errors["access_token_invalid"] != 1 {
		t.Fatalf("stats: %s", statsJSON)
	}
	var posts []AcceptedPost
	if err := json.Unmarshal([]byte(get("/sim/posts")), &posts); err != nil || len(posts) != 1 || posts[0].Title != "from carol" || posts[0].Account != "carol" {
		t.Fatalf("posts: %+v %v", posts, err)
	}
	accounts := get("/sim/accounts")
	if !strings.Contains(accounts, `"carol"`) || !strings.Contains(accounts, `"alice"`) {
		t.Fatalf("accounts: %s", accounts)
	}
	if status, body := post("/sim/ban?account=carol", ""); status != 200 {
		t.Fatalf("ban: %d %s", status, body)
	}
	if a := h.call(pathVideo, carol.AccessToken, pullVideo("x", "SELF_ONLY")); a.code != "spam_risk_user_banned_from_posting" {
		t.Fatalf("after ban: %s", a.raw)
	}
	if status, _ := post("/sim/expire-tokens?account=alice", ""); status != 200 {
		t.Fatalf("expire-tokens: %d", status)
	}
	if a := h.call(pathCreator, h.tok, nil); a.status != 401 {
		t.Fatalf("after expire-tokens: HTTP %d", a.status)
	}
	if status, _ := post("/sim/faults", `{"server_error":1}`); status != 200 {
		t.Fatalf("faults: %d", status)
	}
	if a := h.call(pathCreator, carol.AccessToken, nil); a.status != 500 {
		t.Fatalf("after /sim/faults: HTTP %d", a.status)
	}
	h.refresh("ck", "secret-alice", "rft.alice")

	// No secret of any account appears in what /sim/stats, /sim/posts or /sim/accounts serve.
	all := get("/sim/stats") + get("/sim/posts") + accounts
	newAcc, newRef, _ := h.sim.Tokens("alice")
	for _, secret := range []string{"act.alice", "rft.alice", "secret-alice", carol.AccessToken, carol.RefreshToken, carol.ClientSecret, newAcc, newRef, "act.wrong"} {
		if strings.Contains(all, secret) {
			t.Fatalf("secret %q leaked into the /sim API", secret)
		}
	}
}
