package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"time"
)

// mediaSize is the size of the demo's video: under 5 MiB, so TikTok's rules send it as one chunk.
const mediaSize = 1<<20 + 4321

// startMedia serves generated video bytes over HTTPS on 127.0.0.1 with Range support, like a CDN.
// FileUpload posts point at it; the operator reads it with the client this server hands out (it trusts
// the server's self-signed certificate), because there is no real CDN on a laptop.
func startMedia() *httptest.Server {
	data := make([]byte, mediaSize)
	for i := range data {
		data[i] = byte(i*7 + i>>8) // any bytes do: the simulator only counts them
	}
	return httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "video/mp4")
		http.ServeContent(w, r, "video.mp4", time.Unix(0, 0), bytes.NewReader(data))
	}))
}
