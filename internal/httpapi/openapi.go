package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"unicode"

	"github.com/google/uuid"
	"github.com/invopop/jsonschema"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/store"
)

// The OpenAPI 3.1 document (docs/api.md, "OpenAPI"): built from routes()
// when first asked for, the schemas reflected from the Go types each
// handler reads and writes (github.com/invopop/jsonschema, JSON Schema
// 2020-12, the dialect of OpenAPI 3.1). Only summaries and parameter
// descriptions are written by hand, beside the route.

// openAPIDoc is the document's top level.
type openAPIDoc struct {
	OpenAPI    string                           `json:"openapi"`
	Info       openAPIInfo                      `json:"info"`
	Servers    []map[string]string              `json:"servers"`
	Security   []map[string][]string            `json:"security"`
	Tags       []map[string]string              `json:"tags"`
	Paths      map[string]map[string]*openAPIOp `json:"paths"`
	Components openAPIComponents                `json:"components"`
}

type openAPIInfo struct {
	Title       string `json:"title"`
	Version     string `json:"version"`
	Description string `json:"description"`
}

type openAPIComponents struct {
	SecuritySchemes map[string]any                `json:"securitySchemes"`
	Schemas         map[string]*jsonschema.Schema `json:"schemas"`
}

type openAPIOp struct {
	OperationID string                     `json:"operationId"`
	Summary     string                     `json:"summary"`
	Description string                     `json:"description,omitempty"`
	Tags        []string                   `json:"tags"`
	Parameters  []openAPIParam             `json:"parameters,omitempty"`
	RequestBody *openAPIBody               `json:"requestBody,omitempty"`
	Responses   map[string]openAPIResponse `json:"responses"`
	Security    []map[string][]string      `json:"security,omitempty"`
	// Scope is the API token scope the route needs ("" any token).
	Scope string `json:"x-required-scope"`
}

type openAPIParam struct {
	Name        string             `json:"name"`
	In          string             `json:"in"`
	Required    bool               `json:"required,omitempty"`
	Description string             `json:"description,omitempty"`
	Schema      *jsonschema.Schema `json:"schema"`
}

type openAPIBody struct {
	Required bool                        `json:"required"`
	Content  map[string]openAPIMediaType `json:"content"`
}

type openAPIMediaType struct {
	Schema *jsonschema.Schema `json:"schema"`
}

type openAPIResponse struct {
	Description string                      `json:"description"`
	Content     map[string]openAPIMediaType `json:"content,omitempty"`
}

// schemaNamer names reflected types in components/schemas: the Go type's
// name, a generic list as <Item>List, and the package's name in front
// when two packages have a type of the same name. One document is built
// by one goroutine.
type schemaNamer struct {
	names map[string]reflect.Type
	byTyp map[reflect.Type]string
}

func (n *schemaNamer) name(t reflect.Type) string {
	if s, ok := n.byTyp[t]; ok {
		return s
	}
	name := t.Name()
	if i := strings.IndexByte(name, '['); i >= 0 {
		inner := strings.TrimPrefix(name[i+1:len(name)-1], "*")
		inner = inner[strings.LastIndexByte(inner, '.')+1:]
		name = exported(inner) + exported(name[:i])
		name = strings.TrimSuffix(name, "Response")
	} else {
		name = exported(name)
	}
	if other, taken := n.names[name]; taken && other != t {
		pkg := t.PkgPath()
		name = exported(pkg[strings.LastIndexByte(pkg, '/')+1:]) + name
	}
	n.names[name] = t
	n.byTyp[t] = name
	return name
}

