package oauth1

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Method is an OAuth 1.0 signature method name, as sent in
// oauth_signature_method.
type Method string

const (
	// HMACSHA256 is the only method NetSuite accepts (HMAC-SHA1 support
	// ended in NetSuite 2023.1). It is the default.
	HMACSHA256 Method = "HMAC-SHA256"
	// HMACSHA1 is the RFC 5849 §3.4.2 method, kept so the RFC's own
	// examples can be checked.
	HMACSHA1 Method = "HMAC-SHA1"
)

// Version is the oauth_version value sent with every signed request.
const Version = "1.0"

// ErrUnsupportedMethod is wrapped by errors for a signature method other than
// HMAC-SHA256 or HMAC-SHA1.
var ErrUnsupportedMethod = errors.New("oauth1: unsupported signature method")

// Signer signs HTTP requests with OAuth 1.0a token credentials (NetSuite
// token-based authentication). A Signer holds no hidden state; it is safe for
// concurrent use if Clock and Nonce are.
type Signer struct {
	// ConsumerKey and ConsumerSecret come from the NetSuite integration
	// record (RFC 5849: client credentials).
	ConsumerKey    string
	ConsumerSecret string
	// Token and TokenSecret come from the NetSuite access token (RFC 5849:
	// token credentials).
	Token       string
	TokenSecret string
	// Realm is sent as the Authorization header's realm parameter and is
	// never part of the signature base string. For NetSuite it is the
	// account ID as NetSuite writes it, e.g. "1234567" or "1234567_SB1"
	// (see NetSuiteRealm). Empty means no realm parameter.
	Realm string
	// Method is the signature method; empty means HMACSHA256.
	Method Method
	// Clock gives the time for oauth_timestamp; nil means time.Now.
	Clock func() time.Time
	// Nonce gives oauth_nonce; nil means 20 random alphanumeric characters
	// from crypto/rand (NetSuite: at least 6, ideally 20 characters).
	Nonce func() (string, error)
}

// Param is one request parameter, decoded (not percent-encoded).
type Param struct {
	Name, Value string
}

// method returns the effective signature method or an error naming the
// unsupported one.
func (s *Signer) method() (Method, error) {
	switch s.Method {
	case "":
		return HMACSHA256, nil
	case HMACSHA256, HMACSHA1:
		return s.Method, nil
	default:
		return "", fmt.Errorf("%w %q (supported: %s, %s)", ErrUnsupportedMethod, string(s.Method), HMACSHA256, HMACSHA1)
	}
}

// validate reports every missing credential at once, then an unsupported
// method.
func (s *Signer) validate() error {
	if s == nil {
		return errors.New("oauth1: nil Signer")
	}
	var missing []string
	if s.ConsumerKey == "" {
		missing = append(missing, "consumer key")
	}
	if s.ConsumerSecret == "" {
		missing = append(missing, "consumer secret")
	}
	if s.Token == "" {
		missing = append(missing, "token")
	}
	if s.TokenSecret == "" {
		missing = append(missing, "token secret")
	}
	if len(missing) > 0 {
		return fmt.Errorf("oauth1: missing %s", strings.Join(missing, ", "))
	}
	_, err := s.method()
	return err
}

// Sign sets req's Authorization header to a freshly signed OAuth header
// (RFC 5849 §3.5.1), replacing any Authorization header already there. If the
// request carries an application/x-www-form-urlencoded body, its parameters
// are signed too and the body is restored so it can still be sent. Sign
// modifies req; to sign a request you do not own, use Transport or sign a
// clone.
func (s *Signer) Sign(req *http.Request) error {
	if err := s.validate(); err != nil {
		return err
	}
	if req == nil || req.URL == nil {
		return errors.New("oauth1: request has no URL")
	}
	now := time.Now
	if s.Clock != nil {
		now = s.Clock
	}
	ts := now().Unix()
	if ts <= 0 {
		return fmt.Errorf("oauth1: clock gave timestamp %d; RFC 5849 §3.3 needs a positive integer", ts)
	}
	nonceFn := randomNonce
	if s.Nonce != nil {
		nonceFn = s.Nonce
	}
	nonce, err := nonceFn()
	if err != nil {
		return fmt.Errorf("oauth1: generating nonce: %w", err)
	}
	if nonce == "" {
		return errors.New("oauth1: nonce source returned an empty nonce")
	}
	m, _ := s.method() // validated above
	params := map[string]string{
		"oauth_consumer_key":     s.ConsumerKey,
		"oauth_token":            s.Token,
		"oauth_signature_method": string(m),
		"oauth_timestamp":        strconv.FormatInt(ts, 10),
		"oauth_nonce":            nonce,
		"oauth_version":          Version,
	}
	base, err := s.BaseString(req, params)
	if err != nil {
		return err
	}
	sig, err := s.Signature(base)
	if err != nil {
		return err
	}
	params["oauth_signature"] = sig
	req.Header = cloneHeaderIfNil(req.Header)
	req.Header.Set("Authorization", s.authorizationHeader(params))
	return nil
}

