package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-logr/logr"
)

// TestManagerName: --identity and --identity-file exclude each other; --identity is taken as given; with
// neither the name is fresh each time; with a file, the first process writes a fresh name, a second live
// one runs under a fresh name of its own (the file busy), and once the first is gone the next adopts its
// name.
func TestManagerName(t *testing.T) {
	log := logr.Discard()
	if _, _, err := managerName(log, "a", "/x"); err == nil || !strings.Contains(err.Error(), "--identity-file") {
		t.Errorf("both flags: %v, want an error naming them", err)
	}
	if n, c, err := managerName(log, "given", ""); n != "given" || c != nil || err != nil {
		t.Errorf("--identity given: %q %v %v", n, c, err)
	}
	a, _, _ := managerName(log, "", "")
	b, _, _ := managerName(log, "", "")
	if a == "" || a == b {
		t.Errorf("no flag: %q then %q, want two different fresh names", a, b)
	}

	file := filepath.Join(t.TempDir(), "identity")
	first, claim, err := managerName(log, "", file)
	if err != nil || claim == nil || claim.Adopted {
		t.Fatalf("first with a file: %q %+v %v", first, claim, err)
	}
	other, otherClaim, err := managerName(log, "", file)
	if err != nil || otherClaim != nil || other == first {
		t.Errorf("second live process: %q %+v %v; want a fresh name of its own, no claim", other, otherClaim, err)
	}
	if err := claim.Release(); err != nil {
		t.Fatal(err)
	}
	next, nextClaim, err := managerName(log, "", file)
	if err != nil || nextClaim == nil || !nextClaim.Adopted || next != first {
		t.Errorf("after the first ended: %q %+v %v; want its name %q adopted", next, nextClaim, err, first)
	}
	if _, _, err := managerName(log, "", filepath.Join(t.TempDir(), "missing", "identity")); err == nil ||
		!strings.Contains(err.Error(), "--identity-file") {
		t.Errorf("unusable file: %v, want an error naming --identity-file", err)
	}
}
