package netsuite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/greenlang/greenlang/internal/erp"
)

// startOverlap is taken off the server's Date of a read's first response to
// make the read's watermark: a transaction saved while the read ran, whose
// lastmodifieddate is a little earlier than the time the server answered,
// is read again next time instead of missed.
const startOverlap = time.Minute

// suiteQLEntity describes an entity read with SuiteQL.
type suiteQLEntity struct {
	kind       erp.Kind
	recordType string // DeletedRecord.recordtype
	base       string // query up to the WHERE clause's fixed part
	key        string // unique integer column ordering the rows
	modified   string // last-modified column
	parse      func(json.RawMessage, *time.Location) parsed
}

var (
	purchaseOrders = suiteQLEntity{kind: erp.KindPOLine, recordType: "purchaseorder",
		base: poQueryBase, key: poKey, modified: poModified, parse: parsePOLine}
	vendors = suiteQLEntity{kind: erp.KindSupplier, recordType: "vendor",
		base: vendorQueryBase, key: vendorKey, modified: vendorModified, parse: parseVendor}
)

// Fetch reads one page of entity. See README.md for the paging and the
// watermark.
func (c *Connector) Fetch(ctx context.Context, entity string, req erp.PageRequest) (erp.Page, error) {
	var cur cursor
	if req.Cursor == "" {
		if req.Since != "" {
			t, err := time.Parse(time.RFC3339, req.Since)
			if err != nil {
				return erp.Page{}, fmt.Errorf("netsuite: %s: watermark %q is not an RFC 3339 time: %w", entity, req.Since, err)
			}
			req.Since = t.UTC().Format(time.RFC3339)
		}
		cur = cursor{Phase: phaseRows, Since: req.Since}
	} else {
		var err error
		if cur, err = parseCursor(req.Cursor); err != nil {
			return erp.Page{}, err
		}
	}
	size := req.PageSize
	if size <= 0 {
		size = maxPageSize
		if entity == EntityCustomRecords {
			size = defaultCustomPage
		}
	}
	size = min(size, maxPageSize)
	switch entity {
	case EntityPurchaseOrders:
		return c.fetchSuiteQL(ctx, purchaseOrders, cur, size)
	case EntityVendors:
		return c.fetchSuiteQL(ctx, vendors, cur, size)
	case EntityCustomRecords:
		if len(c.custom) == 0 {
			return erp.Page{}, fmt.Errorf("netsuite: entity %s: no custom record types are configured (setting custom_records)", entity)
		}
		return c.fetchCustom(ctx, cur, size)
	}
	return erp.Page{}, fmt.Errorf("netsuite: unknown entity %q (known: %s, %s, %s)", entity, EntityPurchaseOrders, EntityVendors, EntityCustomRecords)
}

// inLoc renders an RFC 3339 time for a TO_DATE literal in the account's
// time zone.
func (c *Connector) inLoc(rfc string) string {
	t, _ := time.Parse(time.RFC3339, rfc) // checked by parseCursor / Fetch
	return t.In(c.loc).Format(sqlDateTimeLayout)
}

func (c *Connector) fetchSuiteQL(ctx context.Context, e suiteQLEntity, cur cursor, size int) (erp.Page, error) {
	var page erp.Page
	if cur.Phase == phaseDeleted {
		done, err := c.deletedPage(ctx, e.kind, e.recordType, "", &cur, size, &page)
		if err != nil {
			return erp.Page{}, err
		}
		if done {
			c.finish(&page, cur)
		}
		return page, nil
	}
	since := ""
	if cur.Since != "" {
		since = c.inLoc(cur.Since)
	}
	col, date, err := c.suiteQL(ctx, keysetQuery(e.base, e.key, e.modified, cur.After, since), size, cur.Offset)
	if err != nil {
		return erp.Page{}, err
	}
	noteStart(&cur, date)
	lastKey := int64(-1)
	for _, item := range col.Items {
		p := e.parse(item, c.loc)
		add(&page, &cur, p, item)
		lastKey = p.seqKey
	}
	if col.HasMore && len(col.Items) > 0 {
		next := cur.Offset + len(col.Items)
		if next+size > c.cap {
			// NetSuite pages one query through 100,000 results at most:
			// start a new query after the last key read.
			if lastKey < 0 {
				return erp.Page{}, fmt.Errorf("netsuite: POST %s: cannot continue past %d results: the last row's %s is not an integer", suiteQLPath, next, e.key)
			}
			cur.After, cur.Offset = lastKey, 0
		} else {
			cur.Offset = next
		}
		page.Next = cur.encode()
		return page, nil
	}
	if cur.Since == "" { // a full read has no deletions to report
		c.finish(&page, cur)
		return page, nil
	}
	cur.Phase, cur.Offset, cur.After, cur.DSince = phaseDeleted, 0, 0, cur.Since
	page.Next = cur.encode()
	return page, nil
}

