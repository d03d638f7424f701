/*
Copyright 2026 The tiktok-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package tiktok_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/tiktok-operator/tiktok-operator/internal/tiktok"
)

// wireRequest is one request as it reached the simulator, and the status the simulator gave it.
type wireRequest struct {
	method, path, rawQuery string
	header                 http.Header
	contentLength          int64
	body                   []byte // JSON and form bodies; nil for uploads, whose bytes are only counted
	received               int64  // body bytes the simulator read
	status                 int
}

// wiretap sits in front of the real simulator and records every request on its way in. It changes
// nothing: the simulator reads the same bytes and answers. Upload bodies (megabytes) are counted, not
// kept.
type wiretap struct {
	next http.Handler
	mu   sync.Mutex
	reqs []wireRequest
}

func (w *wiretap) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	rec := wireRequest{method: r.Method, path: r.URL.Path, rawQuery: r.URL.RawQuery, header: r.Header.Clone(), contentLength: r.ContentLength}
	cnt := &countingBody{r: r.Body}
	if r.Method == http.MethodPut {
		r.Body = cnt
	} else {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		rec.body, rec.received = b, int64(len(b))
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	sw := &statusWriter{ResponseWriter: rw}
	w.next.ServeHTTP(sw, r)
	if r.Method == http.MethodPut {
		rec.received = cnt.n
	}
	rec.status = sw.status
	w.mu.Lock()
	w.reqs = append(w.reqs, rec)
	w.mu.Unlock()
}

// take returns the requests recorded since the last take.
func (w *wiretap) take() []wireRequest {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.reqs
	w.reqs = nil
	return out
}

type countingBody struct {
	r io.ReadCloser
	n int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingBody) Close() error { return c.r.Close() }

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// kind is the JSON type TikTok documents for a field.
type kind int

const (
	kString kind = iota
	kBool
	kInt
	kStrings
	kObject
)

// wireShape is a request as TikTok documents it (see docs/simulator.md for the pages): its method, path,
// Content-Type, authentication and body. Required fields must be present with their type; optional ones
// may be; any other field is a mistake (a misspelt JSON tag TikTok would silently ignore).
type wireShape struct {
	method       string
	path         string   // "" for the upload, whose URL the init answer gives
	contentTypes []string // exact values TikTok documents
	bearer       bool     // Authorization: Bearer <access token>; false means no Authorization at all
	body         string   // "empty", "json", "form" or "media"
	required     map[string]kind
	optional     map[string]kind
	// more adds the fields one value requires (PULL_FROM_URL needs video_url, DIRECT_POST privacy_level).
	more func(doc map[string]any) (required, optional map[string]kind, err error)
}

const tiktokJSON = "application/json; charset=UTF-8"

// videoPostInfo holds post_info of video/init (direct-post).
var videoPostInfo = map[string]kind{
	"post_info.title": kString, "post_info.disable_duet": kBool, "post_info.disable_stitch": kBool,
	"post_info.disable_comment": kBool, "post_info.video_cover_timestamp_ms": kInt,
	"post_info.brand_organic_toggle": kBool, "post_info.is_aigc": kBool,
}

// tiktokShapes is every endpoint the client may call, as TikTok documents the request.
var tiktokShapes = map[tiktok.Endpoint]wireShape{
	tiktok.EndpointCreatorInfo: {method: http.MethodPost, path: "/v2/post/publish/creator_info/query/",
		contentTypes: []string{tiktokJSON}, bearer: true, body: "empty"},
	tiktok.EndpointVideoInit: {method: http.MethodPost, path: "/v2/post/publish/video/init/",
		contentTypes: []string{tiktokJSON}, bearer: true, body: "json",
		required: map[string]kind{"post_info": kObject, "post_info.privacy_level": kString, "post_info.brand_content_toggle": kBool,
			"source_info": kObject, "source_info.source": kString},
		optional: videoPostInfo, more: videoSourceFields},
	tiktok.EndpointInboxInit: {method: http.MethodPost, path: "/v2/post/publish/inbox/video/init/",
		contentTypes: []string{tiktokJSON}, bearer: true, body: "json",
		required: map[string]kind{"source_info": kObject, "source_info.source": kString}, more: videoSourceFields},
	tiktok.EndpointContentInit: {method: http.MethodPost, path: "/v2/post/publish/content/init/",
		contentTypes: []string{tiktokJSON}, bearer: true, body: "json",
		required: map[string]kind{"media_type": kString, "post_mode": kString, "post_info": kObject,
			"source_info": kObject, "source_info.source": kString, "source_info.photo_images": kStrings},
		optional: map[string]kind{"post_info.title": kString, "post_info.description": kString, "post_info.disable_comment": kBool,
			"post_info.auto_add_music": kBool, "post_info.brand_content_toggle": kBool, "post_info.brand_organic_toggle": kBool,
			"source_info.photo_cover_index": kInt},
		more: photoFields},
	tiktok.EndpointStatusFetch: {method: http.MethodPost, path: "/v2/post/publish/status/fetch/",
		contentTypes: []string{tiktokJSON}, bearer: true, body: "json", required: map[string]kind{"publish_id": kString}},
	tiktok.EndpointCancel: {method: http.MethodPost, path: "/v2/post/publish/cancel/",
		contentTypes: []string{tiktokJSON}, bearer: true, body: "json", required: map[string]kind{"publish_id": kString}},
	tiktok.EndpointUpload: {method: http.MethodPut, contentTypes: []string{"video/mp4", "video/quicktime", "video/webm"}, body: "media"},
	tiktok.EndpointOAuthToken: {method: http.MethodPost, path: "/v2/oauth/token/",
		contentTypes: []string{"application/x-www-form-urlencoded"}, body: "form",
		required: map[string]kind{"client_key": kString, "client_secret": kString, "grant_type": kString, "refresh_token": kString}},
}

// videoSourceFields: PULL_FROM_URL carries video_url, FILE_UPLOAD the three sizes (media-transfer).
func videoSourceFields(doc map[string]any) (map[string]kind, map[string]kind, error) {
	switch src, _ := doc["source_info.source"].(string); src {
	case "PULL_FROM_URL":
		return map[string]kind{"source_info.video_url": kString}, nil, nil
	case "FILE_UPLOAD":
		return map[string]kind{"source_info.video_size": kInt, "source_info.chunk_size": kInt, "source_info.total_chunk_count": kInt}, nil, nil
	default:
		return nil, nil, fmt.Errorf("source_info.source %q is not PULL_FROM_URL or FILE_UPLOAD", src)
	}
}

// photoFields: media_type PHOTO, source PULL_FROM_URL only, privacy_level required for DIRECT_POST (photo).
func photoFields(doc map[string]any) (map[string]kind, map[string]kind, error) {
	if mt := doc["media_type"]; mt != "PHOTO" {
		return nil, nil, fmt.Errorf("media_type %v is not PHOTO", mt)
	}
	if src := doc["source_info.source"]; src != "PULL_FROM_URL" {
		return nil, nil, fmt.Errorf("source_info.source %v: photos only come PULL_FROM_URL", src)
	}
	switch mode := doc["post_mode"]; mode {
	case "DIRECT_POST":
		return map[string]kind{"post_info.privacy_level": kString}, nil, nil
	case "MEDIA_UPLOAD":
		return nil, map[string]kind{"post_info.privacy_level": kString}, nil
	default:
		return nil, nil, fmt.Errorf("post_mode %v is not DIRECT_POST or MEDIA_UPLOAD", mode)
	}
}

// checkWire reports how r differs from TikTok's shape of ep ("" when it does not).
func checkWire(ep tiktok.Endpoint, r wireRequest) string {
	sh, ok := tiktokShapes[ep]
	if !ok {
		return "no documented shape for endpoint " + string(ep)
	}
	var bad []string
	if r.method != sh.method {
		bad = append(bad, fmt.Sprintf("method %s, TikTok's is %s", r.method, sh.method))
	}
	if sh.path != "" && r.path != sh.path {
		bad = append(bad, fmt.Sprintf("path %s, TikTok's is %s", r.path, sh.path))
	}
	if ct := r.header.Get("Content-Type"); !slices.Contains(sh.contentTypes, ct) {
		bad = append(bad, fmt.Sprintf("Content-Type %q, TikTok's is one of %q", ct, sh.contentTypes))
	}
	auth := r.header.Get("Authorization")
	switch {
	case sh.bearer && (!strings.HasPrefix(auth, "Bearer ") || len(auth) == len("Bearer ")):
		bad = append(bad, "no Authorization: Bearer <access token>")
	case !sh.bearer && auth != "":
		bad = append(bad, "an Authorization header TikTok does not ask for (a token sent where it is not needed)")
	}
	// An upload the simulator refused before reading its body (404, 403) was not read through.
	if read := r.method != http.MethodPut || r.status < 300; r.contentLength < 0 || (read && r.contentLength != r.received) {
		bad = append(bad, fmt.Sprintf("Content-Length %d for a body of %d bytes", r.contentLength, r.received))
	}
	switch sh.body {
	case "empty":
		if len(r.body) != 0 {
			bad = append(bad, fmt.Sprintf("a body %q where TikTok documents none", r.body))
		}
	case "media":
		bad = append(bad, checkChunkHeaders(r)...)
	case "form":
		form, err := url.ParseQuery(string(r.body))
		if err != nil {
			bad = append(bad, "unreadable form: "+err.Error())
			break
		}
		doc := map[string]any{}
		for k, v := range form {
			if len(v) != 1 {
				bad = append(bad, fmt.Sprintf("form field %s sent %d times", k, len(v)))
			}
			doc[k] = v[0]
		}
		req := sh.required
		switch doc["grant_type"] {
		case "refresh_token":
		case "authorization_code": // Login Kit's exchange: the code, its redirect URI and the PKCE verifier
			req = map[string]kind{"client_key": kString, "client_secret": kString, "grant_type": kString,
				"code": kString, "redirect_uri": kString, "code_verifier": kString}
		default:
			bad = append(bad, fmt.Sprintf("grant_type %v, TikTok's are refresh_token and authorization_code", doc["grant_type"]))
		}
		bad = append(bad, checkFields(doc, req, sh.optional)...)
	case "json":
		doc, err := flattenJSON(r.body)
		if err != nil {
			bad = append(bad, "unreadable JSON body: "+err.Error())
			break
		}
		req, opt := sh.required, sh.optional
		if sh.more != nil {
			mreq, mopt, err := sh.more(doc)
			if err != nil {
				bad = append(bad, err.Error())
			}
			req, opt = merge(req, mreq), merge(opt, mopt)
		}
		bad = append(bad, checkFields(doc, req, opt)...)
	}
	return strings.Join(bad, "; ")
}

// checkChunkHeaders: Content-Range "bytes FIRST-LAST/TOTAL" whose length is the Content-Length.
func checkChunkHeaders(r wireRequest) []string {
	cr := r.header.Get("Content-Range")
	rest, ok := strings.CutPrefix(cr, "bytes ")
	span, total, ok2 := strings.Cut(rest, "/")
	first, last, ok3 := strings.Cut(span, "-")
	f, err1 := strconv.ParseInt(first, 10, 64)
	l, err2 := strconv.ParseInt(last, 10, 64)
	t, err3 := strconv.ParseInt(total, 10, 64)
	if !ok || !ok2 || !ok3 || err1 != nil || err2 != nil || err3 != nil || f < 0 || l < f || l >= t {
		return []string{fmt.Sprintf("Content-Range %q is not bytes FIRST-LAST/TOTAL", cr)}
	}
	if r.contentLength != l-f+1 {
		return []string{fmt.Sprintf("Content-Length %d for Content-Range %q", r.contentLength, cr)}
	}
	return nil
}

// checkFields: every required field present with its kind, optional ones of their kind, nothing else.
func checkFields(doc map[string]any, required, optional map[string]kind) []string {
	var bad []string
	for _, k := range sortedKeys(required) {
		v, ok := doc[k]
		if !ok {
			bad = append(bad, "required field "+k+" missing")
		} else if !isKind(v, required[k]) {
			bad = append(bad, fmt.Sprintf("field %s = %v is not a %s", k, v, kindNames[required[k]]))
		}
	}
	for _, k := range sortedKeys(doc) {
		if _, ok := required[k]; ok {
			continue
		}
		want, ok := optional[k]
		switch {
		case !ok:
			bad = append(bad, "field "+k+" is not in TikTok's request")
		case !isKind(doc[k], want):
			bad = append(bad, fmt.Sprintf("field %s = %v is not a %s", k, doc[k], kindNames[want]))
		}
	}
	return bad
}

var kindNames = map[kind]string{kString: "string", kBool: "bool", kInt: "integer", kStrings: "list of strings", kObject: "object"}

func isKind(v any, k kind) bool {
	switch k {
	case kString:
		_, ok := v.(string)
		return ok
	case kBool:
		_, ok := v.(bool)
		return ok
	case kInt:
		n, ok := v.(json.Number)
		_, err := n.Int64()
		return ok && err == nil
	case kStrings:
		l, ok := v.([]any)
		for _, e := range l {
			if _, s := e.(string); !s {
				return false
			}
		}
		return ok
	case kObject:
		_, ok := v.(map[string]any)
		return ok
	}
	return false
}

// flattenJSON decodes a JSON object into dotted paths: {"a":{"b":1}} gives "a" (the object) and "a.b".
func flattenJSON(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var root map[string]any
	if err := dec.Decode(&root); err != nil {
		return nil, err
	}
	out := map[string]any{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			out[prefix+k] = v
			if sub, ok := v.(map[string]any); ok {
				walk(prefix+k+".", sub)
			}
		}
	}
	walk("", root)
	return out, nil
}

func merge(a, b map[string]kind) map[string]kind {
	out := map[string]kind{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
