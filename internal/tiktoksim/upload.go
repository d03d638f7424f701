package tiktoksim

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The chunk rules, read independently of the client: "MB" is a mebibyte (TikTok's 4 MB example is
// 4,194,304 bytes), and "GB" a gibibyte by the same reading.
const (
	mib           int64 = 1 << 20
	minChunk            = 5 * mib
	maxChunk            = 64 * mib
	maxLastChunk        = 128 * mib
	maxChunkCount       = 1000
	maxVideoSize        = 4096 * mib
)

// checkChunkPlan applies TikTok's FILE_UPLOAD rules to an init's source_info.
func checkChunkPlan(size, chunk, count int64) error {
	switch {
	case size <= 0:
		return fmt.Errorf("video_size must be positive")
	case size > maxVideoSize:
		return fmt.Errorf("video_size %d over 4 GB", size)
	case size < minChunk:
		if chunk != size || count != 1 {
			return fmt.Errorf("a video under 5 MB is one chunk of video_size bytes")
		}
		return nil
	case chunk < minChunk || chunk > maxChunk:
		return fmt.Errorf("chunk_size %d outside 5 MB..64 MB", chunk)
	case count != size/chunk:
		return fmt.Errorf("total_chunk_count %d, want floor(video_size/chunk_size) = %d", count, size/chunk)
	case count < 1 || count > maxChunkCount:
		return fmt.Errorf("total_chunk_count %d outside 1..1000", count)
	case count == 1 && size > maxChunk:
		return fmt.Errorf("a video over 64 MB goes in several chunks")
	case size-(count-1)*chunk > maxLastChunk:
		return fmt.Errorf("last chunk over 128 MB")
	}
	return nil
}

// upload is the state of one FILE_UPLOAD.
type upload struct {
	id, token          string
	post               *post
	size, chunk, count int64
	received           int64 // bytes accepted so far; chunks arrive in order
	expires            time.Time
	done               bool
}

// chunkEnd returns the last byte offset of the chunk starting at first, or -1 if none starts there.
func (u *upload) chunkEnd(first int64) int64 {
	if first%u.chunk != 0 || first/u.chunk >= u.count {
		return -1
	}
	if first/u.chunk == u.count-1 {
		return u.size - 1
	}
	return first + u.chunk - 1
}

// serveUpload is PUT /upload/?upload_id=..&upload_token=..: 206 per accepted chunk, 201 after the last,
// 416 (with Content-Range of what it holds) for a chunk out of sequence, 400 for bad headers, 403 for
// a wrong token or an expired URL, 404 for an unknown upload.
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	now := s.now()
	logID := s.newLogID(now)
	u := s.uploads[q.Get("upload_id")]
	acctName := unknownAccount
	if u != nil && u.token == q.Get("upload_token") {
		acctName = u.post.account
	}
	st := s.statsFor(acctName, EndpointUpload)
	st.Calls++
	f := s.drawFaults(EndpointUpload)
	var first, last int64
	var status int
	var msg string
	switch {
	case f.serverError:
		status, msg = http.StatusInternalServerError, "simulated server error"
		st.Faults["server_error"]++
	case r.Method != http.MethodPut:
		status, msg = http.StatusMethodNotAllowed, "upload takes PUT"
	case u == nil:
		status, msg = http.StatusNotFound, "no such upload"
	case u.token != q.Get("upload_token") || !now.Before(u.expires):
		status, msg = http.StatusForbidden, "upload_url expired or invalid"
	case !videoContentType(r):
		status, msg = http.StatusBadRequest, "Content-Type must be video/mp4, video/quicktime or video/webm"
	default:
		var total int64
		var err error
		first, last, total, err = parseContentRange(r.Header.Get("Content-Range"))
		switch {
		case err != nil || total != u.size:
			status, msg = http.StatusBadRequest, "bad Content-Range"
		case first != u.received:
			status, msg = http.StatusRequestedRangeNotSatisfiable, "chunk out of sequence"
		case u.chunkEnd(first) != last || r.ContentLength != last-first+1:
			status, msg = http.StatusBadRequest, "chunk does not match the declared plan"
		}
	}
	if status == 0 {
		if reason, _ := s.admit("upload:"+u.id, s.acct[u.post.account], EndpointUpload, now, st); reason != "" {
			status, msg = http.StatusTooManyRequests, "rate limit: "+reason
		}
	}
	var holding int64
	if u != nil {
		holding = u.received
	}
	s.mu.Unlock()

	if status != 0 {
		if status == http.StatusRequestedRangeNotSatisfiable {
			w.Header().Set("Content-Range", heldRange(holding, u.size))
		}
		s.countUploadError(acctName, status)
		s.finish(w, r, reply{status: status, body: errBody(uploadCode(status), msg, logID)}, faultDraw{slow: f.slow}, s.slowDelay())
		return
	}
	// Read the chunk outside the lock: it can be 128 MB. A short body is refused.
	n, err := io.Copy(io.Discard, io.LimitReader(r.Body, last-first+2))
	if err != nil || n != last-first+1 {
		s.countUploadError(acctName, http.StatusBadRequest)
		writeJSON(w, http.StatusBadRequest, errBody("invalid_param", "body length does not match Content-Range", logID))
		return
	}
	s.mu.Lock()
	now = s.now()
	if u.received != first { // a concurrent PUT of the same chunk won
		s.mu.Unlock()
		w.Header().Set("Content-Range", heldRange(holding, u.size))
		writeJSON(w, http.StatusRequestedRangeNotSatisfiable, errBody("invalid_param", "chunk out of sequence", logID))
		return
	}
	u.received = last + 1
	status = http.StatusPartialContent
	if u.received == u.size {
		u.done = true
		u.post.readyAt = now.Add(s.cfg.Processing.Delay.D())
		status = http.StatusCreated
	}
	holding = u.received
	if f.drop {
		st.Faults["drop"]++
	}
	s.mu.Unlock()
	w.Header().Set("Content-Range", heldRange(holding, u.size))
	s.finish(w, r, reply{status: status, body: okBody(map[string]any{}, logID)}, faultDraw{slow: f.slow, drop: f.drop}, s.slowDelay())
}

