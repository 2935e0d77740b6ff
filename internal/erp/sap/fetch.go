package sap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/greenlang/greenlang/internal/erp"
)

// cursor is the state between the pages of one run, encoded in Page.Next
// as a query string so that another process can resume from it:
//
//	since  the incremental lower bound (RFC 3339), "" for a full read
//	top    $top (client-driven paging)
//	skip   $skip of the next page
//	next   the gateway's __next link (server-driven paging), if it gave one
//	start  the server's Date when the run's first page was served
//	max    the latest LastChangeDateTime seen so far in the run
type cursor struct {
	Since time.Time
	Top   int
	Skip  int
	Next  string
	Start time.Time
	Max   time.Time
}

func (c cursor) encode() string {
	v := url.Values{}
	if !c.Since.IsZero() {
		v.Set("since", c.Since.UTC().Format(time.RFC3339))
	}
	v.Set("top", strconv.Itoa(c.Top))
	v.Set("skip", strconv.Itoa(c.Skip))
	if c.Next != "" {
		v.Set("next", c.Next)
	}
	if !c.Start.IsZero() {
		v.Set("start", c.Start.UTC().Format(time.RFC3339))
	}
	if !c.Max.IsZero() {
		v.Set("max", c.Max.UTC().Format(time.RFC3339Nano))
	}
	return v.Encode()
}

func decodeCursor(s string) (cursor, error) {
	v, err := url.ParseQuery(s)
	if err != nil {
		return cursor{}, errors.New("is not a query string")
	}
	var c cursor
	if c.Top, err = strconv.Atoi(v.Get("top")); err != nil || c.Top < 0 {
		return cursor{}, errors.New("has no valid top")
	}
	if c.Skip, err = strconv.Atoi(v.Get("skip")); err != nil || c.Skip < 0 {
		return cursor{}, errors.New("has no valid skip")
	}
	c.Next = v.Get("next")
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"since", &c.Since}, {"start", &c.Start}, {"max", &c.Max}} {
		if s := v.Get(f.name); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return cursor{}, fmt.Errorf("has a bad %s", f.name)
			}
			*f.dst = t.UTC()
		}
	}
	return c, nil
}

// collection is the d object of an OData v2 JSON collection response.
type collection struct {
	Results []json.RawMessage `json:"results"`
	Next    string            `json:"__next"`
	Count   string            `json:"__count"`
	N       int               `json:"-"` // entries in results
}

// parseCollection decodes an OData v2 collection body: {"d":{"results":[…],
// "__next":…,"__count":…}}, or the older {"d":[…]}.
func parseCollection(body []byte) (collection, error) {
	var env struct {
		D *collection `json:"d"`
	}
	err := json.Unmarshal(body, &env)
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Value == "array" && te.Field == "d" {
		var arr struct {
			D []json.RawMessage `json:"d"`
		}
		if err := json.Unmarshal(body, &arr); err != nil {
			return collection{}, err
		}
		return collection{Results: arr.D}, nil
	}
	if err != nil {
		return collection{}, err
	}
	if env.D == nil {
		return collection{}, errors.New(`the body has no "d" object`)
	}
	if env.D.Results == nil {
		return collection{}, errors.New(`"d" has no "results" array`)
	}
	return *env.D, nil
}

// parsePage maps a response body of entity e into records and rejects:
// decoding it at once when it can, else entry by entry so that an entry of
// an unexpected shape is rejected alone. A body that is not JSON is an
// error.
func parsePage(e *entity, body []byte) (collection, *pageOut, error) {
	if e.fast != nil {
		out := &pageOut{ent: e}
		c, ok, err := e.fast(body, out)
		if err != nil {
			return collection{}, nil, err
		}
		if ok {
			return c, out, nil
		}
	}
	c, err := parseCollection(body)
	if err != nil {
		return collection{}, nil, err
	}
	c.N = len(c.Results)
	out := &pageOut{ent: e, records: make([]erp.Record, 0, len(c.Results))}
	for _, raw := range c.Results {
		e.parse(raw, out)
	}
	return c, out, nil
}

