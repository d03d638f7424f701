package tiktok

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// secretMark is in every token of the seeds: an error's text may hold it only where TikTok's own error
// fields (message, code, log id) do.
const secretMark = "FUZZ-SECRET"

// FuzzRefreshAnswer feeds any status and body to what RefreshToken does with an answer (judge, then
// decodeToken). It never panics and returns a token or an error, never both nor neither. A token comes
// only from a 2xx without an error code, holds the access_token the body (or its "data") carries, and
// its scopes are trimmed and non-empty. An error is an *Error of the token endpoint; it is Uncertain
// exactly when the status is 2xx with no error code (TikTok may have rotated the refresh token), and its
// text never shows a token.
func FuzzRefreshAnswer(f *testing.F) {
	for _, s := range []struct {
		status int
		body   string
	}{
		{200, `{"access_token":"act.FUZZ-SECRET-1","expires_in":86400,"open_id":"o","refresh_token":"rft.FUZZ-SECRET-2",` +
			`"refresh_expires_in":31536000,"scope":"user.info.basic,video.publish","token_type":"Bearer"}`},
		{200, `{"data":{"access_token":"act.FUZZ-SECRET-1","refresh_token":"rft.FUZZ-SECRET-2","scope":" a, ,b ,"},"error":{"code":"ok"}}`},
		{200, `{"access_token":"","refresh_token":"rft.FUZZ-SECRET-2"}`},
		{200, `{"access_token":7,"refresh_token":"rft.FUZZ-SECRET-2"}`},
		{200, `{"access_token":"act.FUZZ-SECRET-1","expires_in":"86400"}`},
		{200, `{"access_token":"act.FUZZ-SECRET-1","error":"invalid_grant"}`},
		{200, `{"access_token":"act.FUZZ-SECRET-1","error":{"code":"internal_error","log_id":"L"}}`},
		{200, `{"data":"act.FUZZ-SECRET-1","access_token":"act.FUZZ-SECRET-1"}`},
		{200, `{"ACCESS_TOKEN":"act.FUZZ-SECRET-1","access_token":"act.FUZZ-SECRET-3"}`},
		{400, `{"error":"invalid_grant","error_description":"Refresh token is invalid or expired.","log_id":"L"}`},
		{401, `{"error":"invalid_client","error_description":"act.FUZZ-SECRET-1 is echoed by TikTok"}`},
		{500, `{"access_token":"act.FUZZ-SECRET-1"}`},
		{502, `<html>bad gateway</html>`},
		{200, ``}, {200, `null`}, {200, `[]`}, {200, `{"data":null}`}, {204, `{}`}, {429, ``},
	} {
		f.Add(s.status, []byte(s.body))
	}
	c := New(Options{})
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 599 {
			status = 100 + (status%500+500)%500
		}
		a := answer{status: status, header: http.Header{}, body: body}
		var (
			tok *Token
			err error
		)
		if e := c.judge(EndpointOAuthToken, &a, nil); e != nil {
			err = e
		} else {
			tok, err = decodeToken(a)
		}
		success := status >= 200 && status < 300
		if (tok == nil) == (err == nil) {
			t.Fatalf("HTTP %d %q: token %+v and error %v", status, body, tok, err)
		}
		if err != nil {
			var te *Error
			if !errors.As(err, &te) || te.Endpoint != EndpointOAuthToken || te.Class == OK {
				t.Fatalf("HTTP %d %q: error %#v", status, body, err)
			}
			if uncertain := success && te.Code == ""; (te.Class == Uncertain) != uncertain {
				t.Fatalf("HTTP %d %q: class %v, want Uncertain exactly for a 2xx without an error code", status, body, te.Class)
			}
			if msg := err.Error(); strings.Contains(msg, secretMark) &&
				!strings.Contains(te.Message+te.Code+te.LogID, secretMark) {
				t.Fatalf("HTTP %d %q: the error shows a token: %s", status, body, msg)
			}
			return
		}
		if !success || a.env.code() != "" || tok.AccessToken == "" {
			t.Fatalf("HTTP %d %q: token %+v", status, body, tok)
		}
		if !carries(a.body, string(tok.AccessToken)) && !carries(a.env.Data, string(tok.AccessToken)) {
			t.Fatalf("HTTP %d %q: access token %q is not the body's", status, body, tok.AccessToken)
		}
		for _, s := range tok.Scope {
			if s == "" || s != strings.TrimSpace(s) || strings.Contains(s, ",") {
				t.Fatalf("HTTP %d %q: scope %q", status, body, tok.Scope)
			}
		}
	})
}

// carries reports whether the JSON object obj has a member named access_token (in any case, as
// encoding/json matches names) whose value is the string v.
func carries(obj []byte, v string) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(obj, &m) != nil {
		return false
	}
	for k, raw := range m {
		var s string
		if strings.EqualFold(k, "access_token") && json.Unmarshal(raw, &s) == nil && s == v {
			return true
		}
	}
	return false
}