func cloneHeaderIfNil(h http.Header) http.Header {
	if h == nil {
		return make(http.Header)
	}
	return h
}

// headerOrder is the order of the Authorization header's parameters; it
// follows the brief and NetSuite's RESTlet example (realm first, signature
// last). Servers must not depend on the order (RFC 5849 §3.5.1).
var headerOrder = []string{
	"oauth_consumer_key",
	"oauth_token",
	"oauth_signature_method",
	"oauth_timestamp",
	"oauth_nonce",
	"oauth_version",
	"oauth_signature",
}

func (s *Signer) authorizationHeader(params map[string]string) string {
	var b strings.Builder
	b.WriteString("OAuth ")
	first := true
	write := func(name, value string) {
		if !first {
			b.WriteString(", ")
		}
		first = false
		b.WriteString(Encode(name))
		b.WriteString(`="`)
		b.WriteString(Encode(value))
		b.WriteByte('"')
	}
	if s.Realm != "" {
		write("realm", s.Realm)
	}
	for _, name := range headerOrder {
		if v, ok := params[name]; ok {
			write(name, v)
		}
	}
	return b.String()
}

// Signature returns base64(HMAC(key, baseString)) for the signer's method,
// with key = Encode(ConsumerSecret) + "&" + Encode(TokenSecret)
// (RFC 5849 §3.4.2; NetSuite uses the same key with SHA-256). The result is
// not percent-encoded; Sign encodes it in the header.
func (s *Signer) Signature(baseString string) (string, error) {
	if s == nil {
		return "", errors.New("oauth1: nil Signer")
	}
	m, err := s.method()
	if err != nil {
		return "", err
	}
	var h func() hash.Hash
	switch m {
	case HMACSHA1:
		h = sha1.New
	default:
		h = sha256.New
	}
	key := Encode(s.ConsumerSecret) + "&" + Encode(s.TokenSecret)
	mac := hmac.New(h, []byte(key))
	mac.Write([]byte(baseString))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// BaseString returns the RFC 5849 §3.4.1 signature base string of req:
//
//	METHOD & Encode(base string URI) & Encode(normalized parameters)
//
// oauthParams are the protocol parameters that travel in the Authorization
// header; "realm" and "oauth_signature" among them are ignored (§3.4.1.3.1).
// Other parameters come from the URL query and, when the Content-Type is
// application/x-www-form-urlencoded, from the body, which is read and put
// back (through req.GetBody when set, so req.Body is left untouched).
// oauth_signature is dropped from every source.
//
// BaseString also works on a server-side request: it then takes the host from
// req.Host and the scheme from req.TLS when req.URL has neither.
func (s *Signer) BaseString(req *http.Request, oauthParams map[string]string) (string, error) {
	if req == nil || req.URL == nil {
		return "", errors.New("oauth1: request has no URL")
	}
	uri, err := baseStringURI(req)
	if err != nil {
		return "", err
	}
	params, err := requestParams(req)
	if err != nil {
		return "", err
	}
	for name, value := range oauthParams {
		if name == "realm" || name == "oauth_signature" {
			continue
		}
		params = append(params, Param{name, value})
	}
	method := strings.ToUpper(req.Method)
	if method == "" {
		method = http.MethodGet // net/http's meaning of an empty Method
	}
	return Encode(method) + "&" + Encode(uri) + "&" + Encode(NormalizeParameters(params)), nil
}

// baseStringURI builds the §3.4.1.2 base string URI: lowercase scheme and
// host, port only when not the scheme's default, the path as sent, no query
// or fragment.
func baseStringURI(req *http.Request) (string, error) {
	u := req.URL
	if u.Opaque != "" {
		return "", fmt.Errorf("oauth1: opaque URL %q is not supported", u.Opaque)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme == "" {
		scheme = "http"
		if req.TLS != nil {
			scheme = "https"
		}
	}
	if scheme != "http" && scheme != "https" {
		return "", fmt.Errorf("oauth1: URL scheme %q is not http or https", u.Scheme)
	}
	// The Host header wins over URL.Host, as net/http sends it (§3.4.1.2
	// item 2: host and port must match the Host header).
	authority := req.Host
	if authority == "" {
		authority = u.Host
	}
	if authority == "" {
		return "", errors.New("oauth1: request has no host")
	}
	hu := &url.URL{Host: strings.ToLower(authority)}
	host, port := hu.Hostname(), hu.Port()
	if host == "" {
		return "", fmt.Errorf("oauth1: request host %q has no host name", authority)
	}
	if strings.Contains(host, ":") { // IPv6 literal
		host = "[" + host + "]"
	}
	if port != "" && !(scheme == "http" && port == "80") && !(scheme == "https" && port == "443") {
		host += ":" + port
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path, nil
}

// requestParams collects the query and, for a form body, the body
// parameters (§3.4.1.3.1), minus oauth_signature.
func requestParams(req *http.Request) ([]Param, error) {
	params, err := parseForm(req.URL.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("oauth1: URL query: %w", err)
	}
	if isForm(req.Header) && req.Body != nil && req.Body != http.NoBody {
		body, err := readBody(req)
		if err != nil {
			return nil, fmt.Errorf("oauth1: form body unreadable: %w", err)
		}
		bp, err := parseForm(string(body))
		if err != nil {
			return nil, fmt.Errorf("oauth1: form body: %w", err)
		}
		params = append(params, bp...)
	}
	out := params[:0]
	for _, p := range params {
		if p.Name != "oauth_signature" {
			out = append(out, p)
		}
	}
	return out, nil
}

func isForm(h http.Header) bool {
	ct := h.Get("Content-Type")
	if ct == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil && mt == "" {
		return false
	}
	return mt == "application/x-www-form-urlencoded"
}

// readBody returns the body's bytes and leaves req able to send them again:
// through GetBody when available (req.Body untouched), otherwise by reading
// req.Body and replacing it with an in-memory copy (and setting GetBody).
func readBody(req *http.Request) ([]byte, error) {
	if req.GetBody != nil {
		rc, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		return io.ReadAll(rc)
	}
	b, err := io.ReadAll(req.Body)
	closeErr := req.Body.Close()
	if err != nil {
		return nil, err
	}
	if closeErr != nil {
		return nil, closeErr
	}
	req.Body = io.NopCloser(bytes.NewReader(b))
	req.GetBody = func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}
	req.ContentLength = int64(len(b))
	return b, nil
}

// parseForm splits an application/x-www-form-urlencoded string into decoded
// pairs, keeping duplicates and empty values ("c2" alone is c2=""), decoding
// "+" as a space (HTML 4.01 §17.13.4, as RFC 5849 §3.4.1.3.1 requires).
// Unlike url.ParseQuery it does not reject ";" (it is data here).
func parseForm(s string) ([]Param, error) {
	var out []Param
	for s != "" {
		var pair string
		pair, s, _ = strings.Cut(s, "&")
		if pair == "" {
			continue
		}
		name, value, _ := strings.Cut(pair, "=")
		n, err := url.QueryUnescape(name)
		if err != nil {
			return nil, fmt.Errorf("parameter name %q: %w", name, err)
		}
		v, err := url.QueryUnescape(value)
		if err != nil {
			return nil, fmt.Errorf("parameter %q value: %w", n, err)
		}
		out = append(out, Param{n, v})
	}
	return out, nil
}

// NormalizeParameters implements RFC 5849 §3.4.1.3.2: encode each name and
// value (§3.6), sort by encoded name then encoded value (byte order), join
// name=value pairs with "&". The input is not modified.
func NormalizeParameters(params []Param) string {
	enc := make([]Param, len(params))
	for i, p := range params {
		enc[i] = Param{Encode(p.Name), Encode(p.Value)}
	}
	sort.Slice(enc, func(i, j int) bool {
		if enc[i].Name != enc[j].Name {
			return enc[i].Name < enc[j].Name
		}
		return enc[i].Value < enc[j].Value
	})
	var b strings.Builder
	for i, p := range enc {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.Name)
		b.WriteByte('=')
		b.WriteString(p.Value)
	}
	return b.String()
}

// Encode percent-encodes s per RFC 5849 §3.6: the RFC 3986 unreserved
// characters ALPHA, DIGIT, "-", ".", "_", "~" stay as they are; every other
// byte of the UTF-8 string becomes %XX with uppercase hex. A space is "%20",
// never "+".
func Encode(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hexdigits = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hexdigits[c>>4], hexdigits[c&15])
	}
	return string(b)
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

const nonceAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomNonce returns 20 uniformly random alphanumeric characters from
// crypto/rand (rejection sampling; 248 = 4*62 is the largest multiple of 62
// below 256).
func randomNonce() (string, error) {
	const n = 20
	out := make([]byte, 0, n)
	buf := make([]byte, 32)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			return "", err
		}
		for _, c := range buf {
			if c < 248 && len(out) < n {
				out = append(out, nonceAlphabet[int(c)%len(nonceAlphabet)])
			}
		}
	}
	return string(out), nil
}

// ParseAuthorizationHeader parses an "OAuth ..." Authorization header value
// (RFC 5849 §3.5.1) into its decoded parameters, realm included. It is meant
// for servers and simulators that verify signed requests.
func ParseAuthorizationHeader(h string) (map[string]string, error) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	if !strings.EqualFold(scheme, "OAuth") {
		return nil, fmt.Errorf("oauth1: authorization scheme %q is not OAuth", scheme)
	}
	out := make(map[string]string)
	for _, part := range strings.Split(rest, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, quoted, ok := strings.Cut(part, "=")
		if !ok || len(quoted) < 2 || quoted[0] != '"' || quoted[len(quoted)-1] != '"' {
			return nil, fmt.Errorf("oauth1: malformed authorization parameter %q", part)
		}
		n, err := url.PathUnescape(strings.TrimSpace(name))
		if err != nil {
			return nil, fmt.Errorf("oauth1: authorization parameter name %q: %w", name, err)
		}
		v, err := url.PathUnescape(quoted[1 : len(quoted)-1])
		if err != nil {
			return nil, fmt.Errorf("oauth1: authorization parameter %q: %w", n, err)
		}
		if _, dup := out[n]; dup {
			return nil, fmt.Errorf("oauth1: duplicate authorization parameter %q", n)
		}
		out[n] = v
	}
	return out, nil
}

// NetSuiteRealm turns a NetSuite account ID as it appears in an
// account-specific domain (e.g. "1234567-sb1" in
// 1234567-sb1.suitetalk.api.netsuite.com) into the form NetSuite documents
// for account IDs ("1234567_SB1": uppercase, underscore before the sandbox
// suffix). IDs already in that form are returned unchanged.
func NetSuiteRealm(accountID string) string {
	return strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(accountID), "-", "_"))
}

// Transport is an http.RoundTripper that signs each request with Signer
// before passing it to Base. The caller's request is not modified: a clone is
// signed (its form body, if any, is read through GetBody or buffered).
type Transport struct {
	Signer *Signer
	// Base sends the signed request; nil means http.DefaultTransport.
	Base http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	closeBody := func() {
		if req.Body != nil {
			req.Body.Close()
		}
	}
	if t.Signer == nil {
		closeBody()
		return nil, errors.New("oauth1: Transport has no Signer")
	}
	clone := req.Clone(req.Context())
	if err := t.Signer.Sign(clone); err != nil {
		closeBody()
		return nil, err
	}
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(clone)
}
