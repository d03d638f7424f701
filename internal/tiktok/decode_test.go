package tiktok

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"
)

func TestJudgeAnswers(t *testing.T) {
	c := New(Options{})
	for _, tc := range []struct {
		name   string
		status int
		body   string
		header http.Header
		want   *Error // nil: success
	}{
		{"ok", 200, `{"data":{"publish_id":"p"},"error":{"code":"ok","message":"","log_id":"L1"}}`, nil, nil},
		{"ok without error object", 200, `{"data":{}}`, nil, nil},
		{"200 with error body", 200, `{"error":{"code":"spam_risk_too_many_posts","message":"m","log_id":"L2"}}`, nil,
			&Error{HTTPStatus: 200, Code: "spam_risk_too_many_posts", Message: "m", LogID: "L2", Class: Terminal}},
		{"logid spelling", 403, `{"error":{"code":"url_ownership_unverified","message":"m","logid":"L3"}}`, nil,
			&Error{HTTPStatus: 403, Code: "url_ownership_unverified", Message: "m", LogID: "L3", Class: Terminal}},
		{"429 with Retry-After", 429, `{"error":{"code":"rate_limit_exceeded","message":"slow down","log_id":"L4"}}`, http.Header{"Retry-After": {"7"}},
			&Error{HTTPStatus: 429, Code: "rate_limit_exceeded", Message: "slow down", LogID: "L4", RetryAfter: 7e9, Class: RateLimited}},
		{"429 without body", 429, ``, nil, &Error{HTTPStatus: 429, Class: RateLimited}},
		{"token invalid", 401, `{"error":{"code":"access_token_invalid","message":"m","log_id":"L5"}}`, nil,
			&Error{HTTPStatus: 401, Code: "access_token_invalid", Message: "m", LogID: "L5", Class: TokenInvalid}},
		{"scope not authorized", 401, `{"error":{"code":"scope_not_authorized"}}`, nil, &Error{HTTPStatus: 401, Code: "scope_not_authorized", Class: Terminal}},
		{"internal error in a 200", 200, `{"error":{"code":"internal_error"}}`, nil, &Error{HTTPStatus: 200, Code: "internal_error", Class: Retryable}},
		{"500 blank code", 500, `{"error":{"code":"","message":"boom"}}`, nil, &Error{HTTPStatus: 500, Message: "boom", Class: Retryable}},
		{"502 html", 502, `<html>bad gateway</html>`, nil, nil /* checked below */},
		{"oauth error", 400, `{"error":"invalid_grant","error_description":"expired","log_id":"L6"}`, nil,
			&Error{HTTPStatus: 400, Code: "invalid_grant", Message: "expired", LogID: "L6", Class: Terminal}},
		{"oauth temporarily unavailable", 200, `{"error":"temporarily_unavailable"}`, nil, &Error{HTTPStatus: 200, Code: "temporarily_unavailable", Class: Retryable}},
		{"malformed 200", 200, `{"data":{"publish_id":`, nil, nil /* checked below */},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.header
			if h == nil {
				h = http.Header{}
			}
			a := answer{status: tc.status, header: h, body: []byte(tc.body)}
			got := c.judge(EndpointVideoInit, &a, nil)
			switch tc.name {
			case "502 html":
				// Not TikTok's envelope: on an init endpoint a gateway may have answered after TikTok
				// took the call; elsewhere a 5xx is Retryable.
				if got == nil || got.Class != Uncertain || got.Err == nil {
					t.Fatalf("got %+v, want Uncertain with a decode error", got)
				}
				a = answer{status: tc.status, header: h, body: []byte(tc.body)}
				if got := c.judge(EndpointStatusFetch, &a, nil); got == nil || got.Class != Retryable || got.Err == nil {
					t.Fatalf("status_fetch: got %+v, want Retryable with a decode error", got)
				}
				return
			case "malformed 200":
				if got == nil || got.Class != Uncertain || got.Err == nil {
					t.Fatalf("got %+v, want Uncertain with a decode error", got)
				}
				return
			}
			if tc.want == nil {
				if got != nil {
					t.Fatalf("got %v, want success", got)
				}
				return
			}
			tc.want.Endpoint = EndpointVideoInit
			if got == nil || !reflect.DeepEqual(*got, *tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestUploadAnswerBodyIsOptional(t *testing.T) {
	c := New(Options{})
	for _, body := range []string{"", "Created", `{"error":{"code":"ok"}}`} {
		a := answer{status: 201, header: http.Header{}, body: []byte(body)}
		if e := c.judge(EndpointUpload, &a, nil); e != nil {
			t.Errorf("upload 201 with body %q: %v", body, e)
		}
	}
	a := answer{status: 200, header: http.Header{}, body: []byte("Created")}
	if e := c.judge(EndpointVideoInit, &a, nil); e == nil || e.Class != Uncertain {
		t.Errorf("init 200 with a non-JSON body: %v, want Uncertain", e)
	}
}

func TestPostIDs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want PostIDs
		ok   bool
	}{
		{`[7301234567890123456]`, PostIDs{7301234567890123456}, true},
		{`["7301234567890123456", 12]`, PostIDs{7301234567890123456, 12}, true},
		{`"42"`, PostIDs{42}, true},
		{`null`, nil, true},
		{`[]`, PostIDs{}, true},
		{`[1.5]`, nil, false},
		{`["x"]`, nil, false},
		{`[99999999999999999999]`, nil, false},
	} {
		var got PostIDs
		err := json.Unmarshal([]byte(tc.in), &got)
		if (err == nil) != tc.ok || (tc.ok && !reflect.DeepEqual(got, tc.want)) {
			t.Errorf("%s: %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// FuzzDecode feeds arbitrary bytes to every decoder an answer goes through: none may panic. Whatever
// the body, a non-2xx or an error code is never a success, an error never has class OK, Retry-After is
// never negative, and the same answer classifies the same on an init endpoint as on status/fetch except
// for a 5xx without TikTok's error envelope (an "error" object), which is Uncertain on an init endpoint.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"data":{"publish_id":"v_pub_file~v2-1.123","upload_url":"https://x/?a=1"},"error":{"code":"ok","message":"","log_id":"L"}}`,
		`{"data":{"status":"PUBLISH_COMPLETE","publicaly_available_post_id":[7301234567890123456,"7"]},"error":{"code":"ok","logid":"x"}}`,
		`{"error":"invalid_grant","error_description":"d","log_id":"l"}`,
		`{"access_token":"a","expires_in":86400,"refresh_token":"r","scope":"a,b"}`,
		`{"error":null,"data":null}`, `{"error":[1]}`, `{"data":{"publish_id":`, `[]`, `""`, ``, `null`,
		`{"data":{"publicaly_available_post_id":"1e3"}}`,
		`{"error":{"code":"","message":"","log_id":"L"}}`, `{"error":{"code":502,"message":"bad gateway"}}`, `{"message":"Internal server error"}`,
		`<html><body>502 Bad Gateway</body></html>`, `{"error":"server_error"}`, `-5`, `Wed, 21 Oct 2015 07:28:00 GMT`,
	} {
		f.Add(seed)
	}
	c := New(Options{})
	f.Fuzz(func(t *testing.T, body string) {
		for _, status := range []int{200, 401, 429, 500, 502, 503, 504} {
			a := answer{status: status, header: http.Header{"Retry-After": {body}}, body: []byte(body)}
			e := c.judge(EndpointStatusFetch, &a, nil)
			if e == nil && (status != 200 || a.env.code() != "") {
				t.Fatalf("status %d body %q judged a success", status, body)
			}
			ai := answer{status: status, header: http.Header{"Retry-After": {body}}, body: []byte(body)}
			ei := c.judge(EndpointVideoInit, &ai, nil)
			if (e == nil) != (ei == nil) {
				t.Fatalf("status %d body %q: status_fetch %v, video_init %v", status, body, e, ei)
			}
			if e != nil {
				_ = e.Error()
				want := e.Class
				if status >= 500 && e.Class == Retryable && !a.env.Error.Object {
					want = Uncertain
				}
				if e.Class == OK || ei.Class != want || e.RetryAfter < 0 {
					t.Fatalf("status %d body %q: status_fetch %v, video_init %v (want %v)", status, body, e, ei, want)
				}
			}
			var st PublishStatus
			_ = json.Unmarshal(a.env.Data, &st)
			var info CreatorInfo
			_ = json.Unmarshal(a.env.Data, &info)
		}
	})
}
