package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
)

// ETags on reads (docs/api.md, "Caching"): a successful GET is buffered,
// its body hashed into a strong ETag, and a request whose If-None-Match
// names that tag gets 304 Not Modified without the body. The tag is the
// body's SHA-256, so it changes exactly when the answer does, on every
// route alike, with no per-record version to keep.

// etagWriter buffers a GET's answer until finish.
type etagWriter struct {
	http.ResponseWriter
	status int
	buf    bytes.Buffer
}

func (e *etagWriter) WriteHeader(code int) {
	if e.status == 0 {
		e.status = code
	}
}

func (e *etagWriter) Write(b []byte) (int, error) {
	if e.status == 0 {
		e.status = http.StatusOK
	}
	return e.buf.Write(b)
}

// finish sends the buffered answer, tagged when it is a 200, or 304 when
// the client already holds it.
func (e *etagWriter) finish(r *http.Request) {
	if e.status == 0 {
		e.status = http.StatusOK
	}
	w := e.ResponseWriter
	if e.status == http.StatusOK {
		sum := sha256.Sum256(e.buf.Bytes())
		tag := `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
		w.Header().Set("ETag", tag)
		if etagMatches(r.Header.Get("If-None-Match"), tag) {
			h := w.Header()
			h.Del("Content-Type")
			h.Del("Content-Length")
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	w.WriteHeader(e.status)
	_, _ = w.Write(e.buf.Bytes()) // the client has gone if this fails
}

// etagMatches reports whether an If-None-Match header names tag (weak
// comparison, RFC 9110 13.1.2) or is "*".
func etagMatches(header, tag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == tag {
			return true
		}
	}
	return false
}
