package oracle

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/greenlang/greenlang/internal/erp"
)

// Check tests the connection: settings, authentication (the OAuth token,
// or one basic-authenticated request), then one page of one record of each
// entity, stopping at the first step that fails. Details never carry
// credentials: errors come from the HTTP layer (URLs redacted) and from the
// vendor's error bodies.
func (c *Connector) Check(ctx context.Context) []erp.Step {
	var steps []erp.Step
	run := func(name string, f func() (string, error)) bool {
		start := time.Now()
		detail, err := f()
		st := erp.Step{Name: name, OK: err == nil, Detail: detail, Elapsed: time.Since(start)}
		if err != nil {
			st.Detail = err.Error()
		}
		steps = append(steps, st)
		return err == nil
	}
	ok := run("parse settings", func() (string, error) {
		if c.cfgErr != nil {
			return "", c.cfgErr
		}
		names := []string{}
		for _, e := range c.Entities() {
			names = append(names, e.Name)
		}
		return fmt.Sprintf("REST API %s at %s, auth %s, entities %s", c.s.APIVersion, c.root, c.authType, strings.Join(names, ", ")), nil
	})
	if !ok {
		return steps
	}
	switch c.authType {
	case "oauth2":
		ok = run("fetch OAuth token", func() (string, error) {
			tok, err := c.ts.Token()
			if err != nil {
				return "", err
			}
			d := "token issued"
			if !tok.Expiry.IsZero() {
				d += ", expires " + tok.Expiry.UTC().Format(time.RFC3339)
			}
			return d, nil
		})
	default:
		ok = run("authenticate (basic)", func() (string, error) {
			q := url.Values{"onlyData": {"true"}, "limit": {"1"}}
			if _, _, err := c.get(ctx, "suppliers", q); err != nil {
				return "", err
			}
			return "basic credentials accepted", nil
		})
	}
	if !ok {
		return steps
	}
	for _, e := range c.Entities() {
		if !run("read "+strings.ReplaceAll(e.Name, "_", " "), func() (string, error) {
			p, err := c.Fetch(ctx, e.Name, erp.PageRequest{PageSize: 1})
			if err != nil {
				return "", err
			}
			d := fmt.Sprintf("%d record(s) on the first page", len(p.Records))
			if len(p.Rejected) > 0 {
				d += fmt.Sprintf(", %d rejected (first: %s)", len(p.Rejected), p.Rejected[0].Reason)
			}
			return d, nil
		}) {
			break
		}
	}
	return steps
}
