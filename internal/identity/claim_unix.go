//go:build unix

package identity

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// Claim takes the identity file at path (created if missing; its directory must exist) under an exclusive
// lock and returns the name to use: the name in the file, which belonged to a process that is now dead,
// or, when the file holds none, fresh (New if nil), written to the file before Claim returns. ErrBusy
// (wrapped) when another live process holds the lock.
func Claim(path string, fresh func() string) (*Claimed, error) {
	if fresh == nil {
		fresh = New
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the identity file: %w", err)
	}
	if err := flock(f); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: %w", path, ErrBusy)
		}
		return nil, fmt.Errorf("locking the identity file %s: %w", path, err)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxLen+2))
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("reading the identity file %s: %w", path, err)
	}
	if name := string(bytes.TrimSpace(b)); valid(name) {
		return &Claimed{Name: name, Adopted: true, f: f}, nil
	}
	name := fresh()
	if !valid(name) {
		_ = f.Close()
		return nil, fmt.Errorf("identity %q: want 1 to %d printable characters without spaces", name, maxLen)
	}
	// Written and synced before any Lease carries the name: a restart after a crash finds it.
	if err := rewrite(f, name); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("writing the identity file %s: %w", path, err)
	}
	return &Claimed{Name: name, f: f}, nil
}

// flock takes the exclusive lock without waiting, retrying an interrupted call.
func flock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// rewrite makes name the file's whole content, on disk.
func rewrite(f *os.File, name string) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.WriteAt([]byte(name+"\n"), 0); err != nil {
		return err
	}
	return f.Sync()
}
