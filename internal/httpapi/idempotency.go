package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/greenlang/greenlang/internal/store"
)

// Idempotency keys (docs/api.md, "Idempotency keys"): a POST sent with an
// Idempotency-Key header is served once per token and key. The key is
// claimed in the store before the handler runs and completed with the
// answer after, so a retry — after a timeout, in another process — gets
// the first answer again (with Idempotent-Replayed: true) instead of
// creating a second record. A key reused for another request is a 422; a
// retry while the first is being served is a 409; an answer of 5xx is not
// kept, so the retry is served afresh. An answer that showed a secret once
// (a new token, device credentials) is not stored: its retry is a 409
// saying the request was served.

// secretWithheld stands for an answer that held a secret: only its status
// is kept, and a retry is told so.
const secretWithheld = "greenlang/secret-withheld"

// MaxIdempotencyKey is the longest key accepted.
const MaxIdempotencyKey = 255

func (a *api) idempotent(w http.ResponseWriter, r *http.Request, tok *store.APIToken, key string, secret bool, serve func(http.ResponseWriter, *http.Request)) {
	if len(key) > MaxIdempotencyKey || !printableASCII(key) {
		writeProblemOf(w, Problem{Type: ProblemInvalidRequest, Status: http.StatusBadRequest, Field: "Idempotency-Key",
			Detail: "Idempotency-Key: at most " + strconv.Itoa(MaxIdempotencyKey) + " printable ASCII characters (a UUID, say)"})
		return
	}
	limit := max(a.maxUpload, MaxBodyBytes)
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var big *http.MaxBytesError
		if errors.As(err, &big) {
			writeProblem(w, http.StatusRequestEntityTooLarge, "the body is larger than "+strconv.FormatInt(big.Limit, 10)+" bytes")
			return
		}
		writeProblemOf(w, Problem{Type: ProblemInvalidRequest, Status: http.StatusBadRequest, Detail: "reading the body: " + err.Error()})
		return
	}
	h := sha256.New()
	h.Write([]byte(r.Method + "\x00" + r.URL.RequestURI() + "\x00" + r.Header.Get("Content-Type") + "\x00"))
	h.Write(body)
	hash := hex.EncodeToString(h.Sum(nil))
	prev, err := a.st.IdempotencyClaim(r.Context(), tok.OrgID, tok.ID, key, hash)
	switch {
	case store.CodeOf(err) == store.CodeInvalidArgument:
		writeProblemOf(w, Problem{Type: ProblemValidation, Status: http.StatusUnprocessableEntity, Field: "Idempotency-Key", Detail: storeMessage(err)})
		return
	case store.CodeOf(err) == store.CodeFailedPrecondition:
		w.Header().Set("Retry-After", "1")
		writeProblemOf(w, Problem{Type: ProblemConflict, Status: http.StatusConflict, Field: "Idempotency-Key", Detail: storeMessage(err)})
		return
	case err != nil:
		a.fail(w, r, err)
		return
	case prev != nil && prev.ContentType == secretWithheld:
		writeProblemOf(w, Problem{Type: ProblemConflict, Status: http.StatusConflict, Field: "Idempotency-Key",
			Detail: "the request with this Idempotency-Key was served (status " + strconv.Itoa(prev.Status) +
				"); its answer held a secret shown once and is not kept: list the records to find what it made"})
		return
	case prev != nil:
		w.Header().Set("Content-Type", prev.ContentType)
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Idempotent-Replayed", "true")
		w.WriteHeader(prev.Status)
		_, _ = w.Write(prev.Body)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := &recorder{ResponseWriter: w}
	serve(rec, r)
	// The answer is recorded whatever became of the client.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
	defer cancel()
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if rec.status >= 500 {
		err = a.st.IdempotencyRelease(ctx, tok.OrgID, tok.ID, key)
	} else {
		ans := store.IdempotentAnswer{Status: rec.status, ContentType: rec.Header().Get("Content-Type"), Body: rec.body.Bytes()}
		if secret && rec.status < 300 {
			ans.ContentType, ans.Body = secretWithheld, nil
		}
		err = a.st.IdempotencyComplete(ctx, tok.OrgID, tok.ID, key, ans)
	}
	if err != nil {
		a.log.LogAttrs(ctx, slog.LevelError, "recording an idempotent answer failed: a retry with this key gets 409 until the key expires",
			slog.String("token_id", tok.ID.String()), slog.String("key", key), slog.Any("err", err))
	}
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// recorder passes an answer through and keeps a copy.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}