func (s *Server) slowDelay() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.Faults.SlowDelay.D()
}

func (s *Server) countUploadError(acct string, status int) {
	s.mu.Lock()
	s.statsFor(acct, EndpointUpload).Errors[uploadCode(status)]++
	s.mu.Unlock()
}

func uploadCode(status int) string {
	switch status {
	case http.StatusInternalServerError:
		return "internal_error"
	case http.StatusTooManyRequests:
		return "rate_limit_exceeded"
	case http.StatusRequestedRangeNotSatisfiable:
		return "range_not_satisfiable"
	case http.StatusNotFound:
		return "upload_not_found"
	case http.StatusForbidden:
		return "upload_url_expired"
	}
	return "invalid_param"
}

// heldRange is the Content-Range describing the bytes the server holds.
func heldRange(held, size int64) string {
	if held == 0 {
		return "bytes */" + strconv.FormatInt(size, 10)
	}
	return fmt.Sprintf("bytes 0-%d/%d", held-1, size)
}

// parseContentRange reads "bytes FIRST-LAST/TOTAL".
func parseContentRange(v string) (first, last, total int64, err error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(v), "bytes ")
	if !ok {
		return 0, 0, 0, fmt.Errorf("no bytes unit")
	}
	rng, tot, ok := strings.Cut(rest, "/")
	if !ok {
		return 0, 0, 0, fmt.Errorf("no total")
	}
	a, b, ok := strings.Cut(rng, "-")
	if !ok {
		return 0, 0, 0, fmt.Errorf("no range")
	}
	if first, err = strconv.ParseInt(a, 10, 64); err != nil {
		return
	}
	if last, err = strconv.ParseInt(b, 10, 64); err != nil {
		return
	}
	if total, err = strconv.ParseInt(tot, 10, 64); err != nil {
		return
	}
	if first < 0 || last < first || last >= total {
		return 0, 0, 0, fmt.Errorf("range out of order")
	}
	return first, last, total, nil
}

// videoContentType reports whether an upload's Content-Type is one TikTok takes: video/mp4,
// video/quicktime or video/webm (parameters aside).
func videoContentType(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && (mt == "video/mp4" || mt == "video/quicktime" || mt == "video/webm")
}
