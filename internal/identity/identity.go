// Package identity names a manager process in the Leases it holds: the per-account Leases and the
// leader-election Lease.
//
// A name must never be shared by two live processes: a manager takes over a Lease held by another name
// only once it lapsed, and one held by its own name at once. New gives every process a name of its own.
// Claim keeps a name across restarts of one container: a manager killed with SIGKILL (OOMKilled, a failed
// liveness probe) leaves its Leases held for their whole duration, so a restart with a new name waits for
// them to lapse (the leader-election Lease for 15 s, then every account's Lease for its 30 s) before it
// publishes again. A restart that proves its predecessor dead takes the predecessor's name over, and with
// it the Leases at once.
//
// The proof is an exclusive flock(2) on a file in a directory that outlives the container but not the pod
// (an emptyDir volume): the kernel holds the lock for as long as the process that took it lives, SIGKILL
// included, and releases it when the process is gone. The process that wrote a name into the file held
// the lock while it lived; so whoever holds the lock now knows that process is dead, and that no other
// live process uses the name (a name is only ever used under the lock, or fresh from New).
package identity

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
)

// New is a fresh name: the host name (in a pod, the pod's name), "_" and a random suffix, so that two
// processes never share one, not even two restarts of one pod.
func New() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "tiktok-operator"
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b) // never fails: since Go 1.24 it ends the program when the system's source fails
	return host + "_" + hex.EncodeToString(b)
}

// ErrBusy says another live process holds the identity file's lock: two managers share the directory
// (two containers mounting one volume, two local runs with one path). The caller uses a fresh name.
var ErrBusy = errors.New("the identity file is locked by another live process")

// maxLen bounds a name read back from the file: a Lease's holderIdentity has no documented limit, a file
// that holds more than a name is not one the manager wrote.
const maxLen = 253

// Claimed is a name held under the identity file's lock. The lock lasts until Release or the process's end.
type Claimed struct {
	// Name is the manager's name in its Leases.
	Name string
	// Adopted says Name was a dead predecessor's (read from the file), not a fresh one.
	Adopted bool
	f       *os.File
}

// Release drops the lock (tests; a manager holds it until it exits).
func (c *Claimed) Release() error { return c.f.Close() }

// valid says whether s, read from the file, is a name the manager could have written: non-empty, at most
// maxLen bytes, printable ASCII without spaces.
func valid(s string) bool {
	if s == "" || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
