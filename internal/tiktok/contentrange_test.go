package tiktok

import (
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// contentRangeRE is RFC 9110's Content-Range for bytes: a range with a known or unknown length, or an
// unsatisfied range ("*") with a known length. The unit is case-insensitive.
var contentRangeRE = regexp.MustCompile(`^(?i:bytes) (?:([0-9]+)-([0-9]+)/([0-9]+|\*)|\*/([0-9]+))$`)

// oracleContentRange parses v by the regular expression and the RFC's rules (first <= last < length),
// independently of the code under test. first and last are -1 for "*", total -1 for an unknown length.
func oracleContentRange(v string) (first, last, total int64, ok bool) {
	m := contentRangeRE.FindStringSubmatch(strings.Trim(v, " \t"))
	if m == nil {
		return 0, 0, 0, false
	}
	num := func(s string) (int64, bool) {
		if s == "*" {
			return -1, true
		}
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil
	}
	if m[4] != "" {
		total, ok = num(m[4])
		return -1, -1, total, ok
	}
	var ok1, ok2, ok3 bool
	first, ok1 = num(m[1])
	last, ok2 = num(m[2])
	total, ok3 = num(m[3])
	if !ok1 || !ok2 || !ok3 || first > last || (total >= 0 && last >= total) {
		return 0, 0, 0, false
	}
	return first, last, total, true
}

var rangeRE = regexp.MustCompile(`^(?i:bytes)=([0-9]+)-([0-9]+)$`)

// FuzzContentRange checks the Content-Range reading of the upload (a 416's answer) and of the media
// sources (a 206's answer) against an independent reading of RFC 9110:
//   - parseContentRange accepts exactly the well-formed values, with the same numbers, and its String
//     form parses back to the same range (format/parse round trip, from the string and from numbers);
//   - resumeOffset accepts exactly the well-formed ranges that start at 0 (or "*", nothing held) and
//     answers LAST+1, never a negative offset; the same for a "bytes=0-LAST" Range header.
func FuzzContentRange(f *testing.F) {
	for _, s := range []string{
		"bytes 0-5242879/12582919", "bytes */12582919", "bytes 0-99/*", "bytes 10-99/200", "bytes 0-99/50",
		"bytes 0-9223372036854775806/9223372036854775807", "bytes 0-9223372036854775807/*", "bytes 5-4/10",
		"Bytes 0-1/2", "bytes 0 - 1/2", "bytes -1-5/10", "bytes +0-5/10", "bytes */*", "bytes 00-07/8",
		"bytes=0-99", "bytes=0-9223372036854775807", "garbage", "", "bytes ", "bytes 0-/5", "bytes 0-1/",
	} {
		f.Add(s, int64(0), int64(len(s)), int64(len(s)+1))
	}
	f.Add("", int64(-1), int64(-1), int64(7))
	f.Add("", int64(5), int64(5), int64(-1))
	f.Add("", int64(0), int64(math.MaxInt64-1), int64(math.MaxInt64))
	f.Fuzz(func(t *testing.T, v string, a, b, c int64) {
		first, last, total, ok := oracleContentRange(v)
		r, rok := parseContentRange(v)
		if rok != ok || (ok && r != (byteRange{first, last, total})) {
			t.Fatalf("parseContentRange(%q) = %+v, %v; want %d-%d/%d, %v", v, r, rok, first, last, total, ok)
		}
		if rok {
			s := r.String()
			if r2, ok2 := parseContentRange(s); !ok2 || r2 != r || r2.String() != s {
				t.Fatalf("parseContentRange(%q) = %+v, whose String %q parses to %+v, %v", v, r, s, r2, ok2)
			}
		}
		// From numbers: a valid range formats to a value that parses back to it.
		in := byteRange{a, b, c}
		if c >= -1 && ((a == -1 && b == -1 && c >= 0) || (a >= 0 && a <= b && (c == -1 || b < c))) {
			if out, ok := parseContentRange(in.String()); !ok || out != in {
				t.Fatalf("%+v formats to %q, which parses to %+v, %v", in, in.String(), out, ok)
			}
		}

		want, wantOK := int64(0), false
		switch {
		case ok && first < 0:
			want, wantOK = 0, true
		case ok && first == 0 && last < math.MaxInt64:
			want, wantOK = last+1, true
		}
		if strings.Trim(v, " \t") == "" {
			want, wantOK = 0, false // no header at all
		}
		got, gotOK := resumeOffset(http.Header{"Content-Range": {v}})
		if gotOK != wantOK || got != want {
			t.Fatalf("resumeOffset(Content-Range %q) = %d, %v; want %d, %v", v, got, gotOK, want, wantOK)
		}

		want, wantOK = 0, false
		if m := rangeRE.FindStringSubmatch(strings.Trim(v, " \t")); m != nil {
			f, ferr := strconv.ParseInt(m[1], 10, 64)
			l, lerr := strconv.ParseInt(m[2], 10, 64)
			if ferr == nil && lerr == nil && f == 0 && l < math.MaxInt64 {
				want, wantOK = l+1, true
			}
		}
		got, gotOK = resumeOffset(http.Header{"Range": {v}})
		if gotOK != wantOK || got != want {
			t.Fatalf("resumeOffset(Range %q) = %d, %v; want %d, %v", v, got, gotOK, want, wantOK)
		}
	})
}
