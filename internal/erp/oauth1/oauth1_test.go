package oauth1

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The RFC 5849 §3.4.1.1 example request and its protocol parameters.
const (
	rfcURL  = "http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b"
	rfcBody = "c2&a3=2+q"
	// §3.4.1.1's base string, with the RFC's display line breaks removed.
	rfcBase = "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q" +
		"%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_" +
		"key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_m" +
		"ethod%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk" +
		"9d7dh3k39sjv7"
)

func rfcOAuthParams() map[string]string {
	return map[string]string{
		"realm":                  "Example", // must be ignored
		"oauth_consumer_key":     "9djdj82h48djs9d2",
		"oauth_token":            "kkk9d7dh3k39sjv7",
		"oauth_signature_method": "HMAC-SHA1",
		"oauth_timestamp":        "137131201",
		"oauth_nonce":            "7d8f3e4a",
		"oauth_signature":        "djosJKDKJSD8743243/jdk33klY=", // must be ignored
	}
}

func rfcRequest(t testing.TB) *http.Request {
	t.Helper()
	req, err := http.NewRequest("POST", rfcURL, strings.NewReader(rfcBody))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

func TestRFC5849BaseStringAndSignature(t *testing.T) {
	s := &Signer{
		ConsumerKey: "9djdj82h48djs9d2", ConsumerSecret: "j49sk3j29djd",
		Token: "kkk9d7dh3k39sjv7", TokenSecret: "dh893hdasih9",
		Realm: "Example", Method: HMACSHA1,
	}
	req := rfcRequest(t)
	base, err := s.BaseString(req, rfcOAuthParams())
	if err != nil {
		t.Fatal(err)
	}
	if base != rfcBase {
		t.Fatalf("base string\n got %s\nwant %s", base, rfcBase)
	}
	// The body must still be readable after BaseString.
	if b, _ := io.ReadAll(req.Body); string(b) != rfcBody {
		t.Fatalf("body after BaseString = %q, want %q", b, rfcBody)
	}
	sig, err := s.Signature(base)
	if err != nil {
		t.Fatal(err)
	}
	// The RFC prints bYT5CMsGcbgUdFHObYMEfcx6bsw= for this request, which
	// does not match its own inputs; HMAC-SHA1 of the printed base string
	// with key "j49sk3j29djd&dh893hdasih9" is the corrected value below.
	if want := "r6/TJjbCOr97/+UU0NsvSne7s5g="; sig != want {
		t.Fatalf("signature = %s, want %s", sig, want)
	}
}

// TestRFC5849Section12 checks the three signatures printed in the RFC's
// §1.2 walkthrough (these match the RFC as printed).
func TestRFC5849Section12(t *testing.T) {
	cases := []struct {
		name, method, url, tokenSecret, want string
		params                               map[string]string
	}{
		{"initiate", "POST", "https://photos.example.net/initiate", "", "74KNZJeDHnMBp0EMJ9ZHt/XKycU=",
			map[string]string{"realm": "Photos", "oauth_consumer_key": "dpf43f3p2l4k3l03", "oauth_signature_method": "HMAC-SHA1",
				"oauth_timestamp": "137131200", "oauth_nonce": "wIjqoS", "oauth_callback": "http://printer.example.com/ready"}},
		{"token", "POST", "https://photos.example.net/token", "hdhd0244k9j7ao03", "gKgrFCywp7rO0OXSjdot/IHF7IU=",
			map[string]string{"realm": "Photos", "oauth_consumer_key": "dpf43f3p2l4k3l03", "oauth_token": "hh5s93j4hdidpola",
				"oauth_signature_method": "HMAC-SHA1", "oauth_timestamp": "137131201", "oauth_nonce": "walatlh", "oauth_verifier": "hfdp7dh39dks9884"}},
		{"photos", "GET", "http://photos.example.net/photos?file=vacation.jpg&size=original", "pfkkdhi9sl3r4s00", "MdpQcU8iPSUjWoN/UDMsK2sui9I=",
			map[string]string{"realm": "Photos", "oauth_consumer_key": "dpf43f3p2l4k3l03", "oauth_token": "nnch734d00sl2jdk",
				"oauth_signature_method": "HMAC-SHA1", "oauth_timestamp": "137131202", "oauth_nonce": "chapoH"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, c.url, nil)
			s := &Signer{ConsumerSecret: "kd94hf93k423kf44", TokenSecret: c.tokenSecret, Method: HMACSHA1}
			base, err := s.BaseString(req, c.params)
			if err != nil {
				t.Fatal(err)
			}
			sig, err := s.Signature(base)
			if err != nil {
				t.Fatal(err)
			}
			if sig != c.want {
				t.Fatalf("signature = %s, want %s (base %s)", sig, c.want, base)
			}
		})
	}
}

