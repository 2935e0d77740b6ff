// Package schemaregtest is an in-process imitation of the Confluent Schema
// Registry's REST API for tests of internal/stream/schemareg: an
// httptest server with Avro schemas only, in memory.
//
// It follows the registry's documented semantics for what the platform
// uses: schema ids are global and stable (the same schema under any
// subject has one id), versions count per subject from 1, registering a
// schema a subject already has returns its id without a new version or a
// compatibility check, and each subject's compatibility level (its own,
// else the global one, default BACKWARD) is enforced on registration for
// all seven levels. Errors are the registry's shapes: HTTP 409 with
// error_code 409 for an incompatible schema, 404 with 40401 (subject),
// 40402 (version), 40403 (schema), 40408 (no subject-level
// compatibility), 422 with 42201 (invalid schema), 42202 (invalid
// version), 42203 (invalid level), 401 for missing or wrong basic auth.
//
// Where it is not the registry: compatibility is decided by hamba/avro's
// SchemaCompatibility (reader = new schema, writer = existing one for
// BACKWARD), not by Apache Avro's Java SchemaCompatibility the registry
// runs, so edge cases (aliases, logical types, numeric promotions, enum
// defaults) may be judged differently; "identical schema" is decided on
// hamba's re-serialization of the parsed schema, where the registry uses
// Java's Schema.toString; messages and verbose compatibility messages are
// modelled on the registry's, not copied; a compatibility check against
// "latest" of a missing subject answers 40401 (some registry versions
// answer is_compatible true instead; the client accepts both). Not
// implemented: PROTOBUF and JSON schemas, references, deletes, modes,
// contexts, normalize, metadata and rule sets.
package schemaregtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/hamba/avro/v2"
)

// Option configures a Server.
type Option func(*Server)

// WithBasicAuth makes the server require these credentials.
func WithBasicAuth(user, password string) Option {
	return func(s *Server) { s.user, s.pass = user, password }
}

// WithGlobalLevel sets the global compatibility level (default BACKWARD).
func WithGlobalLevel(level string) Option {
	return func(s *Server) { s.global = level }
}

// Server is the imitation registry. It is safe for concurrent use.
type Server struct {
	srv        *httptest.Server
	user, pass string

	mu       sync.Mutex
	global   string
	ids      map[string]int // normalized schema -> id
	texts    []string       // id-1 -> the schema as stored (normalized)
	parsed   []avro.Schema  // id-1 -> the schema parsed
	subjects map[string]*subject
	requests map[string]int
}

type subject struct {
	versions []int // ids; version = index+1
	level    string
}

// New starts a server; Close it when done.
func New(opts ...Option) *Server {
	s := &Server{global: "BACKWARD", ids: map[string]int{}, subjects: map[string]*subject{}, requests: map[string]int{}}
	for _, o := range opts {
		o(s)
	}
	s.srv = httptest.NewServer(s.Handler())
	return s
}

// URL is the server's base URL, without credentials.
func (s *Server) URL() string { return s.srv.URL }

// Close stops the server: later requests fail to connect.
func (s *Server) Close() { s.srv.Close() }

// Requests counts the requests that matched pattern ("GET
// /schemas/ids/{id}"), for tests of caching.
func (s *Server) Requests(pattern string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[pattern]
}

// Versions returns the schema ids of subject's versions, oldest first.
func (s *Server) Versions(subj string) []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sub := s.subjects[subj]; sub != nil {
		return append([]int(nil), sub.versions...)
	}
	return nil
}

// Level returns subject's own compatibility level, "" when it has none.
func (s *Server) Level(subj string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sub := s.subjects[subj]; sub != nil {
		return sub.level
	}
	return ""
}

