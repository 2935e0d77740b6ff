package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// MaxFileSize bounds the configuration file.
const MaxFileSize = 1 << 20

// decodeYAML reads one YAML document from data into c, strictly: unknown
// keys, duplicate keys and values of the wrong type are errors naming the
// file, the line and the key. Errors never repeat a value, which may be a
// secret.
//
// Keys are checked on the parsed node tree before decoding. Besides giving
// exact key paths, this bounds every mapping to the few keys of the schema:
// yaml.v3 compares each key of a mapping with every other, which is
// quadratic in a file of many keys.
func decodeYAML(name string, data []byte, c *Config) (err error) {
	defer func() {
		// The YAML parser is third-party code fed outside input; a panic
		// there is reported as bad input, not a crash.
		if r := recover(); r != nil {
			err = fmt.Errorf("config: %s: malformed YAML", name)
		}
	}()
	if len(data) > MaxFileSize {
		return fmt.Errorf("config: %s: file is larger than %d bytes", name, MaxFileSize)
	}

	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // empty file: nothing to set
		}
		return yamlError(name, data, err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return yamlError(name, data, err)
	default:
		return fmt.Errorf("config: %s line %d: a second YAML document; the file must hold one", name, extra.Line)
	}
	if err := checkKeys(&root, configType, ""); err != nil {
		return fmt.Errorf("config: %s %w", name, err)
	}

	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	if err := strict.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return yamlError(name, data, err)
	}
	return nil
}

// checkKeys reports the first key, in file order, that t does not have or
// that repeats, and any mapping where t is not a struct. Other values of the
// wrong kind are left to the decoder, which rejects them without looking
// inside. Aliases are followed as the decoder follows them; descent happens
// only along struct fields and one list level, so it is bounded by the
// schema, not by the file.
func checkKeys(n *yaml.Node, t reflect.Type, path string) error {
	line := n.Line
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if err := checkKeys(c, t, path); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		if t.Kind() != reflect.Struct {
			return fmt.Errorf("line %d: invalid value for %q: want %s", line, path, describe(t))
		}
		seen := make(map[string]int)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: keys must be plain names", k.Line)
			}
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			if first, dup := seen[k.Value]; dup {
				return fmt.Errorf("line %d: duplicate key %q (first set on line %d)", k.Line, p, first)
			}
			seen[k.Value] = k.Line
			f, ok := fieldByTag(t, k.Value)
			if !ok {
				hint := ""
				if s := closest(k.Value, fieldTags(t)); s != "" {
					hint = fmt.Sprintf(" (did you mean %q?)", s)
				}
				return fmt.Errorf("line %d: unknown key %q%s", k.Line, p, hint)
			}
			if err := checkKeys(v, f.Type, p); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		if t.Kind() != reflect.Slice {
			return nil
		}
		for i, c := range n.Content {
			if err := checkKeys(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

var (
	reLine     = regexp.MustCompile(`^line (\d+): (.*)$`)
	reUnknown  = regexp.MustCompile(`^field (.+) not found in type \S+$`)
	reMismatch = regexp.MustCompile(`^cannot unmarshal .* into (\S+)$`)
)

// yamlError turns a yaml.v3 error into one line naming file, line and key.
func yamlError(name string, data []byte, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) || len(te.Errors) == 0 {
		msg := oneLine(strings.TrimPrefix(err.Error(), "yaml: "))
		if m := reLine.FindStringSubmatch(msg); m != nil {
			return fmt.Errorf("config: %s line %s: malformed YAML: %s", name, m[1], m[2])
		}
		return fmt.Errorf("config: %s line %d: malformed YAML: %s", name, unreportedLine(data), msg)
	}

	first := oneLine(te.Errors[0])
	m := reLine.FindStringSubmatch(first)
	if m == nil {
		return fmt.Errorf("config: %s: %s", name, first)
	}
	line, _ := strconv.Atoi(m[1])
	detail := m[2]
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root) // it decoded once already; a failure leaves root empty

	if u := reUnknown.FindStringSubmatch(detail); u != nil {
		// checkKeys finds unknown keys first; this is a fallback.
		return fmt.Errorf("config: %s line %d: unknown key %q", name, line, u[1])
	}
	if mm := reMismatch.FindStringSubmatch(detail); mm != nil {
		goType := mm[1]
		path, found := "", false
		walk(&root, "", func(p string, _, v *yaml.Node) {
			if t := typeAt(p); v.Line == line && t != nil && t.String() == goType {
				path, found = p, true // the deepest match wins
			}
		})
		if found {
			where := "the top level"
			if path != "" {
				where = strconv.Quote(path)
			}
			return fmt.Errorf("config: %s line %d: invalid value for %s: want %s", name, line, where, describe(typeAt(path)))
		}
		return fmt.Errorf("config: %s line %d: invalid value: want %s", name, line, goType)
	}
	// Anything else yaml.v3 reports: keep its words.
	return fmt.Errorf("config: %s line %d: %s", name, line, detail)
}

// unreportedLine finds the line of an error yaml.v3 reports without one: it
// omits line numbers on the first line, and for bad bytes (invalid UTF-8,
// control characters), which this finds itself.
func unreportedLine(data []byte) int {
	line := 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return line
		}
		if r == '\n' {
			line++
		} else if r < 0x20 && r != '\t' && r != '\r' || r == 0x7f {
			return line
		}
		i += size
	}
	return 1
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// walk visits every node under n with its key path ("http.addr",
// "previous_secret_keys[0]"); key is nil for sequence items and the root.
// Aliases are not followed.
func walk(n *yaml.Node, path string, visit func(path string, key, val *yaml.Node)) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			visit(path, nil, c)
			walk(c, path, visit)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			visit(p, k, v)
			walk(v, p, visit)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			visit(p, nil, c)
			walk(c, p, visit)
		}
	}
}

var configType = reflect.TypeFor[Config]()

// typeAt is the Go type at a key path of Config, or nil when the path is
// not a key.
func typeAt(path string) reflect.Type {
	t := configType
	if path == "" {
		return t
	}
	for _, part := range strings.Split(path, ".") {
		name, rest, _ := strings.Cut(part, "[")
		if t.Kind() != reflect.Struct {
			return nil
		}
		f, ok := fieldByTag(t, name)
		if !ok {
			return nil
		}
		t = f.Type
		for ; rest != ""; _, rest, _ = strings.Cut(rest, "[") {
			if t.Kind() != reflect.Slice {
				return nil
			}
			t = t.Elem()
		}
	}
	return t
}

func fieldByTag(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); tag == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// fieldTags lists the YAML keys of struct type t.
func fieldTags(t reflect.Type) []string {
	keys := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); tag != "" {
			keys = append(keys, tag)
		}
	}
	return keys
}

func describe(t reflect.Type) string {
	switch {
	case t == reflect.TypeFor[time.Duration]():
		return "a duration such as 30s or 1h"
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		return "a list of strings"
	case t.Kind() == reflect.Struct:
		return "a mapping of keys"
	}
	return t.String()
}
