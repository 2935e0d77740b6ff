package schemareg

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Compatibility levels of the registry.
const (
	LevelBackward           = "BACKWARD"
	LevelBackwardTransitive = "BACKWARD_TRANSITIVE"
	LevelForward            = "FORWARD"
	LevelForwardTransitive  = "FORWARD_TRANSITIVE"
	LevelFull               = "FULL"
	LevelFullTransitive     = "FULL_TRANSITIVE"
	LevelNone               = "NONE"
)

// Registry error codes (the "error_code" of an error response) the client
// and the Serde act on.
const (
	ErrorCodeSubjectNotFound       = 40401
	ErrorCodeVersionNotFound       = 40402
	ErrorCodeSchemaNotFound        = 40403
	ErrorCodeSubjectLevelNotConfig = 40408
	ErrorCodeIncompatibleSchema    = 409
	ErrorCodeInvalidSchema         = 42201
)

// DefaultTimeout bounds each registry request when ClientOptions.Timeout
// is zero.
const DefaultTimeout = 10 * time.Second

// maxResponse bounds a response body the client reads.
const maxResponse = 8 << 20

// mediaType is the registry's v1 media type, sent as the request body's
// content type and first in Accept (as Confluent's own clients do).
const mediaType = "application/vnd.schemaregistry.v1+json"

// ClientOptions configure a Client.
type ClientOptions struct {
	// HTTPClient makes the requests. Default: a client with Timeout.
	HTTPClient *http.Client
	// Timeout bounds each request when HTTPClient is nil. Default 10s.
	Timeout time.Duration
}

// Client speaks the subset of the Confluent Schema Registry REST API
// GreenLang uses: register, look up by id (cached), check compatibility,
// read and set a subject's compatibility level. Basic auth comes from the
// URL's user info; no error it returns contains the password. It is safe
// for concurrent use.
type Client struct {
	base     *url.URL // no user info; path ends with "/"
	redacted string   // base as shown in errors
	user     *url.Userinfo
	http     *http.Client
	timeout  time.Duration

	mu   sync.Mutex
	byID map[int]string // schema text by id: ids are immutable
}

// NewClient checks rawURL (http or https, a host, optional user info and
// path prefix) without connecting.
func NewClient(rawURL string, opts ClientOptions) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Parse's error quotes the URL (and parts of it), which may
		// hold the password.
		return nil, errors.New("schemareg: the registry URL does not parse; want http[s]://[user:password@]host[:port][/path]")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("schemareg: registry URL %s: scheme %q is not http or https", u.Redacted(), u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("schemareg: registry URL %s has no host", u.Redacted())
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("schemareg: registry URL %s: a query or fragment is not supported", u.Redacted())
	}
	c := &Client{user: u.User, byID: map[int]string{}, timeout: opts.Timeout}
	base := *u
	base.User = nil
	if !strings.HasSuffix(base.Path, "/") {
		base.Path += "/"
	}
	base.RawPath = ""
	c.base = &base
	c.redacted = strings.TrimSuffix(base.String(), "/")
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	c.http = opts.HTTPClient
	if c.http == nil {
		c.http = &http.Client{Timeout: c.timeout}
	}
	return c, nil
}

// URL is the registry's URL without the user info.
func (c *Client) URL() string { return c.redacted }

// ResponseError is an error response of the registry.
type ResponseError struct {
	// Method and Path are the request's ("POST", "subjects/x-value/versions").
	Method, Path string
	// StatusCode is the HTTP status.
	StatusCode int
	// ErrorCode is the registry's error_code (40401, 409, ...); 0 when the
	// body had none (a proxy's error page, say).
	ErrorCode int
	// Message is the registry's message, or the start of the body.
	Message string
}

func (e *ResponseError) Error() string {
	s := fmt.Sprintf("%s /%s: HTTP %d", e.Method, e.Path, e.StatusCode)
	if e.ErrorCode != 0 {
		s += fmt.Sprintf(" (error_code %d)", e.ErrorCode)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// UnreachableError says the registry could not be asked: no connection,
// a timeout, a TLS failure.
type UnreachableError struct {
	URL string // without user info
	Err error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("schema registry at %s is unreachable: %v", e.URL, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// IsErrorCode reports whether err is a registry response with errorCode.
func IsErrorCode(err error, errorCode int) bool {
	var re *ResponseError
	return errors.As(err, &re) && re.ErrorCode == errorCode
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	ref, err := url.Parse(path)
	if err != nil {
		return err
	}
	u := c.base.ResolveReference(ref)
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", mediaType)
	}
	req.Header.Set("Accept", mediaType+", application/vnd.schemaregistry+json; qs=0.9, application/json; qs=0.5")
	if c.user != nil {
		pass, _ := c.user.Password()
		req.SetBasicAuth(c.user.Username(), pass)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return &UnreachableError{URL: c.redacted, Err: transportCause(err, c.timeout)}
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
		_ = resp.Body.Close()
	}()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return &UnreachableError{URL: c.redacted, Err: transportCause(err, c.timeout)}
	}
	if len(b) > maxResponse {
		return fmt.Errorf("%s /%s: response larger than %d bytes", method, path, maxResponse)
	}
	if resp.StatusCode >= 300 {
		re := &ResponseError{Method: method, Path: path, StatusCode: resp.StatusCode}
		var eb struct {
			ErrorCode int    `json:"error_code"`
			Message   string `json:"message"`
		}
		if json.Unmarshal(b, &eb) == nil && (eb.ErrorCode != 0 || eb.Message != "") {
			re.ErrorCode, re.Message = eb.ErrorCode, eb.Message
		} else {
			re.Message = snippet(b)
		}
		return re
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s /%s: the registry's response is not the expected JSON: %w", method, path, err)
	}
	return nil
}

// transportCause is the part of an http.Client error worth showing: the
// *url.Error around it repeats the URL and method, and a timeout says so.
func transportCause(err error, timeout time.Duration) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("no answer within %s: %w", timeout, err)
	}
	return err
}

