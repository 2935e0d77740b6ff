package erphttp

import (
	"errors"
	"net/url"
	"strings"
)

// sensitiveParam reports whether a query parameter's name suggests a
// credential, so its value must not be logged or put in an error.
func sensitiveParam(name string) bool {
	n := strings.ToLower(name)
	if strings.HasPrefix(n, "oauth_") || strings.HasPrefix(n, "x-amz-") {
		return true
	}
	for _, s := range []string{
		"token", "secret", "password", "passwd", "pwd", "key", "signature",
		"sig", "auth", "credential", "session", "code", "assertion",
	} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// RedactURL returns u as a string without user information and with the
// values of credential-like query parameters (token, secret, password, key,
// signature, oauth_*, …) replaced by "REDACTED". The fragment is dropped.
func RedactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.User = nil
	c.Fragment, c.RawFragment = "", ""
	if c.RawQuery != "" {
		q, err := url.ParseQuery(c.RawQuery)
		if err != nil {
			// Unparseable: keep none of it rather than leak part of it.
			c.RawQuery = "REDACTED"
		} else {
			for k, vs := range q {
				if sensitiveParam(k) {
					for i := range vs {
						vs[i] = "REDACTED"
					}
				}
			}
			c.RawQuery = q.Encode()
		}
	}
	return c.String()
}

// redactString parses s as a URL and redacts it; s is returned unchanged if
// it is not a URL with a scheme.
func redactString(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return s
	}
	return RedactURL(u)
}

// sanitizeErr replaces the URL inside a *url.Error (which http.Client and
// some transports produce) with its redacted form.
func sanitizeErr(err error) error {
	var ue *url.Error
	if err != nil && errors.As(err, &ue) && ue.URL != "" {
		if r := redactString(ue.URL); r != ue.URL {
			if err == error(ue) {
				return &url.Error{Op: ue.Op, URL: r, Err: ue.Err}
			}
			// Wrapped deeper: keep the chain but hide the text.
			return &redactedErr{msg: strings.ReplaceAll(err.Error(), ue.URL, r), err: err}
		}
	}
	return err
}

type redactedErr struct {
	msg string
	err error
}

func (e *redactedErr) Error() string { return e.msg }
func (e *redactedErr) Unwrap() error { return e.err }
