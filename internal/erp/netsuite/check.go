package netsuite

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/greenlang/greenlang/internal/erp"
)

// Check tests the connection: the settings, token-based authentication
// (one signed GET of the vendor list), then one page of one record of
// each entity. It stops at the first failing step, whose Detail names the
// HTTP status and NetSuite's error code and message; it never shows
// credentials.
func (c *Connector) Check(ctx context.Context) []erp.Step {
	var steps []erp.Step
	run := func(name string, f func() (string, error)) bool {
		start := time.Now()
		detail, err := f()
		s := erp.Step{Name: name, OK: err == nil, Detail: detail, Elapsed: time.Since(start)}
		if err != nil {
			s.Detail = c.scrub(err.Error())
		}
		steps = append(steps, s)
		return err == nil
	}
	ok := run("parse settings", func() (string, error) {
		return fmt.Sprintf("account %s, %s, time zone %s, custom records %v", c.realm, c.base, c.loc, c.custom), nil
	})
	ok = ok && run("authenticate (token-based authentication, HMAC-SHA256)", func() (string, error) {
		if _, _, err := c.get(ctx, recordPathRoot+"vendor", url.Values{"limit": {"1"}}); err != nil {
			return "", err
		}
		return "signed GET " + recordPathRoot + "vendor?limit=1 accepted", nil
	})
	for _, e := range c.Entities() {
		if !ok {
			break
		}
		ok = run("read "+e.Name, func() (string, error) {
			p, err := c.Fetch(ctx, e.Name, erp.PageRequest{PageSize: 1})
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("%d record(s), %d rejected on the first page", len(p.Records), len(p.Rejected)), nil
		})
	}
	return steps
}
