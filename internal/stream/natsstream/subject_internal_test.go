package natsstream

import "testing"

func TestSubject(t *testing.T) {
	for _, tc := range []struct {
		topic string
		p     int32
		key   string
		want  string
	}{
		{"a.b", 0, "", "a.b.0._"},
		{"a.b", 11, "site-1", "a.b.11.c2l0ZS0x"},
		{"t", 2147483647, "\xff", "t.2147483647._w"},
	} {
		if got := Subject(tc.topic, tc.p, []byte(tc.key)); got != tc.want {
			t.Errorf("Subject(%q, %d, %q) = %q, want %q", tc.topic, tc.p, tc.key, got, tc.want)
		}
	}
}
