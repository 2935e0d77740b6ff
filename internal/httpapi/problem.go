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
}

// ProblemContentType is the media type of problem responses.
const ProblemContentType = "application/problem+json"

// writeProblem sends a problem response with the standard title for code.
func writeProblem(w http.ResponseWriter, code int, detail string) {
	w.Header().Set("Content-Type", ProblemContentType)
	w.Header().Del("X-Content-Type-Options")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(Problem{Type: "about:blank", Title: http.StatusText(code), Status: code, Detail: detail})
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