// TestNetSuiteStepOneBaseString reproduces the worked base string of
// NetSuite's "Constructing the Signature for Step One of the TBA
// Authorization Flow" (section_157652390285), then signs it with HMAC-SHA256
// independently (NetSuite prints no signature for it).
func TestNetSuiteStepOneBaseString(t *testing.T) {
	const secret = "60712990bc09623786e7047c226bcb3f86d49dca0b04efc21001dc76d97a81f5"
	const want = "POST&https%3A%2F%2F1234567.restlets.api.netsuite.com%2Frest%2Frequesttoken&oauth_callback%3Dhttps%253A%252F%252Fmy.example.com%252FTBA%252F%253FcallbackRequest%26oauth_consumer_key%3D60712990bc09623786e7047c226bcb3f86d49dca0b04efc21001dc76d97a81f5%26oauth_nonce%3DbUvpxBX93OWo0FLswq5M%26oauth_signature_method%3DHMAC-SHA256%26oauth_timestamp%3D1575998103%26oauth_version%3D1.0%26role%3D45678"
	req, _ := http.NewRequest("POST", "https://1234567.restlets.api.netsuite.com/rest/requesttoken", nil)
	s := &Signer{ConsumerSecret: secret} // Step One: empty token secret
	base, err := s.BaseString(req, map[string]string{
		"realm":                  "1234567",
		"oauth_callback":         "https://my.example.com/TBA/?callbackRequest",
		"oauth_consumer_key":     secret, // NetSuite's example uses the same value for key and secret
		"oauth_nonce":            "bUvpxBX93OWo0FLswq5M",
		"oauth_signature_method": "HMAC-SHA256",
		"oauth_timestamp":        "1575998103",
		"oauth_version":          "1.0",
		"role":                   "45678",
	})
	if err != nil {
		t.Fatal(err)
	}
	if base != want {
		t.Fatalf("base string\n got %s\nwant %s", base, want)
	}
	sig, err := s.Signature(base)
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, []byte(secret+"&"))
	mac.Write([]byte(want))
	if exp := base64.StdEncoding.EncodeToString(mac.Sum(nil)); sig != exp {
		t.Fatalf("signature = %s, want %s", sig, exp)
	}
}

func fixedSigner() *Signer {
	return &Signer{
		ConsumerKey: "ck", ConsumerSecret: "cs&secret", Token: "tk", TokenSecret: "ts/secret",
		Realm: "1234567_SB1",
		Clock: func() time.Time { return time.Unix(1700000000, 0) },
		Nonce: func() (string, error) { return "abcDEF0123456789wxyz", nil },
	}
}

