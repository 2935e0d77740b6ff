package port

import (
	"encoding/hex"

	"github.com/google/uuid"
)

// AppendUUID appends u in its canonical text form (8-4-4-4-12 lowercase
// hex digits), as u.String() spells it, without allocating: the stream's
// event ids and the store's batch digests write ids by the thousand.
func AppendUUID(b []byte, u uuid.UUID) []byte {
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:], u[10:])
	return append(b, s[:]...)
}
