package store

import (
	"encoding/json"
	"fmt"
	"maps"
)

// sealCredentials encrypts a connection's credentials with the primary key,
// bound to the connection's id so a sealed value cannot be moved to another.
func (s *Store) sealCredentials(c *ERPConnection) error {
	const op = "store: sealing ERP credentials"
	if len(c.Credentials) == 0 {
		c.sealed, c.keyID = nil, ""
		return nil
	}
	if s.keys == nil {
		return errorf(CodeFailedPrecondition, op, "no secret key is configured (set secret_key)")
	}
	pt, err := json.Marshal(c.Credentials)
	if err != nil {
		return &Error{Code: CodeInvalidArgument, Op: op, Err: err}
	}
	c.keyID, c.sealed, err = s.keys.Seal(pt, c.ID[:])
	if err != nil {
		return &Error{Code: CodeUnknown, Op: op, Err: err}
	}
	return nil
}

func (s *Store) openCredentials(c *ERPConnection) error {
	op := fmt.Sprintf("store: opening credentials of ERP connection %s", c.ID)
	c.Credentials = nil
	if len(c.sealed) == 0 {
		return nil
	}
	if s.keys == nil {
		return errorf(CodeFailedPrecondition, op, "no secret key is configured (set secret_key)")
	}
	pt, err := s.keys.Open(c.keyID, c.sealed, c.ID[:])
	if err != nil {
		return &Error{Code: CodeFailedPrecondition, Op: op, Err: err}
	}
	return json.Unmarshal(pt, &c.Credentials)
}

// SealedCredentials returns the stored form of the credentials and the key id
// that sealed them; for tests and key-rotation tooling.
func (c *ERPConnection) SealedCredentials() (keyID string, sealed []byte) { return c.keyID, c.sealed }

// MergeCredentials returns old with changes applied: a value replaces its
// key's, an empty value removes the key. old is not modified.
func MergeCredentials(old, changes map[string]string) map[string]string {
	out := make(map[string]string, len(old)+len(changes))
	maps.Copy(out, old)
	for k, v := range changes {
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}