func exported(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// schemaFor maps the types whose JSON is not what their Go shape says.
func schemaFor(t reflect.Type) *jsonschema.Schema {
	switch t {
	case reflect.TypeFor[uuid.UUID]():
		return &jsonschema.Schema{Type: "string", Format: "uuid"}
	case reflect.TypeFor[decimal.Decimal]():
		return &jsonschema.Schema{Type: "string", Pattern: `^-?[0-9]+(\.[0-9]+)?$`, Description: "an exact decimal number, as a string"}
	case reflect.TypeFor[decimal.NullDecimal]():
		return &jsonschema.Schema{AnyOf: []*jsonschema.Schema{
			{Type: "string", Pattern: `^-?[0-9]+(\.[0-9]+)?$`}, {Type: "null"}}, Description: "an exact decimal number as a string, or null"}
	case reflect.TypeFor[store.JSON](), reflect.TypeFor[json.RawMessage]():
		return &jsonschema.Schema{Description: "any JSON value"}
	case reflect.TypeFor[store.StringList]():
		return &jsonschema.Schema{Type: "array", Items: &jsonschema.Schema{Type: "string"}}
	}
	return nil
}

// openAPI builds the document of routes.
func openAPI(routes []route, version string) ([]byte, error) {
	n := &schemaNamer{names: map[string]reflect.Type{}, byTyp: map[reflect.Type]string{}}
	// Answers always hold their fields without omitempty (required); a
	// request may leave out any field (the handler says which it needs)
	// and may hold no other (unknown fields are refused).
	answers := &jsonschema.Reflector{Anonymous: true, Mapper: schemaFor, Namer: n.name, AllowAdditionalProperties: true}
	requests := &jsonschema.Reflector{Anonymous: true, Mapper: schemaFor, Namer: n.name, RequiredFromJSONSchemaTags: true}
	doc := openAPIDoc{
		OpenAPI: "3.1.0",
		Info: openAPIInfo{Title: "GreenLang API", Version: version,
			Description: "GreenLang's JSON API: greenhouse-gas inventory, factors, suppliers, ERP connections, IoT devices, " +
				"alerts, users and the audit trail. Errors are RFC 9457 problem documents. See docs/api.md."},
		Servers:  []map[string]string{{"url": "/"}},
		Security: []map[string][]string{{"bearer": {}}},
		Paths:    map[string]map[string]*openAPIOp{},
		Components: openAPIComponents{
			SecuritySchemes: map[string]any{"bearer": map[string]string{"type": "http", "scheme": "bearer",
				"description": "an API token (glt_…), from greenlang token create or POST /api/v1/tokens"}},
			Schemas: map[string]*jsonschema.Schema{},
		},
	}
	schema := func(ref *jsonschema.Reflector, v any) *jsonschema.Schema {
		s := ref.Reflect(v)
		for name, d := range s.Definitions {
			doc.Components.Schemas[name] = d
		}
		s.Definitions = nil
		s.Version = ""
		return s
	}
	problem := schema(answers, Problem{})
	tags := map[string]bool{}
	for _, rt := range routes {
		method, path, _ := strings.Cut(rt.pattern, " ")
		tag := tagOf(path)
		tags[tag] = true
		op := &openAPIOp{OperationID: operationID(method, path), Summary: rt.doc.summary, Tags: []string{tag},
			Scope: rt.scope, Responses: map[string]openAPIResponse{}}
		if rt.scope != "" {
			op.Description = "Needs an API token with the scope `" + rt.scope + "` (and, for a user's token, a role granting it)."
		} else {
			op.Description = "Needs any valid API token."
		}
		for _, seg := range strings.Split(path, "/") {
			if name, ok := strings.CutPrefix(seg, "{"); ok {
				name = strings.TrimSuffix(name, "}")
				s := &jsonschema.Schema{Type: "string"}
				if name == "id" {
					s.Format = "uuid"
				}
				op.Parameters = append(op.Parameters, openAPIParam{Name: name, In: "path", Required: true, Schema: s})
			}
		}
		for _, p := range rt.doc.query {
			op.Parameters = append(op.Parameters, openAPIParam{Name: p.name, In: "query", Description: p.desc,
				Schema: &jsonschema.Schema{Type: "string"}})
		}
		switch {
		case rt.doc.body != nil:
			op.RequestBody = &openAPIBody{Required: true, Content: map[string]openAPIMediaType{
				"application/json": {Schema: schema(requests, rt.doc.body)}}}
		case rt.doc.upload != nil:
			op.RequestBody = &openAPIBody{Required: true, Content: map[string]openAPIMediaType{}}
			for _, mt := range rt.doc.upload {
				op.RequestBody.Content[mt] = openAPIMediaType{Schema: &jsonschema.Schema{Type: "string", ContentMediaType: mt}}
			}
		}
		status := rt.doc.status
		if status == 0 {
			status = http.StatusOK
		}
		if rt.doc.resp == nil {
			return nil, fmt.Errorf("route %s documents no response", rt.pattern)
		}
		op.Responses[fmt.Sprint(status)] = openAPIResponse{Description: http.StatusText(status),
			Content: map[string]openAPIMediaType{"application/json": {Schema: schema(answers, rt.doc.resp)}}}
		if method == http.MethodGet {
			op.Responses["304"] = openAPIResponse{Description: "Not Modified: the If-None-Match ETag is current"}
		}
		op.Responses["default"] = openAPIResponse{Description: "An RFC 9457 problem document",
			Content: map[string]openAPIMediaType{ProblemContentType: {Schema: problem}}}
		if doc.Paths[path] == nil {
			doc.Paths[path] = map[string]*openAPIOp{}
		}
		doc.Paths[path][strings.ToLower(method)] = op
	}
	names := make([]string, 0, len(tags))
	for t := range tags {
		names = append(names, t)
	}
	slices.Sort(names)
	for _, t := range names {
		doc.Tags = append(doc.Tags, map[string]string{"name": t})
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return bytes.ReplaceAll(b, []byte(`"#/$defs/`), []byte(`"#/components/schemas/`)), nil
}

// tagOf groups a path by its first segment after /api/v1 ("erp" keeps
// its own).
func tagOf(path string) string {
	rest := strings.TrimPrefix(path, "/api/v1/")
	seg, _, _ := strings.Cut(rest, "/")
	return seg
}

// operationID names an operation from its method and path:
// GET /api/v1/sites/{id} is getSitesId.
func operationID(method, path string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	for _, seg := range strings.Split(strings.TrimPrefix(path, "/api/v1/"), "/") {
		seg = strings.Trim(seg, "{}")
		for _, part := range strings.FieldsFunc(seg, func(r rune) bool { return r == '-' || r == '_' }) {
			b.WriteString(exported(part))
		}
	}
	return b.String()
}
