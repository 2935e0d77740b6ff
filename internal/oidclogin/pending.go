package oidclogin

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrInvalidPending is wrapped by every error DecodePending returns: the
// value kept between Begin and Finish is missing, damaged or not ours.
var ErrInvalidPending = errors.New("oidc: pending login")

// MaxEncodedPending is the longest string DecodePending accepts. An encoded
// Pending from Begin is about 250 bytes.
const MaxEncodedPending = 2048

// maxNext is the longest return page a Pending may carry.
const maxNext = 1024

// Pending is what the browser keeps (in a short-lived HttpOnly cookie)
// between Begin and Finish. It holds no secret of the server's: the PKCE
// verifier and nonce only matter for this one login.
type Pending struct {
	// State is the random OAuth state sent to the identity provider; the
	// callback must bring it back.
	State string
	// Nonce is the random nonce the ID token must carry.
	Nonce string
	// Verifier is the PKCE code verifier (RFC 7636) whose S256 challenge
	// was sent to the identity provider.
	Verifier string
	// Next is the local page (a path on this site) to go to after the login.
	Next string
	// Expires is when the login must have finished; kept to the second.
	Expires time.Time
}

// pendingJSON is the wire form of Pending: short keys keep the cookie small.
type pendingJSON struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"r"`
	Expires  int64  `json:"e"`
}

// Encode returns p as base64url (unpadded) JSON: only the characters
// A-Z a-z 0-9 - _, safe in a cookie value without quoting. A Pending from
// Begin always decodes again with DecodePending.
func (p Pending) Encode() string {
	b, err := json.Marshal(pendingJSON{
		State:    p.State,
		Nonce:    p.Nonce,
		Verifier: p.Verifier,
		Next:     p.Next,
		Expires:  p.Expires.Unix(),
	})
	if err != nil { // cannot happen: only strings and an integer
		panic("oidclogin: encoding pending login: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodePending reads a Pending written by Encode and checks its fields
// (state, nonce and verifier in their expected form, Next a local path, an
// expiry set). It does not check whether the Pending has expired; Finish
// does. Every error wraps ErrInvalidPending.
func DecodePending(s string) (Pending, error) {
	fail := func(format string, args ...any) (Pending, error) {
		return Pending{}, &detailError{kind: ErrInvalidPending, detail: fmt.Sprintf(format, args...)}
	}
	switch {
	case s == "":
		return fail("empty (no login was started in this browser)")
	case len(s) > MaxEncodedPending:
		return fail("%d bytes, more than %d", len(s), MaxEncodedPending)
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return fail("not base64url: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var pj pendingJSON
	if err := dec.Decode(&pj); err != nil {
		return fail("not the expected JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fail("not the expected JSON: data after the object")
	}
	if err := checkToken("state", pj.State, 16, 128); err != nil {
		return fail("%v", err)
	}
	if err := checkToken("nonce", pj.Nonce, 16, 128); err != nil {
		return fail("%v", err)
	}
	if err := checkToken("verifier", pj.Verifier, 43, 128); err != nil { // RFC 7636 §4.1
		return fail("%v", err)
	}
	if !isLocalPath(pj.Next) {
		return fail("return page %q is not a local path", clean(pj.Next, 100))
	}
	if pj.Expires <= 0 {
		return fail("no expiry")
	}
	return Pending{
		State:    pj.State,
		Nonce:    pj.Nonce,
		Verifier: pj.Verifier,
		Next:     pj.Next,
		Expires:  time.Unix(pj.Expires, 0).UTC(),
	}, nil
}

// checkToken checks that v has between minLen and maxLen characters, all
// RFC 3986 unreserved (A-Z a-z 0-9 - . _ ~).
func checkToken(name, v string, minLen, maxLen int) error {
	if len(v) < minLen || len(v) > maxLen {
		return fmt.Errorf("%s has %d characters, want %d to %d", name, len(v), minLen, maxLen)
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return fmt.Errorf("%s has a character outside A-Z a-z 0-9 - . _ ~", name)
		}
	}
	return nil
}

// isLocalPath reports whether next is a path on this site that is safe to
// redirect to: it starts with one "/" (not "//" or "/\", which browsers
// read as another host), has no backslash or control character, and is at
// most maxNext bytes of valid UTF-8.
func isLocalPath(next string) bool {
	if next == "" || len(next) > maxNext || next[0] != '/' || !utf8.ValidString(next) {
		return false
	}
	if len(next) > 1 && (next[1] == '/' || next[1] == '\\') {
		return false
	}
	if strings.ContainsRune(next, '\\') {
		return false
	}
	for _, r := range next {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	u, err := url.Parse(next)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil
}
