package schemareg

import (
	"encoding/binary"
	"fmt"
)

// The Confluent wire format: one magic byte 0, the schema id as a 4-byte
// big-endian signed integer, then the Avro binary encoding of the value
// written with that schema.
const (
	magicByte = 0
	// HeaderSize is the length of the wire format's prefix.
	HeaderSize = 5
)

// AppendHeader appends the wire format's prefix for schema id to b.
func AppendHeader(b []byte, id int) []byte {
	b = append(b, magicByte)
	return binary.BigEndian.AppendUint32(b, uint32(int32(id)))
}

// WireError says why a payload is not in the Confluent wire format.
type WireError struct{ Reason string }

func (e *WireError) Error() string { return e.Reason }

// ParseWire splits a Confluent wire-format payload into its schema id and
// its Avro body (which shares b's memory). A payload shorter than the
// prefix, with a magic byte other than 0 or with a negative schema id is a
// *WireError.
func ParseWire(b []byte) (id int, body []byte, err error) {
	switch {
	case len(b) == 0:
		return 0, nil, &WireError{Reason: "empty payload: the Confluent wire format needs a magic byte and a schema id"}
	case b[0] != magicByte:
		return 0, nil, &WireError{Reason: fmt.Sprintf("magic byte 0x%02x is not 0x00: not the Confluent wire format", b[0])}
	case len(b) < HeaderSize:
		return 0, nil, &WireError{Reason: fmt.Sprintf("truncated: %d bytes, the Confluent wire format needs %d before the Avro body", len(b), HeaderSize)}
	}
	id = int(int32(binary.BigEndian.Uint32(b[1:HeaderSize])))
	if id < 0 {
		return 0, nil, &WireError{Reason: fmt.Sprintf("schema id %d is negative", id)}
	}
	return id, b[HeaderSize:], nil
}
