package schemareg_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/greenlang/greenlang/internal/stream"
	"github.com/greenlang/greenlang/internal/stream/schemareg"
	"github.com/greenlang/greenlang/internal/stream/schemareg/schemaregtest"
)

// FuzzDecode feeds arbitrary payloads to the wire-format parser and the
// decoder: ParseWire must split exactly what AppendHeader joins, and
// Decode must return a value or a *stream.DecodeError naming the topic
// and offset, never panic; a value it returns must encode and decode back
// to itself.
//
//	go test ./internal/stream/schemareg -run XXX -fuzz FuzzDecode
func FuzzDecode(f *testing.F) {
	reg := schemaregtest.New()
	defer reg.Close()
	s, err := schemareg.New(f.Context(), reg.URL(), schemareg.For[ReadingV1](topic, readingV1))
	if err != nil {
		f.Fatal(err)
	}
	good, err := s.Encode(topic, "", r1)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good.Value)
	f.Add(good.Value[:5])
	f.Add(good.Value[:len(good.Value)-1])
	f.Add(append(bytes.Clone(good.Value), 1))
	f.Add([]byte{})
	f.Add([]byte{0})
	f.Add([]byte{1, 0, 0, 0, 1})
	f.Add([]byte{0, 0x7f, 0xff, 0xff, 0xff, 2})
	f.Add(append(schemareg.AppendHeader(nil, 1), 0xff, 0xff, 0xff, 0xff, 0x0f))
	f.Fuzz(func(t *testing.T, b []byte) {
		id, body, err := schemareg.ParseWire(b)
		if err == nil {
			if !bytes.Equal(append(schemareg.AppendHeader(nil, id), body...), b) {
				t.Fatalf("ParseWire(%x) = %d, %x", b, id, body)
			}
		} else if len(b) >= schemareg.HeaderSize && b[0] == 0 && b[1] < 0x80 {
			t.Fatalf("ParseWire refused a well-formed prefix %x: %v", b[:5], err)
		}
		m := &stream.Message{Topic: topic, Offset: 5, Value: b, Headers: map[string]string{stream.HeaderContentType: schemareg.ContentTypeAvro}}
		v, err := schemareg.Decode[ReadingV1](s, m)
		if err != nil {
			var de *stream.DecodeError
			if !errors.As(err, &de) || de.Topic != topic || de.Offset != 5 {
				t.Fatalf("Decode(%x): %v is not a DecodeError naming topic and offset", b, err)
			}
			return
		}
		again, err := s.Encode(topic, "", v)
		if err != nil {
			t.Fatalf("re-encoding %+v: %v", v, err)
		}
		back, err := schemareg.Decode[ReadingV1](s, again)
		if err != nil || !equalV1(back, v) {
			t.Fatalf("%+v came back as %+v (%v)", v, back, err)
		}
	})
}
