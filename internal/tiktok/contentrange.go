package tiktok

import (
	"math"
	"strconv"
	"strings"
)

// byteRange is a Content-Range of bytes (RFC 9110 section 14.4): "bytes FIRST-LAST/TOTAL", with TOTAL
// "*" when unknown (Total -1), or "bytes */TOTAL" for an unsatisfied range (First and Last -1).
type byteRange struct {
	First, Last, Total int64
}

// String formats r as a Content-Range value.
func (r byteRange) String() string {
	total := "*"
	if r.Total >= 0 {
		total = strconv.FormatInt(r.Total, 10)
	}
	if r.First < 0 {
		return "bytes */" + total
	}
	return "bytes " + strconv.FormatInt(r.First, 10) + "-" + strconv.FormatInt(r.Last, 10) + "/" + total
}

// parseContentRange reads a Content-Range value strictly: digits only, FIRST <= LAST < TOTAL, values
// that fit an int64, and no "bytes */*". The unit is case-insensitive and surrounding blanks are ignored.
func parseContentRange(v string) (byteRange, bool) {
	v = strings.Trim(v, " \t")
	if len(v) < len("bytes ") || !strings.EqualFold(v[:len("bytes ")], "bytes ") {
		return byteRange{}, false
	}
	rng, total, ok := strings.Cut(v[len("bytes "):], "/")
	if !ok {
		return byteRange{}, false
	}
	r := byteRange{First: -1, Last: -1, Total: -1}
	if total != "*" {
		if r.Total, ok = parseDigits(total); !ok {
			return byteRange{}, false
		}
	}
	if rng == "*" {
		return r, r.Total >= 0
	}
	first, last, ok := strings.Cut(rng, "-")
	if !ok {
		return byteRange{}, false
	}
	var ok1, ok2 bool
	r.First, ok1 = parseDigits(first)
	r.Last, ok2 = parseDigits(last)
	if !ok1 || !ok2 || r.First > r.Last || (r.Total >= 0 && r.Last >= r.Total) {
		return byteRange{}, false
	}
	return r, true
}

// parseDigits parses a non-empty run of ASCII digits that fits an int64 (no sign, no blanks).
func parseDigits(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// heldUpTo returns LAST+1 for a range starting at 0, the number of bytes it says are held; false for
// any other range, or one whose end overflows.
func heldUpTo(first, last int64) (int64, bool) {
	if first != 0 || last == math.MaxInt64 {
		return 0, false
	}
	return last + 1, true
}