// TestHMACSHA256KnownAnswer signs a SuiteQL-like request with a fixed clock
// and nonce and checks the header against a base string and HMAC written out
// by hand.
func TestHMACSHA256KnownAnswer(t *testing.T) {
	s := fixedSigner()
	req, _ := http.NewRequest("GET", "HTTPS://1234567-SB1.SuiteTalk.API.NetSuite.com:443/services/rest/query/v1/suiteql?limit=10&offset=0", nil)
	if err := s.Sign(req); err != nil {
		t.Fatal(err)
	}
	const base = "GET&https%3A%2F%2F1234567-sb1.suitetalk.api.netsuite.com%2Fservices%2Frest%2Fquery%2Fv1%2Fsuiteql&" +
		"limit%3D10%26oauth_consumer_key%3Dck%26oauth_nonce%3DabcDEF0123456789wxyz%26oauth_signature_method%3DHMAC-SHA256" +
		"%26oauth_timestamp%3D1700000000%26oauth_token%3Dtk%26oauth_version%3D1.0%26offset%3D0"
	// Key: each secret encoded ("&" -> %26, "/" -> %2F), joined by "&".
	mac := hmac.New(sha256.New, []byte("cs%26secret&ts%2Fsecret"))
	mac.Write([]byte(base))
	sig := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	want := `OAuth realm="1234567_SB1", oauth_consumer_key="ck", oauth_token="tk", oauth_signature_method="HMAC-SHA256", ` +
		`oauth_timestamp="1700000000", oauth_nonce="abcDEF0123456789wxyz", oauth_version="1.0", oauth_signature="` + Encode(sig) + `"`
	if got := req.Header.Get("Authorization"); got != want {
		t.Fatalf("Authorization\n got %s\nwant %s", got, want)
	}
	got, err := s.BaseString(req, map[string]string{
		"oauth_consumer_key": "ck", "oauth_token": "tk", "oauth_signature_method": "HMAC-SHA256",
		"oauth_timestamp": "1700000000", "oauth_nonce": "abcDEF0123456789wxyz", "oauth_version": "1.0",
	})
	if err != nil || got != base {
		t.Fatalf("BaseString = %s, %v; want %s", got, err, base)
	}
}

func TestEncode(t *testing.T) {
	cases := map[string]string{
		"":                     "",
		"AZaz09-._~":           "AZaz09-._~",
		"a b":                  "a%20b",
		"a+b":                  "a%2Bb",
		"!*'();:@&=+$,/?#[]":   "%21%2A%27%28%29%3B%3A%40%26%3D%2B%24%2C%2F%3F%23%5B%5D",
		"%":                    "%25",
		"é":                    "%C3%A9",
		"日本":                   "%E6%97%A5%E6%9C%AC",
		"\U0001F600":           "%F0%9F%98%80",
		"\x00\x7f\xff":         "%00%7F%FF",
		"1234567_SB1":          "1234567_SB1",
		"r6/TJjbCOr97/+UU0Ns=": "r6%2FTJjbCOr97%2F%2BUU0Ns%3D",
	}
	for in, want := range cases {
		if got := Encode(in); got != want {
			t.Errorf("Encode(%q) = %q, want %q", in, got, want)
		}
	}
}

