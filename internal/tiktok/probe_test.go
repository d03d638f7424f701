package tiktok

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestProbeSize(t *testing.T) {
	data := bytes.Repeat([]byte("x"), 12345)
	serve := func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "v.mp4", time.Unix(0, 0), bytes.NewReader(data))
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    int64
		class   Class
	}{
		{"HEAD with a length", serve, 12345, OK},
		{"no length on HEAD, a ranged GET tells", func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodHead {
				w.Header().Set("Transfer-Encoding", "chunked")
				w.WriteHeader(http.StatusOK)
				return
			}
			serve(w, r)
		}, 12345, OK},
		{"not found", http.NotFound, 0, Terminal},
		{"server error", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) }, 0, Retryable},
		{"a redirect is not followed", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://169.254.169.254/", http.StatusFound)
		}, 0, Terminal},
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			got, err := ProbeSize(context.Background(), noRedirect, srv.URL+"/v.mp4")
			if ClassOf(err) != tt.class || got != tt.want {
				t.Fatalf("ProbeSize = %d, %v (class %s); want %d, class %s", got, err, ClassOf(err), tt.want, tt.class)
			}
			var te *Error
			if err != nil && !errors.As(err, &te) {
				t.Fatalf("error %T is not *Error", err)
			}
		})
	}
}