func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

type schemaBody struct {
	Schema     string `json:"schema"`
	SchemaType string `json:"schemaType,omitempty"`
}

func subjectPath(subject string, rest ...string) string {
	p := "subjects/" + url.PathEscape(subject)
	for _, r := range rest {
		p += "/" + r
	}
	return p
}

// Register registers an Avro schema under subject (POST
// /subjects/{subject}/versions) and returns its id: the existing id when
// the registry already has this schema, under this subject or another. A
// schema the subject's compatibility level refuses is a *ResponseError
// with ErrorCode 409.
func (c *Client) Register(ctx context.Context, subject, schema string) (int, error) {
	var out struct {
		ID int `json:"id"`
	}
	if err := c.do(ctx, http.MethodPost, subjectPath(subject, "versions"), schemaBody{Schema: schema, SchemaType: "AVRO"}, &out); err != nil {
		return 0, err
	}
	if out.ID < 0 {
		return 0, fmt.Errorf("POST /%s: the registry answered id %d", subjectPath(subject, "versions"), out.ID)
	}
	c.mu.Lock()
	if _, ok := c.byID[out.ID]; !ok {
		c.byID[out.ID] = schema
	}
	c.mu.Unlock()
	return out.ID, nil
}

// SchemaByID returns the text of the Avro schema with id (GET
// /schemas/ids/{id}), from the cache after the first time: ids never
// change meaning. An unknown id is a *ResponseError with ErrorCode 40403;
// a schema of another type (PROTOBUF, JSON) is an error.
func (c *Client) SchemaByID(ctx context.Context, id int) (string, error) {
	c.mu.Lock()
	s, ok := c.byID[id]
	c.mu.Unlock()
	if ok {
		return s, nil
	}
	var out schemaBody
	if err := c.do(ctx, http.MethodGet, "schemas/ids/"+strconv.Itoa(id), nil, &out); err != nil {
		return "", err
	}
	if out.SchemaType != "" && out.SchemaType != "AVRO" {
		return "", fmt.Errorf("schema id %d is a %s schema, not Avro", id, out.SchemaType)
	}
	c.mu.Lock()
	c.byID[id] = out.Schema
	c.mu.Unlock()
	return out.Schema, nil
}

// Compatibility is the registry's verdict on a schema.
type Compatibility struct {
	Compatible bool
	// Messages are the registry's reasons when not compatible.
	Messages []string
}

// CheckCompatibility asks whether schema may be registered as the next
// version of subject under the subject's compatibility level (POST
// /compatibility/subjects/{subject}/versions/latest?verbose=true). A
// subject with no versions yet is compatible.
func (c *Client) CheckCompatibility(ctx context.Context, subject, schema string) (Compatibility, error) {
	var out struct {
		IsCompatible bool     `json:"is_compatible"`
		Messages     []string `json:"messages"`
	}
	p := "compatibility/" + subjectPath(subject, "versions", "latest") + "?verbose=true"
	err := c.do(ctx, http.MethodPost, p, schemaBody{Schema: schema, SchemaType: "AVRO"}, &out)
	if IsErrorCode(err, ErrorCodeSubjectNotFound) || IsErrorCode(err, ErrorCodeVersionNotFound) {
		return Compatibility{Compatible: true}, nil
	}
	if err != nil {
		return Compatibility{}, err
	}
	return Compatibility{Compatible: out.IsCompatible, Messages: out.Messages}, nil
}

// CompatibilityLevel returns the compatibility level that applies to
// subject: its own (GET /config/{subject}) when it has one, else the
// registry's global level (GET /config). subjectLevel tells which.
func (c *Client) CompatibilityLevel(ctx context.Context, subject string) (level string, subjectLevel bool, err error) {
	var out struct {
		Level string `json:"compatibilityLevel"`
	}
	err = c.do(ctx, http.MethodGet, "config/"+url.PathEscape(subject), nil, &out)
	switch {
	case err == nil:
		return out.Level, true, nil
	// Registries before 7.0 answer 40401 for a subject without its own
	// level, later ones 40408.
	case IsErrorCode(err, ErrorCodeSubjectLevelNotConfig), IsErrorCode(err, ErrorCodeSubjectNotFound):
	default:
		return "", false, err
	}
	if err := c.do(ctx, http.MethodGet, "config", nil, &out); err != nil {
		return "", false, err
	}
	return out.Level, false, nil
}

// SetCompatibilityLevel sets subject's own compatibility level (PUT
// /config/{subject}).
func (c *Client) SetCompatibilityLevel(ctx context.Context, subject, level string) error {
	in := struct {
		Compatibility string `json:"compatibility"`
	}{level}
	return c.do(ctx, http.MethodPut, "config/"+url.PathEscape(subject), in, nil)
}