// Handler is the REST API, for tests that wrap it (fault injection).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	route := func(pattern string, h func(http.ResponseWriter, *http.Request)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			s.mu.Lock()
			s.requests[pattern]++
			s.mu.Unlock()
			h(w, r)
		})
	}
	route("POST /subjects/{subject}/versions", s.register)
	route("POST /subjects/{subject}", s.lookup)
	route("GET /subjects", s.listSubjects)
	route("GET /subjects/{subject}/versions", s.listVersions)
	route("GET /subjects/{subject}/versions/{version}", s.getVersion)
	route("GET /schemas/ids/{id}", s.schemaByID)
	route("POST /compatibility/subjects/{subject}/versions/{version}", s.checkCompatibility)
	route("GET /config", s.getGlobal)
	route("PUT /config", s.putGlobal)
	route("GET /config/{subject}", s.getLevel)
	route("PUT /config/{subject}", s.putLevel)
	route("DELETE /config/{subject}", s.deleteLevel)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, http.StatusNotFound, 404, "HTTP 404 Not Found")
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.user != "" || s.pass != "" {
			u, p, ok := r.BasicAuth()
			if !ok || u != s.user || p != s.pass {
				w.Header().Set("WWW-Authenticate", `Basic realm="SchemaRegistry"`)
				writeErr(w, http.StatusUnauthorized, 401, "Unauthorized")
				return
			}
		}
		mux.ServeHTTP(w, r)
	})
}

const mediaType = "application/vnd.schemaregistry.v1+json"

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", mediaType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status, code int, format string, args ...any) {
	writeJSON(w, status, map[string]any{"error_code": code, "message": fmt.Sprintf(format, args...)})
}

type schemaRequest struct {
	Schema     string `json:"schema"`
	SchemaType string `json:"schemaType"`
	References []any  `json:"references"`
}

// readSchema decodes a request's schema; it writes the error response
// and returns ok=false when the request is bad.
func readSchema(w http.ResponseWriter, r *http.Request) (avro.Schema, string, bool) {
	var req schemaRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeErr(w, http.StatusBadRequest, 400, "Unrecognized request body: %v", err)
		return nil, "", false
	}
	if req.SchemaType != "" && req.SchemaType != "AVRO" {
		writeErr(w, http.StatusUnprocessableEntity, 42201, "Invalid schema type %s: this test registry stores Avro schemas only", req.SchemaType)
		return nil, "", false
	}
	if len(req.References) > 0 {
		writeErr(w, http.StatusUnprocessableEntity, 42201, "schema references are not supported by this test registry")
		return nil, "", false
	}
	sch, err := avro.ParseWithCache(req.Schema, "", &avro.SchemaCache{})
	if err != nil {
		writeErr(w, http.StatusUnprocessableEntity, 42201, "Invalid schema %s, details: %v", req.Schema, err)
		return nil, "", false
	}
	norm, err := json.Marshal(sch)
	if err != nil {
		writeErr(w, http.StatusUnprocessableEntity, 42201, "Invalid schema: %v", err)
		return nil, "", false
	}
	return sch, string(norm), true
}

// levelOf is the level that applies to subj. Call with s.mu held.
func (s *Server) levelOf(subj string) string {
	if sub := s.subjects[subj]; sub != nil && sub.level != "" {
		return sub.level
	}
	return s.global
}

// incompatibilities checks schema against the given versions of subj
// under level and returns the verbose messages, nil when compatible.
// Call with s.mu held.
func (s *Server) incompatibilities(subj string, versions []int, sch avro.Schema, level string) []string {
	sub := s.subjects[subj]
	var backward, forward bool
	switch level {
	case "BACKWARD", "BACKWARD_TRANSITIVE":
		backward = true
	case "FORWARD", "FORWARD_TRANSITIVE":
		forward = true
	case "FULL", "FULL_TRANSITIVE":
		backward, forward = true, true
	}
	compat := avro.NewSchemaCompatibility()
	for _, v := range versions {
		old := s.parsed[sub.versions[v-1]-1]
		var problems []string
		if backward {
			if err := compat.Compatible(sch, old); err != nil {
				problems = append(problems, fmt.Sprintf("{description:'The new schema cannot read data written with the old schema: %v'}", err))
			}
		}
		if forward {
			if err := compat.Compatible(old, sch); err != nil {
				problems = append(problems, fmt.Sprintf("{description:'The old schema cannot read data written with the new schema: %v'}", err))
			}
		}
		if problems != nil {
			return append(problems, fmt.Sprintf("{oldSchemaVersion: %d}", v), fmt.Sprintf("{oldSchema: '%s'}", s.texts[sub.versions[v-1]-1]),
				fmt.Sprintf("{validateFields: 'false', compatibility: '%s'}", level))
		}
	}
	return nil
}

