package schemareg

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/hamba/avro/v2"

	"github.com/greenlang/greenlang/internal/stream"
)

// SubjectStrategy names the registry subject of a schema, as Confluent's
// serializers do.
type SubjectStrategy int

const (
	// SubjectTopic is Confluent's TopicNameStrategy: "<topic>-value". One
	// payload type per topic.
	SubjectTopic SubjectStrategy = iota
	// SubjectTopicRecord is Confluent's TopicRecordNameStrategy:
	// "<topic>-<record full name>", for a topic that carries several
	// payload types (emissions.calculated); each type evolves on its own.
	SubjectTopicRecord
)

// Schema binds a Go payload type on a topic to its Avro schema. The Go
// type's fields are matched to the record's fields by their json tag
// names, so the JSON and Avro encodings of a payload use the same names.
type Schema struct {
	// Topic is the stream topic, not namespaced ("emissions.raw").
	Topic string
	// Type is the payload's Go type: a struct, not a pointer.
	Type reflect.Type
	// Avro is the schema's JSON text (an .avsc file); its top level is a
	// record.
	Avro string
	// Strategy names the subject; default SubjectTopic.
	Strategy SubjectStrategy
	// Match tells TranscodeJSON, by a JSON message's headers, whether the
	// message is of Type; needed only on a topic with several types. nil
	// matches every message of Topic.
	Match func(headers map[string]string) bool
}

// For returns the Schema of payload type T on topic.
func For[T any](topic, avsc string) Schema {
	return Schema{Topic: topic, Type: reflect.TypeFor[T](), Avro: avsc}
}

// Subject returns the schema's registry subject for a stream namespace
// ("" when there is none): subjects are named after the engine's topic,
// "<namespace>.<topic>", as a Kafka tool reading the topic expects.
func (s Schema) Subject(namespace string) (string, error) {
	rs, err := s.parse()
	if err != nil {
		return "", err
	}
	return subjectOf(s, rs, namespace), nil
}

func subjectOf(s Schema, rs *avro.RecordSchema, namespace string) string {
	topic := s.Topic
	if namespace != "" {
		topic = namespace + "." + topic
	}
	if s.Strategy == SubjectTopicRecord {
		return topic + "-" + rs.FullName()
	}
	return topic + "-value"
}

func (s Schema) String() string {
	if s.Type == nil {
		return s.Topic
	}
	return s.Topic + " (" + s.Type.String() + ")"
}

// parse parses the Avro text on its own: hamba's package-level cache of
// named types is not used, so two versions of one record never meet.
func (s Schema) parse() (*avro.RecordSchema, error) {
	sch, err := parseAvro(s.Avro)
	if err != nil {
		return nil, err
	}
	rs, ok := sch.(*avro.RecordSchema)
	if !ok {
		return nil, fmt.Errorf("the schema's top level is %s, not a record", sch.Type())
	}
	return rs, nil
}

func parseAvro(text string) (avro.Schema, error) {
	return avro.ParseWithCache(text, "", &avro.SchemaCache{})
}

// check validates s against the Go type: the schema parses, every
// exported field of the type (by json name) is a field of the record (a
// field missing from the schema would be dropped silently on encoding),
// and every record field missing from the type has a default.
func (s Schema) check() (*avro.RecordSchema, error) {
	switch {
	case s.Topic == "":
		return nil, errors.New("no topic")
	case s.Type == nil:
		return nil, errors.New("no Go type")
	case s.Type.Kind() != reflect.Struct:
		return nil, fmt.Errorf("the Go type %s is not a struct", s.Type)
	case s.Strategy != SubjectTopic && s.Strategy != SubjectTopicRecord:
		return nil, fmt.Errorf("unknown subject strategy %d", s.Strategy)
	}
	rs, err := s.parse()
	if err != nil {
		return nil, fmt.Errorf("parsing the Avro schema: %w", err)
	}
	fields := map[string]*avro.Field{}
	for _, f := range rs.Fields() {
		fields[f.Name()] = f
	}
	names, err := jsonFields(s.Type)
	if err != nil {
		return nil, err
	}
	goFields := map[string]bool{}
	for _, name := range names {
		goFields[name] = true
		if fields[name] == nil {
			return nil, fmt.Errorf("field %q of %s is not in the Avro record %s: it would be dropped", name, s.Type, rs.FullName())
		}
	}
	for _, f := range rs.Fields() {
		if !goFields[f.Name()] && !f.HasDefault() {
			return nil, fmt.Errorf("the Avro field %q of %s is not a field of %s and has no default", f.Name(), rs.FullName(), s.Type)
		}
	}
	return rs, nil
}

// jsonFields lists the names encoding/json gives t's exported fields.
// Embedded structs are refused: hamba and encoding/json flatten them by
// different rules.
func jsonFields(t reflect.Type) ([]string, error) {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			return nil, fmt.Errorf("embedded field %s of %s: embedding is not supported in payload types", f.Name, t)
		}
		tag := f.Tag.Get("json")
		if !f.IsExported() || tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	return out, nil
}

// knownTopics is the set of topic names.
func knownTopics(ts []stream.Topic) map[string]bool {
	m := make(map[string]bool, len(ts))
	for _, t := range ts {
		m[t.Name] = true
	}
	return m
}
