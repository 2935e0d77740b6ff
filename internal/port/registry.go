package port

import (
	"net/url"
	"sort"
	"strings"
)

// Registry maps the URL schemes of one port's drivers to their open
// functions (F). The composition root builds one per port and each driver
// package adds itself with its Register function; there is no global
// registry.
type Registry[F any] struct {
	port    string
	openers map[string]F
	aliases map[string]string
}

// NewRegistry returns an empty registry of the named port ("store").
func NewRegistry[F any](port string) *Registry[F] {
	return &Registry[F]{port: port, openers: map[string]F{}, aliases: map[string]string{}}
}

// Register adds a driver for scheme. It panics when scheme is taken, a
// programming error found at start-up.
func (r *Registry[F]) Register(scheme string, open F) {
	if _, dup := r.openers[scheme]; dup {
		panic(r.port + ": scheme registered twice: " + scheme)
	}
	r.openers[scheme] = open
}

// Alias makes URLs of scheme from open with the driver of scheme to
// ("postgresql" for "postgres").
func (r *Registry[F]) Alias(from, to string) { r.aliases[from] = to }

// Schemes lists the registered URL schemes.
func (r *Registry[F]) Schemes() []string {
	out := make([]string, 0, len(r.openers))
	for s := range r.openers {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Lookup parses rawURL and returns the open function of its scheme, or an
// InvalidArgument error naming the known schemes (never the URL, which may
// hold a password).
func (r *Registry[F]) Lookup(rawURL string) (F, *url.URL, error) {
	var none F
	op := r.port + ": opening"
	u, err := url.Parse(rawURL)
	if err != nil {
		return none, nil, &Error{Code: InvalidArgument, Op: op, Msg: r.port + " URL is not a valid URL"}
	}
	scheme := u.Scheme
	if to, ok := r.aliases[scheme]; ok {
		scheme = to
	}
	open, ok := r.openers[scheme]
	if !ok {
		return none, nil, Errorf(InvalidArgument, op, "unknown %s URL scheme %q (known: %s)", r.port, u.Scheme, strings.Join(r.Schemes(), ", "))
	}
	return open, u, nil
}