// fastEnvelope is an OData v2 collection of T.
type fastEnvelope[T any] struct {
	D *struct {
		Count   string `json:"__count"`
		Results []T    `json:"results"`
		Next    string `json:"__next"`
	} `json:"d"`
}

// fastParser decodes a page straight into typed entries and maps each
// with mapOne. It declines (ok false) a page with a value of an unexpected
// type or shape, which the tolerant path then handles entry by entry.
func fastParser[T any](mapOne func(v *T, out *pageOut)) func([]byte, *pageOut) (collection, bool, error) {
	return func(body []byte, out *pageOut) (collection, bool, error) {
		var env fastEnvelope[T]
		if err := json.Unmarshal(body, &env); err != nil {
			var se *json.SyntaxError
			if errors.As(err, &se) {
				return collection{}, false, err
			}
			return collection{}, false, nil
		}
		if env.D == nil || env.D.Results == nil {
			return collection{}, false, nil
		}
		out.records = make([]erp.Record, 0, len(env.D.Results))
		for i := range env.D.Results {
			mapOne(&env.D.Results[i], out)
		}
		return collection{Next: env.D.Next, Count: env.D.Count, N: len(env.D.Results)}, true, nil
	}
}

// marshalRaw is the Original of an entry decoded at once: its properties
// as received, encoded again.
func marshalRaw(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage("null")
	}
	return b
}

// pageURL is the URL of the page at cur (client-driven paging), or the
// first page of server-driven paging.
func (c *Connector) pageURL(e *entity, cur cursor, withCount bool) string {
	q := [][2]string{}
	if c.set.SAPClient != "" {
		q = append(q, [2]string{"sap-client", c.set.SAPClient})
	}
	q = append(q, [2]string{"$format", "json"})
	var filters []string
	if e.filter != "" {
		filters = append(filters, e.filter)
	}
	if e.modifiedField != "" && !cur.Since.IsZero() {
		filters = append(filters, e.modifiedField+" ge "+datetimeOffsetLiteral(cur.Since))
	}
	if len(filters) > 0 {
		q = append(q, [2]string{"$filter", strings.Join(filters, " and ")})
	}
	if e.expand != "" {
		q = append(q, [2]string{"$expand", e.expand})
	}
	q = append(q, [2]string{"$select", e.selects}, [2]string{"$orderby", e.orderBy})
	if withCount {
		q = append(q, [2]string{"$inlinecount", "allpages"})
	}
	if !c.set.ServerPaging {
		q = append(q, [2]string{"$top", strconv.Itoa(cur.Top)})
		if cur.Skip > 0 {
			q = append(q, [2]string{"$skip", strconv.Itoa(cur.Skip)})
		}
	}
	return c.base.String() + e.path + "?" + encodeQuery(q)
}

// followNext resolves the gateway's __next link against the request URL,
// refusing one to another host (the token must not leave the system), and
// adds sap-client when the link lost it.
func (c *Connector) followNext(reqURL, next string) (string, error) {
	ru, err := url.Parse(reqURL)
	if err != nil {
		return "", err
	}
	nu, err := ru.Parse(next)
	if err != nil {
		return "", fmt.Errorf("__next %q is not a URL", next)
	}
	if nu.Scheme != c.base.Scheme || nu.Host != c.base.Host {
		return "", fmt.Errorf("__next points to another host (%s); refusing to follow it", nu.Host)
	}
	if c.set.SAPClient != "" && !strings.Contains(nu.RawQuery, "sap-client=") {
		if nu.RawQuery != "" {
			nu.RawQuery += "&"
		}
		nu.RawQuery += "sap-client=" + url.QueryEscape(c.set.SAPClient)
	}
	return nu.String(), nil
}

