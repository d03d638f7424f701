package tiktok

import "fmt"

const redacted = "[redacted]"

// AccessToken is a user access token. It prints as [redacted] with every fmt verb and in JSON, so a
// token carried in a struct cannot leak through a log line or an error message; use string(t) only
// where the raw value must go on the wire.
type AccessToken string

// RefreshToken is an OAuth refresh token; it prints as [redacted] like AccessToken.
type RefreshToken string

// ClientSecret is the app's client secret; it prints as [redacted] like AccessToken.
type ClientSecret string

func (AccessToken) String() string                { return redacted }
func (AccessToken) GoString() string              { return redacted }
func (AccessToken) Format(f fmt.State, _ rune)    { _, _ = f.Write([]byte(redacted)) }
func (AccessToken) MarshalJSON() ([]byte, error)  { return []byte(`"` + redacted + `"`), nil }
func (AccessToken) MarshalText() ([]byte, error)  { return []byte(redacted), nil }
func (RefreshToken) String() string               { return redacted }
func (RefreshToken) GoString() string             { return redacted }
func (RefreshToken) Format(f fmt.State, _ rune)   { _, _ = f.Write([]byte(redacted)) }
func (RefreshToken) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }
func (RefreshToken) MarshalText() ([]byte, error) { return []byte(redacted), nil }
func (ClientSecret) String() string               { return redacted }
func (ClientSecret) GoString() string             { return redacted }
func (ClientSecret) Format(f fmt.State, _ rune)   { _, _ = f.Write([]byte(redacted)) }
func (ClientSecret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }
func (ClientSecret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