// versionsToCheck are the versions a new schema must be compatible with
// under level. Call with s.mu held.
func (s *Server) versionsToCheck(subj, level string) []int {
	sub := s.subjects[subj]
	if sub == nil || len(sub.versions) == 0 || level == "NONE" {
		return nil
	}
	if strings.HasSuffix(level, "_TRANSITIVE") {
		all := make([]int, len(sub.versions))
		for i := range all {
			all[i] = i + 1
		}
		return all
	}
	return []int{len(sub.versions)}
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	subj := r.PathValue("subject")
	sch, norm, ok := readSchema(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := s.subjects[subj]
	if id, known := s.ids[norm]; known && sub != nil {
		for _, v := range sub.versions {
			if v == id {
				writeJSON(w, http.StatusOK, map[string]int{"id": id})
				return
			}
		}
	}
	level := s.levelOf(subj)
	if msgs := s.incompatibilities(subj, s.versionsToCheck(subj, level), sch, level); msgs != nil {
		writeErr(w, http.StatusConflict, 409, "Schema being registered is incompatible with an earlier schema for subject %q, details: [%s]", subj, strings.Join(msgs, ", "))
		return
	}
	id, known := s.ids[norm]
	if !known {
		s.texts = append(s.texts, norm)
		s.parsed = append(s.parsed, sch)
		id = len(s.texts)
		s.ids[norm] = id
	}
	if sub == nil {
		sub = &subject{}
		s.subjects[subj] = sub
	}
	sub.versions = append(sub.versions, id)
	writeJSON(w, http.StatusOK, map[string]int{"id": id})
}

func (s *Server) lookup(w http.ResponseWriter, r *http.Request) {
	subj := r.PathValue("subject")
	_, norm, ok := readSchema(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := s.subjects[subj]
	if sub == nil {
		writeErr(w, http.StatusNotFound, 40401, "Subject '%s' not found.", subj)
		return
	}
	id, known := s.ids[norm]
	for i, v := range sub.versions {
		if known && v == id {
			writeJSON(w, http.StatusOK, map[string]any{"subject": subj, "version": i + 1, "id": id, "schema": s.texts[id-1]})
			return
		}
	}
	writeErr(w, http.StatusNotFound, 40403, "Schema not found")
}

func (s *Server) listSubjects(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []string{}
	for name, sub := range s.subjects {
		if len(sub.versions) > 0 {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) listVersions(w http.ResponseWriter, r *http.Request) {
	subj := r.PathValue("subject")
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := s.subjects[subj]
	if sub == nil || len(sub.versions) == 0 {
		writeErr(w, http.StatusNotFound, 40401, "Subject '%s' not found.", subj)
		return
	}
	out := make([]int, len(sub.versions))
	for i := range out {
		out[i] = i + 1
	}
	writeJSON(w, http.StatusOK, out)
}

// version resolves a version path parameter; it writes the error response
// and returns 0 when there is none. Call with s.mu held.
func (s *Server) version(w http.ResponseWriter, subj, param string) int {
	sub := s.subjects[subj]
	n := 0
	if param == "latest" || param == "-1" {
		if sub != nil {
			n = len(sub.versions)
		}
	} else {
		v, err := strconv.Atoi(param)
		if err != nil || v < 1 {
			writeErr(w, http.StatusUnprocessableEntity, 42202, "The specified version '%s' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\"", param)
			return 0
		}
		n = v
	}
	if sub == nil || len(sub.versions) == 0 {
		writeErr(w, http.StatusNotFound, 40401, "Subject '%s' not found.", subj)
		return 0
	}
	if n < 1 || n > len(sub.versions) {
		writeErr(w, http.StatusNotFound, 40402, "Version %s not found.", param)
		return 0
	}
	return n
}

func (s *Server) getVersion(w http.ResponseWriter, r *http.Request) {
	subj := r.PathValue("subject")
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.version(w, subj, r.PathValue("version"))
	if v == 0 {
		return
	}
	id := s.subjects[subj].versions[v-1]
	writeJSON(w, http.StatusOK, map[string]any{"subject": subj, "version": v, "id": id, "schema": s.texts[id-1]})
}

func (s *Server) schemaByID(w http.ResponseWriter, r *http.Request) {
	param := r.PathValue("id")
	id, err := strconv.Atoi(param)
	if err != nil {
		writeErr(w, http.StatusNotFound, 404, "HTTP 404 Not Found")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id < 1 || id > len(s.texts) {
		writeErr(w, http.StatusNotFound, 40403, "Schema %d not found", id)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"schema": s.texts[id-1]})
}

func (s *Server) checkCompatibility(w http.ResponseWriter, r *http.Request) {
	subj := r.PathValue("subject")
	sch, _, ok := readSchema(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.version(w, subj, r.PathValue("version"))
	if v == 0 {
		return
	}
	level := s.levelOf(subj)
	msgs := s.incompatibilities(subj, []int{v}, sch, level)
	out := map[string]any{"is_compatible": msgs == nil}
	if r.URL.Query().Get("verbose") == "true" {
		if msgs == nil {
			msgs = []string{}
		}
		out["messages"] = msgs
	}
	writeJSON(w, http.StatusOK, out)
}

func validLevel(l string) bool {
	switch l {
	case "NONE", "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE":
		return true
	}
	return false
}

func (s *Server) getGlobal(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"compatibilityLevel": s.global})
}

func readLevel(w http.ResponseWriter, r *http.Request) (string, bool) {
	var req struct {
		Compatibility string `json:"compatibility"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeErr(w, http.StatusBadRequest, 400, "Unrecognized request body: %v", err)
		return "", false
	}
	if !validLevel(req.Compatibility) {
		writeErr(w, http.StatusUnprocessableEntity, 42203, "Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive")
		return "", false
	}
	return req.Compatibility, true
}

func (s *Server) putGlobal(w http.ResponseWriter, r *http.Request) {
	level, ok := readLevel(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	s.global = level
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"compatibility": level})
}

func (s *Server) getLevel(w http.ResponseWriter, r *http.Request) {
	subj := r.PathValue("subject")
	s.mu.Lock()
	defer s.mu.Unlock()
	if sub := s.subjects[subj]; sub != nil && sub.level != "" {
		writeJSON(w, http.StatusOK, map[string]string{"compatibilityLevel": sub.level})
		return
	}
	if r.URL.Query().Get("defaultToGlobal") == "true" {
		writeJSON(w, http.StatusOK, map[string]string{"compatibilityLevel": s.global})
		return
	}
	writeErr(w, http.StatusNotFound, 40408, "Subject '%s' does not have subject-level compatibility configured", subj)
}

func (s *Server) putLevel(w http.ResponseWriter, r *http.Request) {
	subj := r.PathValue("subject")
	level, ok := readLevel(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	sub := s.subjects[subj]
	if sub == nil {
		sub = &subject{}
		s.subjects[subj] = sub
	}
	sub.level = level
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"compatibility": level})
}

func (s *Server) deleteLevel(w http.ResponseWriter, r *http.Request) {
	subj := r.PathValue("subject")
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := s.subjects[subj]
	if sub == nil || sub.level == "" {
		writeErr(w, http.StatusNotFound, 40408, "Subject '%s' does not have subject-level compatibility configured", subj)
		return
	}
	old := sub.level
	sub.level = ""
	writeJSON(w, http.StatusOK, map[string]string{"compatibilityLevel": old})
}
