//go:build !unix

package identity

import "errors"

// Claim needs flock(2), which only unix systems have: elsewhere the manager runs with a fresh name.
func Claim(path string, fresh func() string) (*Claimed, error) {
	return nil, errors.New("an identity file needs flock(2): not available on this system")
}
