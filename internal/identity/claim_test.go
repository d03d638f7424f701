//go:build unix

package identity

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// holdEnv makes the test binary a child that claims the file it names, prints the name and waits to be
// killed (TestClaimAfterSIGKILL).
const holdEnv = "IDENTITY_TEST_HOLD"

func TestMain(m *testing.M) {
	if path := os.Getenv(holdEnv); path != "" {
		c, err := Claim(path, func() string { return "child_0001" })
		if err != nil {
			os.Stdout.WriteString("error: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Stdout.WriteString(c.Name + "\n")
		select {} // holds the lock until killed
	}
	os.Exit(m.Run())
}

func fixed(name string) func() string { return func() string { return name } }

// TestClaim: a fresh file gets the fresh name; a second claim while the first is held is refused with
// ErrBusy and changes nothing; once the holder is gone (its descriptor closed, as a dead process's are)
// the next claim adopts its name; a file without a name the manager could have written gets a fresh one.
func TestClaim(t *testing.T) {
	path := filepath.Join(t.TempDir(), "identity")
	first, err := Claim(path, fixed("pod-a_00000001"))
	if err != nil {
		t.Fatal(err)
	}
	if first.Name != "pod-a_00000001" || first.Adopted {
		t.Fatalf("first claim = %q adopted=%v, want the fresh name, not adopted", first.Name, first.Adopted)
	}
	if b, _ := os.ReadFile(path); string(b) != "pod-a_00000001\n" {
		t.Fatalf("file holds %q, want the name and a newline", b)
	}

	if c, err := Claim(path, fixed("pod-a_00000002")); !errors.Is(err, ErrBusy) {
		t.Fatalf("claim while held = %v, %v; want ErrBusy", c, err)
	}
	if b, _ := os.ReadFile(path); string(b) != "pod-a_00000001\n" {
		t.Fatalf("a refused claim rewrote the file: %q", b)
	}

	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	second, err := Claim(path, fixed("pod-a_00000003"))
	if err != nil {
		t.Fatal(err)
	}
	if second.Name != "pod-a_00000001" || !second.Adopted {
		t.Fatalf("claim after the holder ended = %q adopted=%v, want its name adopted", second.Name, second.Adopted)
	}
	_ = second.Release()

	for _, content := range []string{"", "\n", "two words\n", strings.Repeat("x", maxLen+1), "tab\there", "caf\xc3\xa9"} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Claim(path, fixed("fresh_1"))
		if err != nil {
			t.Fatalf("content %q: %v", content, err)
		}
		if c.Name != "fresh_1" || c.Adopted {
			t.Errorf("content %q: claimed %q adopted=%v, want the fresh name", content, c.Name, c.Adopted)
		}
		if b, _ := os.ReadFile(path); string(b) != "fresh_1\n" {
			t.Errorf("content %q: file now %q, want the fresh name", content, b)
		}
		_ = c.Release()
	}
}

// TestClaimErrors: a directory that does not exist, and a fresh name that is not one, are errors naming
// the file or the name; nothing is written.
func TestClaimErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-dir", "identity")
	if _, err := Claim(missing, nil); err == nil || !strings.Contains(err.Error(), "identity file") {
		t.Errorf("missing directory: %v, want an error about the identity file", err)
	}
	path := filepath.Join(t.TempDir(), "identity")
	if _, err := Claim(path, fixed("has space")); err == nil || !strings.Contains(err.Error(), `"has space"`) {
		t.Errorf("invalid fresh name: %v, want an error naming it", err)
	}
	if b, _ := os.ReadFile(path); len(b) != 0 {
		t.Errorf("an invalid fresh name was written: %q", b)
	}
}

// TestClaimAfterSIGKILL is the case the package exists for, with a real process: a child claims the file
// and is killed with SIGKILL (it runs no code on the way out); while it lives the file is busy, and
// after it died the next claim adopts its name.
func TestClaimAfterSIGKILL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "identity")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holdEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the child's name: %v", err)
	}
	if name := strings.TrimSpace(line); name != "child_0001" {
		t.Fatalf("child said %q, want its claimed name", name)
	}
	if _, err := Claim(path, fixed("parent_1")); !errors.Is(err, ErrBusy) {
		t.Fatalf("claim while the child lives: %v, want ErrBusy", err)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	c, err := Claim(path, fixed("parent_1"))
	if err != nil {
		t.Fatalf("claim after the child's SIGKILL: %v", err)
	}
	defer func() { _ = c.Release() }()
	if c.Name != "child_0001" || !c.Adopted {
		t.Fatalf("claim after the SIGKILL = %q adopted=%v, want the child's name adopted", c.Name, c.Adopted)
	}
}

// TestNew: fresh names are valid and differ.
func TestNew(t *testing.T) {
	a, b := New(), New()
	if !valid(a) || !valid(b) || a == b {
		t.Fatalf("New() = %q, %q: want two valid, different names", a, b)
	}
}
