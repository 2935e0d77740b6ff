package httpapi

import (
	"encoding/json"
	"net/http"
)

// Problem is an RFC 9457 problem detail, the body of every error response.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Field names the part of the request that is wrong, for a request that
	// cannot be read: a body field ("serial"), a query parameter ("from")
	// or a path segment ("id"). An extension member of RFC 9457.
	Field string `json:"field,omitempty"`
	// Errors lists the parts of a request refused one by one (the rows of
	// an activity file), when there are several. An extension member.
	Errors any `json:"errors,omitempty"`
}

// ProblemContentType is the media type of problem responses.
const ProblemContentType = "application/problem+json"

// Problem types of the /api/v1 routes (docs/api.md, "Errors"). A problem
// whose status says everything (405, 413, 415, 500) is "about:blank".
const (
	// ProblemInvalidRequest (400): the request cannot be read: a body that
	// is not JSON or has an unknown field, a malformed id, time or number.
	// Field says which part.
	ProblemInvalidRequest = "urn:greenlang:problem:invalid-request"
	// ProblemUnauthorized (401): no bearer token, or one that is unknown,
	// revoked or expired.
	ProblemUnauthorized = "urn:greenlang:problem:unauthorized"
	// ProblemForbidden (403): the token lacks the route's scope.
	ProblemForbidden = "urn:greenlang:problem:forbidden"
	// ProblemNotFound (404): no such record in the token's organization.
	ProblemNotFound = "urn:greenlang:problem:not-found"
	// ProblemConflict (409): the record's state forbids the change (a
	// decommissioned device, a resolved alert) or it already exists.
	ProblemConflict = "urn:greenlang:problem:conflict"
	// ProblemValidation (422): the request was read but breaks a rule of
	// the domain (an unknown device type, an empty configuration).
	ProblemValidation = "urn:greenlang:problem:validation"
	// ProblemUnavailable (503): the store did not answer; try again.
	ProblemUnavailable = "urn:greenlang:problem:unavailable"
	// ProblemRateLimited (429): the token, or the client address after
	// failed authentications, sent more requests than it may; Retry-After
	// says when to try again.
	ProblemRateLimited = "urn:greenlang:problem:rate-limited"
	// ProblemUpstream (502): a system the platform calls for the request
	// (an ERP) refused it or did not answer; detail says which and why.
	ProblemUpstream = "urn:greenlang:problem:upstream"
)

// writeProblemOf sends p; an empty Type is "about:blank" and an empty
// Title the status's standard text.
func writeProblemOf(w http.ResponseWriter, p Problem) {
	if p.Type == "" {
		p.Type = "about:blank"
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	w.Header().Set("Content-Type", ProblemContentType)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Del("X-Content-Type-Options")
	w.WriteHeader(p.Status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // details quote <token> and the like
	_ = enc.Encode(p)        // the client has gone if this fails
}

// writeProblem sends a problem response with the standard title for code.
func writeProblem(w http.ResponseWriter, code int, detail string) {
	writeProblemOf(w, Problem{Status: code, Detail: detail})
}

// problemMux serves mux, turning its plain-text 404 and 405 replies into
// problem responses. The 405's Allow header is kept.
type problemMux struct{ mux *http.ServeMux }

func (p problemMux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := p.mux.Handler(r); pattern != "" {
		p.mux.ServeHTTP(w, r)
		return
	}
	p.mux.ServeHTTP(&problemWriter{ResponseWriter: w, r: r}, r)
}

// problemWriter replaces the body of an error reply written by the mux
// itself (not found, method not allowed) with a problem document.
type problemWriter struct {
	http.ResponseWriter
	r       *http.Request
	replied bool
}

func (p *problemWriter) WriteHeader(code int) {
	if p.replied {
		return
	}
	p.replied = true
	if code < 400 { // redirects and the like pass through untouched
		p.ResponseWriter.WriteHeader(code)
		return
	}
	detail := "no route for " + p.r.Method + " " + p.r.URL.Path
	if code == http.StatusMethodNotAllowed {
		detail = "method " + p.r.Method + " is not allowed on " + p.r.URL.Path
	}
	p.Header().Del("Content-Length")
	writeProblem(p.ResponseWriter, code, detail)
}

func (p *problemWriter) Write(b []byte) (int, error) {
	if !p.replied {
		p.WriteHeader(http.StatusOK)
	}
	if p.Header().Get("Content-Type") == ProblemContentType {
		return len(b), nil // the mux's plain-text body is dropped
	}
	return p.ResponseWriter.Write(b)
}
