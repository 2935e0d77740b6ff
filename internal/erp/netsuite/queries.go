package netsuite

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The SuiteQL the connector sends. Each query orders by a unique integer
// key so that paging is stable and, past NetSuite's 100,000-result cap, a
// new query can continue after the last key read. The simulator accepts
// exactly these shapes (sim.go).
const (
	// poQueryBase reads purchase order item lines (not the main line, not
	// tax lines) with their header. Date-times are formatted with TO_CHAR
	// so they do not depend on the user's date format preference.
	poQueryBase = "SELECT t.id AS id, t.tranid AS tranid, TO_CHAR(t.trandate, 'YYYY-MM-DD') AS trandate, " +
		"t.entity AS entity, BUILTIN.DF(t.entity) AS entityname, c.symbol AS currency, t.status AS status, " +
		"tl.uniquekey AS uniquekey, tl.linesequencenumber AS linesequencenumber, tl.item AS item, " +
		"BUILTIN.DF(tl.item) AS itemname, BUILTIN.DF(tl.class) AS class, tl.memo AS memo, tl.quantity AS quantity, " +
		"BUILTIN.DF(tl.units) AS units, tl.rate AS rate, tl.netamount AS netamount, tl.foreignamount AS foreignamount, " +
		"BUILTIN.DF(tl.department) AS department, BUILTIN.DF(tl.location) AS location, tl.isclosed AS isclosed, " +
		"TO_CHAR(t.lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS lastmodifieddate " +
		"FROM transaction t JOIN transactionline tl ON tl.transaction = t.id JOIN currency c ON c.id = t.currency " +
		"WHERE t.type = 'PurchOrd' AND tl.mainline = 'F' AND tl.taxline = 'F'"
	poKey      = "tl.uniquekey"
	poModified = "t.lastmodifieddate"

	// vendorQueryBase reads vendors with the country of their default
	// billing address.
	vendorQueryBase = "SELECT v.id AS id, v.entityid AS entityid, v.companyname AS companyname, v.legalname AS legalname, " +
		"v.vatregnumber AS vatregnumber, v.email AS email, v.url AS url, ea.country AS country, v.isinactive AS isinactive, " +
		"TO_CHAR(v.lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS lastmodifieddate " +
		"FROM vendor v LEFT JOIN entityaddress ea ON ea.nkey = v.defaultbillingaddress WHERE v.isperson = 'F'"
	vendorKey      = "v.id"
	vendorModified = "v.lastmodifieddate"

	// deletedQueryBase reads the DeletedRecord table for one record type.
	deletedQueryBase = "SELECT recordtype, recordid, TO_CHAR(deleteddate, 'YYYY-MM-DD HH24:MI:SS') AS deleteddate " +
		"FROM deletedrecord WHERE recordtype = '%s'"

	toDateFormat = "'YYYY-MM-DD HH24:MI:SS'"
)

// keysetQuery is base AND <key> > after [AND <modified> >= since] ORDER BY
// <key>; since is already in the account's time zone and layout.
func keysetQuery(base, key, modified string, after int64, since string) string {
	var b strings.Builder
	b.WriteString(base)
	fmt.Fprintf(&b, " AND %s > %d", key, after)
	if since != "" {
		fmt.Fprintf(&b, " AND %s >= TO_DATE('%s', %s)", modified, since, toDateFormat)
	}
	fmt.Fprintf(&b, " ORDER BY %s", key)
	return b.String()
}

// deletedQuery reads deletions of recordType since since (account time
// zone), oldest first.
func deletedQuery(recordType, since string) string {
	return fmt.Sprintf(deletedQueryBase, recordType) +
		fmt.Sprintf(" AND deleteddate >= TO_DATE('%s', %s) ORDER BY deleteddate, recordid", since, toDateFormat)
}

// recordFilter is the record API's q filter for records changed on or after
// the day of since (the record API compares dates, not times, so this reads
// a superset), in the M/D/YYYY form NetSuite documents.
func recordFilter(since time.Time, loc *time.Location) string {
	d := since.In(loc)
	return fmt.Sprintf(`lastModified ON_OR_AFTER "%d/%d/%d"`, int(d.Month()), d.Day(), d.Year())
}

// Phases of a read.
const (
	phaseRows    = "rows"    // changed (or all) records
	phaseDeleted = "deleted" // DeletedRecord rows since the watermark
)

// cursor is where a read stands. It is encoded as a query string in
// Page.Next, so a new process can resume from it.
type cursor struct {
	Phase  string
	Since  string // the watermark the read started from (RFC 3339), "" for a full read
	Start  string // when the server answered the first page, less startOverlap (RFC 3339)
	Max    string // latest Modified seen (RFC 3339)
	After  int64  // keyset: rows with a key above this
	Offset int    // offset within the current query
	DSince string // deleted phase: rows deleted at or after this (RFC 3339)
	Type   int    // custom_records: index of the custom record type
}

const cursorVersion = "1"

func (c cursor) encode() string {
	v := url.Values{"v": {cursorVersion}, "phase": {c.Phase}}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("since", c.Since)
	set("start", c.Start)
	set("max", c.Max)
	set("dsince", c.DSince)
	if c.After != 0 {
		v.Set("after", strconv.FormatInt(c.After, 10))
	}
	if c.Offset != 0 {
		v.Set("offset", strconv.Itoa(c.Offset))
	}
	if c.Type != 0 {
		v.Set("type", strconv.Itoa(c.Type))
	}
	return v.Encode()
}

func parseCursor(s string) (cursor, error) {
	v, err := url.ParseQuery(s)
	if err != nil {
		return cursor{}, fmt.Errorf("netsuite: cursor %q: %w", s, err)
	}
	if v.Get("v") != cursorVersion {
		return cursor{}, fmt.Errorf("netsuite: cursor %q is not a NetSuite cursor of version %s", s, cursorVersion)
	}
	c := cursor{Phase: v.Get("phase"), Since: v.Get("since"), Start: v.Get("start"), Max: v.Get("max"), DSince: v.Get("dsince")}
	if c.Phase != phaseRows && c.Phase != phaseDeleted {
		return cursor{}, fmt.Errorf("netsuite: cursor %q: unknown phase %q", s, c.Phase)
	}
	for _, t := range []string{c.Since, c.Start, c.Max, c.DSince} {
		if t != "" {
			if _, err := time.Parse(time.RFC3339, t); err != nil {
				return cursor{}, fmt.Errorf("netsuite: cursor %q: %w", s, err)
			}
		}
	}
	num := func(k string) (int64, error) {
		if v.Get(k) == "" {
			return 0, nil
		}
		n, err := strconv.ParseInt(v.Get(k), 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("netsuite: cursor %q: %s %q is not a non-negative integer", s, k, v.Get(k))
		}
		return n, nil
	}
	if c.After, err = num("after"); err != nil {
		return cursor{}, err
	}
	off, err := num("offset")
	if err != nil {
		return cursor{}, err
	}
	typ, err := num("type")
	if err != nil {
		return cursor{}, err
	}
	if off > suiteQLResultCap || typ > 1000 {
		return cursor{}, fmt.Errorf("netsuite: cursor %q is out of range", s)
	}
	c.Offset, c.Type = int(off), int(typ)
	return c, nil
}
