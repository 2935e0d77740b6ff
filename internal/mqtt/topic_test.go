package mqtt_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/greenlang/greenlang/internal/mqtt"
)

func TestParseTopic(t *testing.T) {
	t.Parallel()
	ok := []struct {
		in   string
		want mqtt.Topic
	}{
		{"greenlang/v1/acme/dev-1/telemetry", mqtt.Topic{Org: "acme", Device: "dev-1", Kind: mqtt.KindTelemetry}},
		{"greenlang/v1/acme/dev-1/status", mqtt.Topic{Org: "acme", Device: "dev-1", Kind: mqtt.KindStatus}},
		{"greenlang/v1/acme/dev-1/commands", mqtt.Topic{Org: "acme", Device: "dev-1", Kind: mqtt.KindCommands}},
		{"greenlang/v1/acme/dev-1/command-results", mqtt.Topic{Org: "acme", Device: "dev-1", Kind: mqtt.KindCommandResults}},
		{"greenlang/v1/Ünïcode org/d 1/telemetry", mqtt.Topic{Org: "Ünïcode org", Device: "d 1", Kind: mqtt.KindTelemetry}},
	}
	for _, c := range ok {
		got, err := mqtt.ParseTopic(c.in)
		if err != nil {
			t.Errorf("ParseTopic(%q): %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("ParseTopic(%q) = %+v, want %+v", c.in, got, c.want)
		}
		if got.String() != c.in {
			t.Errorf("ParseTopic(%q).String() = %q", c.in, got.String())
		}
	}
	bad := []struct{ in, part string }{
		{"", "topic"},
		{"greenlang/v1/acme/dev-1", "topic"},
		{"greenlang/v1/acme/dev-1/telemetry/extra", "topic"},
		{"other/v1/acme/dev-1/telemetry", "root"},
		{"greenlang/v2/acme/dev-1/telemetry", "version"},
		{"greenlang/v1//dev-1/telemetry", "org_id"},
		{"greenlang/v1/+/dev-1/telemetry", "org_id"},
		{"greenlang/v1/acme/#/telemetry", "device_id"},
		{"greenlang/v1/acme/de\x00v/telemetry", "device_id"},
		{"greenlang/v1/acme/" + strings.Repeat("d", mqtt.MaxIDLen+1) + "/telemetry", "device_id"},
		{"greenlang/v1/acme/dev-1/telemetrY", "kind"},
		{"greenlang/v1/acme/dev-1/+", "kind"},
		{"$share/g/greenlang/v1/+/+/telemetry", "topic"},
		{"greenlang/v1/acme/dev-1/\xff", "topic"},
	}
	for _, c := range bad {
		_, err := mqtt.ParseTopic(c.in)
		var te *mqtt.TopicError
		if !errors.As(err, &te) {
			t.Errorf("ParseTopic(%q): err %v, want *TopicError", c.in, err)
			continue
		}
		if te.Part != c.part {
			t.Errorf("ParseTopic(%q): part %q, want %q (%v)", c.in, te.Part, c.part, err)
		}
	}
}

func TestBuildTopic(t *testing.T) {
	t.Parallel()
	got, err := mqtt.BuildTopic("acme", "d1", mqtt.KindCommands)
	if err != nil || got != "greenlang/v1/acme/d1/commands" {
		t.Fatalf("BuildTopic = %q, %v", got, err)
	}
	for _, c := range []struct {
		org, dev string
		kind     mqtt.Kind
		part     string
	}{
		{"", "d", mqtt.KindTelemetry, "org_id"},
		{"a/b", "d", mqtt.KindTelemetry, "org_id"},
		{"a", "d+", mqtt.KindTelemetry, "device_id"},
		{"a", "d", "nope", "kind"},
	} {
		_, err := mqtt.BuildTopic(c.org, c.dev, c.kind)
		var te *mqtt.TopicError
		if !errors.As(err, &te) || te.Part != c.part {
			t.Errorf("BuildTopic(%q, %q, %q): %v, want part %s", c.org, c.dev, c.kind, err, c.part)
		}
	}
	if f := mqtt.SharedFilter("g", mqtt.KindStatus); f != "$share/g/greenlang/v1/+/+/status" {
		t.Errorf("SharedFilter = %q", f)
	}
}

func FuzzParseTopic(f *testing.F) {
	for _, s := range []string{
		"greenlang/v1/acme/dev-1/telemetry", "greenlang/v1/a/b/commands", "greenlang/v1//b/status",
		"greenlang/v1/a/+/command-results", "$share/g/greenlang/v1/+/+/telemetry", "", "/", "greenlang/v1/a/b/c/d",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tp, err := mqtt.ParseTopic(s)
		if err != nil {
			var te *mqtt.TopicError
			if !errors.As(err, &te) || te.Part == "" {
				t.Fatalf("ParseTopic(%q): error %v is not a *TopicError with a part", s, err)
			}
			return
		}
		if tp.String() != s {
			t.Fatalf("round trip: ParseTopic(%q).String() = %q", s, tp.String())
		}
		built, err := mqtt.BuildTopic(tp.Org, tp.Device, tp.Kind)
		if err != nil || built != s {
			t.Fatalf("BuildTopic(%+v) = %q, %v; want %q", tp, built, err, s)
		}
		if strings.ContainsAny(tp.Org+tp.Device, "/+#\x00") {
			t.Fatalf("ParseTopic(%q) accepted ids %q %q", s, tp.Org, tp.Device)
		}
	})
}
