package mqtt

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// TopicRoot is the first two levels of every GreenLang MQTT topic.
const TopicRoot = "greenlang/v1"

// MaxIDLen is the longest org or device id, in bytes, a topic may carry.
const MaxIDLen = 128

// Kind is the last level of a topic: what the message is.
type Kind string

// The topic kinds. Telemetry, status and command results flow from a device
// to the platform; commands flow from the platform to a device.
const (
	KindTelemetry      Kind = "telemetry"
	KindStatus         Kind = "status"
	KindCommands       Kind = "commands"
	KindCommandResults Kind = "command-results"
)

// InboundKinds returns the kinds a device publishes and the platform
// receives: telemetry, status and command-results.
func InboundKinds() []Kind {
	return []Kind{KindTelemetry, KindStatus, KindCommandResults}
}

// Valid reports whether k is one of the four kinds.
func (k Kind) Valid() bool {
	switch k {
	case KindTelemetry, KindStatus, KindCommands, KindCommandResults:
		return true
	}
	return false
}

// Inbound reports whether k flows from a device to the platform.
func (k Kind) Inbound() bool {
	return k == KindTelemetry || k == KindStatus || k == KindCommandResults
}

// DeviceUser is a device's user name on the embedded broker,
// "<org>/<device>": the identity its topics' ACL is checked against.
func DeviceUser(org, device string) string { return org + "/" + device }

// ParseDeviceUser splits a DeviceUser name; ok is false without a "/".
func ParseDeviceUser(user string) (org, device string, ok bool) { return strings.Cut(user, "/") }

// Topic is a parsed topic name: greenlang/v1/{org_id}/{device_id}/{kind}.
type Topic struct {
	Org    string
	Device string
	Kind   Kind
}

// String returns the topic name. It does not validate; use BuildTopic for
// ids that come from outside.
func (t Topic) String() string {
	return TopicRoot + "/" + t.Org + "/" + t.Device + "/" + string(t.Kind)
}

// TopicError says which part of a topic name is wrong.
type TopicError struct {
	Topic string
	// Part is "topic", "root", "version", "org_id", "device_id" or "kind".
	Part   string
	Reason string
}

func (e *TopicError) Error() string {
	return fmt.Sprintf("mqtt: topic %q: %s: %s", e.Topic, e.Part, e.Reason)
}

// BuildTopic returns the topic name for org, device and kind, or a
// *TopicError naming the part that is not allowed.
func BuildTopic(org, device string, kind Kind) (string, error) {
	t := Topic{Org: org, Device: device, Kind: kind}
	name := t.String()
	if err := checkID(name, "org_id", org); err != nil {
		return "", err
	}
	if err := checkID(name, "device_id", device); err != nil {
		return "", err
	}
	if !kind.Valid() {
		return "", &TopicError{Topic: name, Part: "kind", Reason: fmt.Sprintf("unknown kind %q", string(kind))}
	}
	return name, nil
}

// ParseTopic parses a topic name of the GreenLang scheme. Topic filters
// (with + or #) and shared-subscription filters are not topic names and
// fail to parse. Errors are *TopicError.
func ParseTopic(name string) (Topic, error) {
	if !utf8.ValidString(name) {
		return Topic{}, &TopicError{Topic: name, Part: "topic", Reason: "not valid UTF-8"}
	}
	parts := strings.Split(name, "/")
	if len(parts) != 5 {
		return Topic{}, &TopicError{Topic: name, Part: "topic",
			Reason: fmt.Sprintf("has %d levels, want 5 (greenlang/v1/{org_id}/{device_id}/{kind})", len(parts))}
	}
	if parts[0] != "greenlang" {
		return Topic{}, &TopicError{Topic: name, Part: "root", Reason: fmt.Sprintf("is %q, want %q", parts[0], "greenlang")}
	}
	if parts[1] != "v1" {
		return Topic{}, &TopicError{Topic: name, Part: "version", Reason: fmt.Sprintf("is %q, want %q", parts[1], "v1")}
	}
	if err := checkID(name, "org_id", parts[2]); err != nil {
		return Topic{}, err
	}
	if err := checkID(name, "device_id", parts[3]); err != nil {
		return Topic{}, err
	}
	k := Kind(parts[4])
	if !k.Valid() {
		return Topic{}, &TopicError{Topic: name, Part: "kind", Reason: fmt.Sprintf("unknown kind %q", parts[4])}
	}
	return Topic{Org: parts[2], Device: parts[3], Kind: k}, nil
}

// checkID validates an org or device id: 1 to MaxIDLen bytes of UTF-8
// without '/', the wildcards '+' and '#', NUL or other control characters.
func checkID(topic, part, id string) error {
	switch {
	case id == "":
		return &TopicError{Topic: topic, Part: part, Reason: "empty"}
	case len(id) > MaxIDLen:
		return &TopicError{Topic: topic, Part: part, Reason: fmt.Sprintf("longer than %d bytes", MaxIDLen)}
	case !utf8.ValidString(id):
		return &TopicError{Topic: topic, Part: part, Reason: "not valid UTF-8"}
	}
	for _, r := range id {
		switch {
		case r == '/':
			return &TopicError{Topic: topic, Part: part, Reason: "contains '/'"}
		case r == '+' || r == '#':
			return &TopicError{Topic: topic, Part: part, Reason: fmt.Sprintf("contains wildcard %q", r)}
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return &TopicError{Topic: topic, Part: part, Reason: fmt.Sprintf("contains control character %U", r)}
		}
	}
	return nil
}

// SharedFilter returns the shared-subscription filter through which the
// members of group split the messages of kind from every device:
// $share/{group}/greenlang/v1/+/+/{kind}. An empty group gives the plain
// (unshared) filter.
func SharedFilter(group string, kind Kind) string {
	f := TopicRoot + "/+/+/" + string(kind)
	if group == "" {
		return f
	}
	return "$share/" + group + "/" + f
}