// baseFor returns the base string of a request with no protocol parameters.
func baseFor(t *testing.T, method, rawURL, contentType, body string) string {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, rawURL, r)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	got, err := (&Signer{}).BaseString(req, nil)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestBaseStringRules(t *testing.T) {
	cases := []struct {
		name, method, url, ct, body, want string
	}{
		{"duplicate names sorted by value", "GET", "http://h.example/p?b=2&a=z&a=y&a=", "", "",
			"GET&http%3A%2F%2Fh.example%2Fp&a%3D%26a%3Dy%26a%3Dz%26b%3D2"},
		{"sorted after encoding", "GET", "http://h.example/?a%20b=1&a=2&a~=3&A=4", "", "",
			"GET&http%3A%2F%2Fh.example%2F&A%3D4%26a%3D2%26a%2520b%3D1%26a~%3D3"},
		{"plus in query is a space", "GET", "http://h.example/?q=a+b&r=a%2Bb", "", "",
			"GET&http%3A%2F%2Fh.example%2F&q%3Da%2520b%26r%3Da%252Bb"},
		{"form body included", "POST", "http://h.example/x?q=1", "application/x-www-form-urlencoded; charset=utf-8", "b=%C3%A9&a=1+2",
			"POST&http%3A%2F%2Fh.example%2Fx&a%3D1%25202%26b%3D%25C3%25A9%26q%3D1"},
		{"json body excluded", "POST", "http://h.example/x", "application/json", `{"a":"1"}`,
			"POST&http%3A%2F%2Fh.example%2Fx&"},
		{"form body without content type excluded", "POST", "http://h.example/x", "", "a=1",
			"POST&http%3A%2F%2Fh.example%2Fx&"},
		{"default http port dropped", "GET", "http://EXAMPLE.COM:80/r%20v/X?id=123", "", "",
			"GET&http%3A%2F%2Fexample.com%2Fr%2520v%2FX&id%3D123"},
		{"default https port dropped", "GET", "https://example.com:443/", "", "",
			"GET&https%3A%2F%2Fexample.com%2F&"},
		{"non-default port kept", "GET", "https://www.example.net:8080/?q=1", "", "",
			"GET&https%3A%2F%2Fwww.example.net%3A8080%2F&q%3D1"},
		{"http port 443 kept", "GET", "http://example.com:443/", "", "",
			"GET&http%3A%2F%2Fexample.com%3A443%2F&"},
		{"empty path is slash, method uppercased, fragment dropped", "get", "http://example.com#frag", "", "",
			"GET&http%3A%2F%2Fexample.com%2F&"},
		{"ipv6 host", "GET", "http://[::1]:8080/a", "", "",
			"GET&http%3A%2F%2F%5B%3A%3A1%5D%3A8080%2Fa&"},
		{"oauth_signature in query dropped, realm in query kept", "GET", "http://h.example/?oauth_signature=x&realm=r", "", "",
			"GET&http%3A%2F%2Fh.example%2F&realm%3Dr"},
		{"semicolon is data", "GET", "http://h.example/?a=1;b=2", "", "",
			"GET&http%3A%2F%2Fh.example%2F&a%3D1%253Bb%253D2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := baseFor(t, c.method, c.url, c.ct, c.body); got != c.want {
				t.Fatalf("\n got %s\nwant %s", got, c.want)
			}
		})
	}
}

func TestRealmExcludedFromBaseString(t *testing.T) {
	s := fixedSigner()
	sign := func(realm string) (string, string) {
		s.Realm = realm
		req, _ := http.NewRequest("GET", "https://1234567.suitetalk.api.netsuite.com/services/rest/record/v1/vendor", nil)
		if err := s.Sign(req); err != nil {
			t.Fatal(err)
		}
		p, err := ParseAuthorizationHeader(req.Header.Get("Authorization"))
		if err != nil {
			t.Fatal(err)
		}
		return p["oauth_signature"], p["realm"]
	}
	sigA, realmA := sign("1234567")
	sigB, realmB := sign("1234567_SB1")
	sigC, realmC := sign("")
	if sigA != sigB || sigA != sigC {
		t.Fatalf("signature depends on realm: %s %s %s", sigA, sigB, sigC)
	}
	if realmA != "1234567" || realmB != "1234567_SB1" || realmC != "" {
		t.Fatalf("realms in header: %q %q %q", realmA, realmB, realmC)
	}
	base, err := s.BaseString(httptest.NewRequest("GET", "http://x/", nil), map[string]string{"realm": "R", "oauth_nonce": "n"})
	if err != nil || strings.Contains(base, "realm") {
		t.Fatalf("base string %q (%v) contains realm", base, err)
	}
}

