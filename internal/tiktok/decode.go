package tiktok

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// envelope is every answer's outer shape. Content endpoints wrap results in "data" and report errors in
// an "error" object; the OAuth endpoint puts results at the top level and its error as a string with
// "error_description". Both spellings of the log id (log_id, logid) are accepted at both levels.
type envelope struct {
	Data             json.RawMessage `json:"data"`
	Error            errorField      `json:"error"`
	ErrorDescription string          `json:"error_description"`
	LogID            string          `json:"log_id"`
	LogIDAlt         string          `json:"logid"`
}

// errorField is the "error" member: an object {code, message, log_id|logid} or an OAuth code string.
type errorField struct {
	Code    string
	Message string
	LogID   string
	// Object is true when the member was a JSON object: TikTok's error envelope, which a gateway or
	// proxy in front of TikTok does not produce (see ClassOf).
	Object bool
}

func (f *errorField) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || bytes.Equal(b, []byte("null")):
		return nil
	case b[0] == '"':
		return json.Unmarshal(b, &f.Code)
	}
	var o struct {
		Code     string `json:"code"`
		Message  string `json:"message"`
		LogID    string `json:"log_id"`
		LogIDAlt string `json:"logid"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return err
	}
	f.Code, f.Message, f.LogID = o.Code, o.Message, firstNonEmpty(o.LogID, o.LogIDAlt)
	f.Object = true
	return nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// decodeEnvelope parses an answer body. An empty body is not an error (it decodes to an empty
// envelope); anything that is not a JSON object is.
func decodeEnvelope(body []byte) (envelope, error) {
	var env envelope
	if len(bytes.TrimSpace(body)) == 0 {
		return env, nil
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return envelope{}, fmt.Errorf("decode answer: %w", err)
	}
	return env, nil
}

// code returns the error code, with TikTok's "ok" (success) mapped to "".
func (e envelope) code() string {
	if strings.EqualFold(e.Error.Code, "ok") {
		return ""
	}
	return e.Error.Code
}

func (e envelope) message() string { return firstNonEmpty(e.Error.Message, e.ErrorDescription) }
func (e envelope) logID() string   { return firstNonEmpty(e.Error.LogID, e.LogID, e.LogIDAlt) }

// PostIDs is TikTok's publicaly_available_post_id: documented as a list of int64. Strings holding
// integers are accepted too (IDs above 2^53 are often quoted to survive JavaScript), as is a lone value.
type PostIDs []int64

func (p *PostIDs) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		*p = nil
		return nil
	}
	var raws []json.RawMessage
	if b[0] == '[' {
		if err := json.Unmarshal(b, &raws); err != nil {
			return fmt.Errorf("publicaly_available_post_id: %w", err)
		}
	} else {
		raws = []json.RawMessage{b}
	}
	ids := make(PostIDs, 0, len(raws))
	for _, r := range raws {
		s := string(bytes.TrimSpace(r))
		if strings.HasPrefix(s, `"`) {
			if err := json.Unmarshal(r, &s); err != nil {
				return fmt.Errorf("publicaly_available_post_id: %w", err)
			}
		}
		id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return fmt.Errorf("publicaly_available_post_id: %q is not an int64", s)
		}
		ids = append(ids, id)
	}
	*p = ids
	return nil
}