// deletedPage reads one page of DeletedRecord rows into page and moves cur
// on; done reports the last page.
func (c *Connector) deletedPage(ctx context.Context, kind erp.Kind, recordType, keyPrefix string, cur *cursor, size int, page *erp.Page) (done bool, err error) {
	col, date, err := c.suiteQL(ctx, deletedQuery(recordType, c.inLoc(cur.DSince)), size, cur.Offset)
	if err != nil {
		return false, err
	}
	noteStart(cur, date)
	var last time.Time
	for _, item := range col.Items {
		p, when := parseDeleted(kind, keyPrefix, item, c.loc)
		add(page, cur, p, item)
		if !when.IsZero() {
			last = when
		}
	}
	if !col.HasMore || len(col.Items) == 0 {
		return true, nil
	}
	next := cur.Offset + len(col.Items)
	if next+size > c.cap {
		// Past the result cap: a new query from the last deletion time
		// (a few rows of that second are read twice, which is harmless).
		nd := last.UTC().Format(time.RFC3339)
		if last.IsZero() || nd == cur.DSince {
			return false, fmt.Errorf("netsuite: DeletedRecord %s: more than %d deletions at %s; cannot page further", recordType, c.cap, cur.DSince)
		}
		cur.DSince, cur.Offset = nd, 0
	} else {
		cur.Offset = next
	}
	page.Next = cur.encode()
	return false, nil
}

// fetchCustom reads custom records, type after type, with the REST record
// API: a list page of ids, then each record.
func (c *Connector) fetchCustom(ctx context.Context, cur cursor, size int) (erp.Page, error) {
	var page erp.Page
	if cur.Type >= len(c.custom) {
		c.finish(&page, cur)
		return page, nil
	}
	typ := c.custom[cur.Type]
	nextType := func() {
		cur.Type++
		cur.Phase, cur.Offset, cur.After, cur.DSince = phaseRows, 0, 0, ""
		if cur.Type >= len(c.custom) {
			c.finish(&page, cur)
		} else {
			page.Next = cur.encode()
		}
	}
	if cur.Phase == phaseDeleted {
		done, err := c.deletedPage(ctx, erp.KindGLEntry, typ, typ+"/", &cur, size, &page)
		if err != nil {
			return erp.Page{}, err
		}
		if done {
			nextType()
		}
		return page, nil
	}
	q := url.Values{"limit": {strconv.Itoa(size)}, "offset": {strconv.Itoa(cur.Offset)}}
	if cur.Since != "" {
		t, _ := time.Parse(time.RFC3339, cur.Since)
		q.Set("q", recordFilter(t, c.loc))
	}
	listPath := recordPathRoot + typ
	raw, date, err := c.get(ctx, listPath, q)
	if err != nil {
		return erp.Page{}, err
	}
	col, err := decodeCollection(raw)
	if err != nil {
		return erp.Page{}, fmt.Errorf("netsuite: GET %s: decoding the response: %w", listPath, err)
	}
	noteStart(&cur, date)
	for _, item := range col.Items {
		var ref struct {
			ID value `json:"id"`
		}
		if err := json.Unmarshal(item, &ref); err != nil || ref.ID.trim() == "" {
			page.Rejected = append(page.Rejected, erp.Rejected{Reason: "list item: id is missing", Raw: item})
			continue
		}
		id := ref.ID.trim()
		path := listPath + "/" + url.PathEscape(id)
		body, _, err := c.get(ctx, path, nil)
		var ae *APIError
		switch {
		case errors.As(err, &ae) && ae.StatusCode == http.StatusNotFound:
			// Deleted between the list and the read.
			add(&page, &cur, parsed{rec: erp.Record{Kind: erp.KindGLEntry, Key: typ + "/" + id, Deleted: true, Original: item}}, item)
			continue
		case err != nil:
			return erp.Page{}, err
		case !json.Valid(body):
			return erp.Page{}, fmt.Errorf("netsuite: GET %s: decoding the response: %w", path, json.Unmarshal(body, new(any)))
		}
		add(&page, &cur, parseCustom(typ, body, c.loc), body)
	}
	if col.HasMore && len(col.Items) > 0 {
		cur.Offset += len(col.Items)
		page.Next = cur.encode()
		return page, nil
	}
	if cur.Since != "" {
		cur.Phase, cur.Offset, cur.DSince = phaseDeleted, 0, cur.Since
		page.Next = cur.encode()
		return page, nil
	}
	nextType()
	return page, nil
}

// add puts a parsed item into page, as a record or a rejection.
func add(page *erp.Page, cur *cursor, p parsed, raw json.RawMessage) {
	if p.err == nil {
		p.err = p.rec.Validate()
	}
	if p.err != nil {
		page.Rejected = append(page.Rejected, erp.Rejected{Key: p.rec.Key, Reason: p.err.Error(), Raw: raw})
		return
	}
	page.Records = append(page.Records, p.rec)
	if !p.rec.Modified.IsZero() {
		if m, err := time.Parse(time.RFC3339, cur.Max); err != nil || p.rec.Modified.After(m) {
			cur.Max = p.rec.Modified.UTC().Format(time.RFC3339)
		}
	}
}

// noteStart records when the read started, from the first response's Date.
func noteStart(cur *cursor, date time.Time) {
	if cur.Start == "" && !date.IsZero() {
		cur.Start = date.Add(-startOverlap).UTC().Format(time.RFC3339)
	}
}

// finish marks page as the last one: the watermark is when the read
// started (less startOverlap), else the latest change seen, else the
// watermark the read started from.
func (c *Connector) finish(page *erp.Page, cur cursor) {
	page.Next = ""
	switch {
	case cur.Start != "":
		page.Watermark = cur.Start
	case cur.Max != "":
		page.Watermark = cur.Max
	default:
		page.Watermark = cur.Since
	}
}