func TestSignRestoresBody(t *testing.T) {
	s := fixedSigner()
	// No GetBody: the body is read and replaced.
	req, _ := http.NewRequest("POST", "https://h.example/x", io.NopCloser(strings.NewReader("a=1&b=2")))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := s.Sign(req); err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(req.Body); string(b) != "a=1&b=2" {
		t.Fatalf("body after Sign = %q", b)
	}
	if req.GetBody == nil || req.ContentLength != 7 {
		t.Fatalf("GetBody %v, ContentLength %d", req.GetBody != nil, req.ContentLength)
	}
	// With GetBody: req.Body is not touched at all.
	req2, _ := http.NewRequest("POST", "https://h.example/x", strings.NewReader("a=1&b=2"))
	req2.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	body := req2.Body
	if err := s.Sign(req2); err != nil {
		t.Fatal(err)
	}
	if req2.Body != body {
		t.Fatal("Sign replaced a body that GetBody could re-read")
	}
	if req.Header.Get("Authorization") != req2.Header.Get("Authorization") {
		t.Fatal("same request signed differently depending on GetBody")
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestErrors(t *testing.T) {
	get, _ := http.NewRequest("GET", "https://h.example/", nil)
	cases := []struct {
		name string
		s    *Signer
		req  *http.Request
		want string
	}{
		{"missing all", &Signer{}, get, "missing consumer key, consumer secret, token, token secret"},
		{"missing consumer key", &Signer{ConsumerSecret: "a", Token: "b", TokenSecret: "c"}, get, "missing consumer key"},
		{"missing token secret", &Signer{ConsumerKey: "k", ConsumerSecret: "a", Token: "b"}, get, "missing token secret"},
		{"unsupported method", &Signer{ConsumerKey: "k", ConsumerSecret: "a", Token: "b", TokenSecret: "c", Method: "PLAINTEXT"}, get, `unsupported signature method "PLAINTEXT"`},
		{"nonce failure", &Signer{ConsumerKey: "k", ConsumerSecret: "a", Token: "b", TokenSecret: "c",
			Nonce: func() (string, error) { return "", errors.New("no entropy") }}, get, "generating nonce: no entropy"},
		{"empty nonce", &Signer{ConsumerKey: "k", ConsumerSecret: "a", Token: "b", TokenSecret: "c",
			Nonce: func() (string, error) { return "", nil }}, get, "empty nonce"},
		{"bad clock", &Signer{ConsumerKey: "k", ConsumerSecret: "a", Token: "b", TokenSecret: "c",
			Clock: func() time.Time { return time.Time{} }}, get, "positive integer"},
		{"body unreadable", fixedSigner(), func() *http.Request {
			r, _ := http.NewRequest("POST", "https://h.example/", io.NopCloser(failingReader{}))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}(), "form body unreadable: disk on fire"},
		{"bad query escape", fixedSigner(), &http.Request{Method: "GET", URL: &url.URL{Scheme: "https", Host: "h.example", Path: "/", RawQuery: "a=%zz"}}, "URL query"},
		{"bad scheme", fixedSigner(), &http.Request{Method: "GET", URL: &url.URL{Scheme: "ftp", Host: "h.example", Path: "/"}}, `scheme "ftp"`},
		{"no host", fixedSigner(), &http.Request{Method: "GET", URL: &url.URL{Scheme: "https", Path: "/"}}, "no host"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.s.Sign(c.req)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "oauth1: ") {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
	if _, err := (&Signer{Method: "RSA-SHA1"}).Signature("x"); !errors.Is(err, ErrUnsupportedMethod) {
		t.Fatalf("Signature with RSA-SHA1: %v", err)
	}
}

func TestDefaultNonceAndClock(t *testing.T) {
	s := &Signer{ConsumerKey: "k", ConsumerSecret: "a", Token: "b", TokenSecret: "c"}
	seen := map[string]bool{}
	for i := 0; i < 50; i++ {
		req, _ := http.NewRequest("GET", "https://h.example/", nil)
		if err := s.Sign(req); err != nil {
			t.Fatal(err)
		}
		p, err := ParseAuthorizationHeader(req.Header.Get("Authorization"))
		if err != nil {
			t.Fatal(err)
		}
		n := p["oauth_nonce"]
		if len(n) != 20 || Encode(n) != n || strings.ContainsAny(n, "-._~") {
			t.Fatalf("nonce %q is not 20 alphanumeric characters", n)
		}
		if seen[n] {
			t.Fatalf("nonce %q repeated", n)
		}
		seen[n] = true
		if p["oauth_signature_method"] != "HMAC-SHA256" || p["oauth_version"] != "1.0" {
			t.Fatalf("header params %v", p)
		}
		if d := time.Since(time.Unix(mustAtoi(t, p["oauth_timestamp"]), 0)); d < -time.Minute || d > time.Minute {
			t.Fatalf("timestamp off by %v", d)
		}
	}
}

func mustAtoi(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("not a number: %q", s)
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

func TestNetSuiteRealm(t *testing.T) {
	for in, want := range map[string]string{
		"1234567": "1234567", "1234567-sb1": "1234567_SB1", "1234567_SB1": "1234567_SB1", " 123456-rp ": "123456_RP",
	} {
		if got := NetSuiteRealm(in); got != want {
			t.Errorf("NetSuiteRealm(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseAuthorizationHeader(t *testing.T) {
	p, err := ParseAuthorizationHeader(`OAuth realm="Example", oauth_signature="bYT5CMsGcbgUdFHObYMEfcx6bsw%3D",oauth_nonce="7d8f3e4a"`)
	if err != nil || p["realm"] != "Example" || p["oauth_signature"] != "bYT5CMsGcbgUdFHObYMEfcx6bsw=" || p["oauth_nonce"] != "7d8f3e4a" {
		t.Fatalf("%v %v", p, err)
	}
	for _, bad := range []string{`Bearer abc`, `OAuth a=b`, `OAuth a="1", a="2"`, `OAuth a="%zz"`} {
		if _, err := ParseAuthorizationHeader(bad); err == nil {
			t.Errorf("ParseAuthorizationHeader(%q) accepted", bad)
		}
	}
}

// TestTransport sends signed requests to an httptest server that recomputes
// the signature from what it received.
func TestTransport(t *testing.T) {
	secrets := fixedSigner()
	var checked atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := ParseAuthorizationHeader(r.Header.Get("Authorization"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		if p["realm"] != "1234567_SB1" || p["oauth_consumer_key"] != "ck" || p["oauth_token"] != "tk" {
			http.Error(w, "wrong credentials", http.StatusUnauthorized)
			return
		}
		// Server side: the verifier knows the secrets, not the client's
		// Signer settings; BaseString takes host and scheme from r.
		verifier := &Signer{ConsumerSecret: secrets.ConsumerSecret, TokenSecret: secrets.TokenSecret, Method: Method(p["oauth_signature_method"])}
		base, err := verifier.BaseString(r, p)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		want, err := verifier.Signature(base)
		if err != nil || !hmac.Equal([]byte(want), []byte(p["oauth_signature"])) {
			http.Error(w, "invalid signature for "+base, http.StatusUnauthorized)
			return
		}
		body, _ := io.ReadAll(r.Body) // BaseString restored it
		checked.Add(1)
		w.Write(body)
	}))
	defer srv.Close()

	client := &http.Client{Transport: &Transport{Signer: fixedSigner(), Base: srv.Client().Transport}}
	// A GET with an awkward query, a form POST, and a JSON POST.
	get, _ := http.NewRequest("GET", srv.URL+"/services/rest/query/v1/suiteql?q=SELECT+id%2C+name+FROM+vendor&x=%7E%20~&limit=5", nil)
	form, _ := http.NewRequest("POST", srv.URL+"/app/site/hosting/restlet.nl?script=6&deploy=1", strings.NewReader("c2&a3=2+q&é=ü"))
	form.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	jsonReq, _ := http.NewRequest("POST", srv.URL+"/services/rest/record/v1/purchaseOrder", strings.NewReader(`{"memo":"a=b&c"}`))
	jsonReq.Header.Set("Content-Type", "application/json")
	for _, req := range []*http.Request{get, form, jsonReq} {
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %d %s", req.Method, req.URL, resp.StatusCode, b)
		}
		if req.Header.Get("Authorization") != "" {
			t.Fatal("Transport modified the caller's request")
		}
	}
	if checked.Load() != 3 {
		t.Fatalf("server verified %d requests, want 3", checked.Load())
	}

	// A tampered request (query changed after signing) must fail.
	tampered := &Transport{Signer: fixedSigner(), Base: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r.URL.RawQuery = "limit=6"
		return srv.Client().Transport.RoundTrip(r)
	})}
	req, _ := http.NewRequest("GET", srv.URL+"/x?limit=5", nil)
	resp, err := (&http.Client{Transport: tampered}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("tampered request got %d, want 401", resp.StatusCode)
	}

	// A signing failure closes the body and reports the cause.
	rc := &closeRecorder{Reader: strings.NewReader("a=1")}
	bad, _ := http.NewRequest("POST", srv.URL+"/x", rc)
	_, err = (&Transport{Signer: &Signer{}}).RoundTrip(bad)
	if err == nil || !strings.Contains(err.Error(), "missing consumer key") || !rc.closed {
		t.Fatalf("err %v, body closed %v", err, rc.closed)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

func FuzzEncode(f *testing.F) {
	for _, s := range []string{"", "a b+c", "~-._", "%zz", "é日本", "\x00\xff", "!*'();:@&=+$,/?#[]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := Encode(s)
		back, err := url.PathUnescape(e)
		if err != nil || back != s {
			t.Fatalf("PathUnescape(Encode(%q)) = %q, %v", s, back, err)
		}
		for i := 0; i < len(e); i++ {
			c := e[i]
			if c == '%' {
				if i+2 >= len(e) || !isUpperHex(e[i+1]) || !isUpperHex(e[i+2]) {
					t.Fatalf("Encode(%q) = %q: bad escape at %d", s, e, i)
				}
				b := unhex(e[i+1])<<4 | unhex(e[i+2])
				if unreserved(b) {
					t.Fatalf("Encode(%q) = %q: unreserved %q escaped", s, e, b)
				}
				i += 2
				continue
			}
			if !unreserved(c) {
				t.Fatalf("Encode(%q) = %q: %q left unescaped", s, e, c)
			}
		}
	})
}

func isUpperHex(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'A' + 10
}

func FuzzNormalize(f *testing.F) {
	f.Add("b5=%3D%253D&a3=a&c%40=&a2=r%20b", "c2&a3=2+q", "GET")
	f.Add("a=1;b=2&&=&a", "%zz", "post")
	f.Add("", "x=\xff", "PATCH")
	f.Fuzz(func(t *testing.T, query, body, method string) {
		req := &http.Request{
			Method: method,
			URL:    &url.URL{Scheme: "https", Host: "h.example", Path: "/p", RawQuery: query},
			Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
			Body:   io.NopCloser(strings.NewReader(body)),
		}
		s := &Signer{ConsumerSecret: "c", TokenSecret: "t"}
		oauth := map[string]string{"oauth_nonce": query, "oauth_token": body, "realm": method}
		b1, err1 := s.BaseString(req, oauth)
		b2, err2 := s.BaseString(req, oauth) // body was restored: same answer
		if (err1 == nil) != (err2 == nil) || b1 != b2 {
			t.Fatalf("not deterministic: %q/%v vs %q/%v", b1, err1, b2, err2)
		}
		if err1 == nil && strings.Count(b1, "&") != 2 {
			t.Fatalf("base string %q does not have exactly three parts", b1)
		}
		// Normalization does not depend on parameter order.
		params, err := parseForm(query + "&" + body)
		if err != nil {
			return
		}
		rev := make([]Param, len(params))
		for i, p := range params {
			rev[len(params)-1-i] = p
		}
		if n1, n2 := NormalizeParameters(params), NormalizeParameters(rev); n1 != n2 {
			t.Fatalf("order-dependent: %q vs %q", n1, n2)
		}
	})
}
