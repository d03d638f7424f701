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

package tiktok

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// CodeVerifier is a PKCE code verifier (RFC 7636): it goes only to the token exchange and prints as
// [redacted] like AccessToken.
type CodeVerifier string

func (CodeVerifier) String() string               { return redacted }
func (CodeVerifier) GoString() string             { return redacted }
func (CodeVerifier) Format(f fmt.State, _ rune)   { _, _ = f.Write([]byte(redacted)) }
func (CodeVerifier) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }
func (CodeVerifier) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// verifierAlphabet is RFC 7636's unreserved characters.
const verifierAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"

// NewCodeVerifier returns a random 64-character verifier (RFC 7636 allows 43 to 128) from crypto/rand.
func NewCodeVerifier() (CodeVerifier, error) {
	const n = 64
	limit := byte(256 - 256%len(verifierAlphabet)) // rejection sampling keeps every character equally likely
	out := make([]byte, 0, n)
	buf := make([]byte, 2*n)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("PKCE code verifier: %w", err)
		}
		for _, b := range buf {
			if b < limit && len(out) < n {
				out = append(out, verifierAlphabet[int(b)%len(verifierAlphabet)])
			}
		}
	}
	return CodeVerifier(out), nil
}

// CodeChallenge is the code_challenge for v as TikTok's Login Kit for Desktop computes it: the SHA-256 of
// the verifier, HEX-encoded (lower case). This is TikTok's quirk: RFC 7636's S256 is base64url of the
// same digest, and TikTok refuses it ("Code verifier or code challenge is invalid."). docs/getting-started.md
// gives the sources.
func CodeChallenge(v CodeVerifier) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}
