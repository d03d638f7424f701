package tiktok_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/tiktok-operator/tiktok-operator/internal/tiktok"
)

// TestNoSecretInAnyString drives the error paths that handle secrets and checks that no token, refresh
// token, client secret or upload token appears in an error string, a formatted value, JSON, or a hook record.
func TestNoSecretInAnyString(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	var out []string
	add := func(vs ...any) {
		for _, v := range vs {
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
				out = append(out, fmt.Sprintf(verb, v))
			}
			if b, err := json.Marshal(v); err == nil {
				out = append(out, string(b))
			}
		}
	}

	plan, res := fileInit(t, e, 1000, 0)
	u, _ := url.Parse(res.UploadURL)
	uploadToken := u.Query().Get("upload_token")
	if uploadToken == "" {
		t.Fatal("no upload token in the upload URL")
	}
	rr := tiktok.RefreshRequest{ClientKey: aliceKey, ClientSecret: aliceSecret, RefreshToken: aliceRefresh}
	tok, err := e.client.RefreshToken(ctx, rr)
	if err != nil {
		t.Fatal(err)
	}
	add(rr, *tok, tiktok.AccessToken(aliceAccess), struct{ T tiktok.AccessToken }{aliceAccess})
	_, err = e.client.RefreshToken(ctx, rr) // rotated out: invalid_grant
	add(err)
	_, err = e.client.RefreshToken(ctx, tiktok.RefreshRequest{ClientKey: aliceKey, ClientSecret: "wrong-" + aliceSecret, RefreshToken: tok.RefreshToken})
	add(err)
	_, err = e.client.CreatorInfo(ctx, aliceAccess) // rotated, but still valid: fine; now expire it
	add(err)
	_ = e.sim.ExpireAccessTokens("alice")
	_, err = e.client.InitDirectVideo(ctx, aliceAccess, pullRequest("x", tiktok.PrivacySelfOnly))
	add(err)
	e.srv.Close() // transport errors carry the URL
	err = e.client.Upload(ctx, tiktok.UploadRequest{UploadURL: res.UploadURL, Plan: plan, Open: tiktok.ReaderAtSource(pattern{1000}, 1000)})
	add(err)
	_, err = e.client.FetchStatus(ctx, aliceAccess, res.PublishID)
	add(err)
	for _, ci := range e.hookCalls() {
		add(ci)
	}
	all := strings.Join(out, "\n")
	if !strings.Contains(all, "invalid_grant") || !strings.Contains(all, "/upload/") || !strings.Contains(all, "access_token_invalid") {
		t.Fatalf("the error paths were not exercised:\n%s", all)
	}
	for _, secret := range []string{aliceAccess, aliceRefresh, aliceSecret, string(tok.AccessToken), string(tok.RefreshToken), uploadToken} {
		if strings.Contains(all, secret) {
			t.Fatalf("secret %q leaked:\n%s", secret, all)
		}
	}
}