// get sends a GET and returns the body of a 200, or an error naming the
// path and the vendor's message.
func (c *Connector) get(ctx context.Context, rawURL string) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("sap: connection %s: GET %s: %w", c.cfg.Name, pathOf(rawURL), err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("sap: connection %s: %w", c.cfg.Name, cleanErr(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("sap: connection %s: GET %s: reading the response: %w", c.cfg.Name, pathOf(rawURL), err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("sap: connection %s: %w", c.cfg.Name, &requestError{
			Method: http.MethodGet, Path: pathOf(rawURL), Status: resp.Status, Code: resp.StatusCode, Message: vendorMessage(body)})
	}
	return body, resp.Header, nil
}

// Fetch reads one page of an entity (see erp.Connector).
//
// purchase_orders pages count purchase orders ($top of the $expand query):
// a page holds the items of PageSize orders (about five lines each).
func (c *Connector) Fetch(ctx context.Context, name string, req erp.PageRequest) (erp.Page, error) {
	e, err := c.entity(name)
	if err != nil {
		return erp.Page{}, err
	}
	top := req.PageSize
	if top <= 0 {
		top = c.set.PageSize
	}
	if top <= 0 {
		top = e.defaultTop
	}
	top = min(top, MaxPageSize)

	var cur cursor
	first := req.Cursor == ""
	if first {
		cur.Top = top
		if e.modifiedField != "" && req.Since != "" {
			t, err := time.Parse(time.RFC3339Nano, req.Since)
			if err != nil {
				return erp.Page{}, fmt.Errorf("sap: connection %s: %s: watermark %q is not an RFC 3339 time", c.cfg.Name, name, req.Since)
			}
			cur.Since = t.UTC()
		}
	} else {
		cur, err = decodeCursor(req.Cursor)
		if err != nil {
			return erp.Page{}, fmt.Errorf("sap: connection %s: %s: cursor %w", c.cfg.Name, name, err)
		}
		if req.PageSize > 0 {
			cur.Top = top
		}
		if cur.Top <= 0 {
			cur.Top = top
		}
	}
	u := cur.Next
	if u == "" {
		u = c.pageURL(e, cur, true)
	} else if nu, err := url.Parse(u); err != nil || nu.Host != c.base.Host || !strings.HasSuffix(nu.Path, e.path) {
		return erp.Page{}, fmt.Errorf("sap: connection %s: %s: cursor is not a link to %s on this connection", c.cfg.Name, name, e.path)
	}

	body, hdr, err := c.get(ctx, u)
	if err != nil {
		return erp.Page{}, err
	}
	coll, out, err := parsePage(e, body)
	if err != nil {
		return erp.Page{}, fmt.Errorf("sap: connection %s: GET %s: the response is not a valid OData JSON collection: %w", c.cfg.Name, pathOf(u), err)
	}
	if first {
		// The server's clock when the read started: every change after it
		// has a later LastChangeDateTime, so it is the next watermark.
		if t, err := http.ParseTime(hdr.Get("Date")); err == nil {
			cur.Start = t.UTC()
		}
	}
	if out.max.After(cur.Max) {
		cur.Max = out.max
	}

	page := erp.Page{Records: out.records, Rejected: out.rejected}
	n := coll.N
	next := ""
	switch {
	case coll.Next != "":
		next, err = c.followNext(u, coll.Next)
		if err != nil {
			return erp.Page{}, fmt.Errorf("sap: connection %s: GET %s: %w", c.cfg.Name, pathOf(u), err)
		}
	case c.set.ServerPaging || n == 0:
	case coll.Count != "":
		if total, err := strconv.Atoi(coll.Count); err == nil && cur.Skip+n < total {
			next = "skip"
		} else if err != nil && n >= cur.Top {
			next = "skip"
		}
	case n >= cur.Top:
		next = "skip"
	}
	switch next {
	case "":
		page.Watermark = c.watermark(e, cur, req.Since)
	case "skip":
		nc := cur
		nc.Next, nc.Skip = "", cur.Skip+n
		page.Next = nc.encode()
	default:
		nc := cur
		nc.Next = next
		page.Next = nc.encode()
	}
	return page, nil
}

// watermark is the Watermark of a run's last page: the server's time when
// the run started, else the latest change seen, else the old watermark.
func (c *Connector) watermark(e *entity, cur cursor, since string) string {
	if e.modifiedField == "" {
		return ""
	}
	switch {
	case !cur.Start.IsZero():
		return cur.Start.Format(time.RFC3339)
	case !cur.Max.IsZero():
		return cur.Max.Format(time.RFC3339Nano)
	}
	return since
}
