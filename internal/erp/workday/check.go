package workday

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/greenlang/greenlang/internal/erp"
	"github.com/greenlang/greenlang/internal/erp/erphttp"
)

// Check tests the connection: the settings, the OAuth token (REST), then one
// record of each entity, stopping at the first failure. Step details carry
// HTTP statuses and Workday's error messages, never credentials.
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
		return fmt.Sprintf("tenant %s, %s API at %s", c.settings.Tenant, strings.ToUpper(c.settings.API), c.base.Redacted()), nil
	})
	if ok && c.tokens != nil {
		ok = run("fetch OAuth token (refresh_token grant)", func() (string, error) {
			tok, err := c.tokens.Token()
			if err != nil {
				var te *erphttp.TokenError
				if errors.As(err, &te) {
					return "", fmt.Errorf("token endpoint %s refused: %s", te.TokenURL, tokenDetail(te.Err))
				}
				return "", err
			}
			d := "access token obtained"
			if !tok.Expiry.IsZero() {
				d += fmt.Sprintf(", expires in %s", time.Until(tok.Expiry).Round(time.Second))
			}
			return d, nil
		})
	}
	for _, e := range c.entities {
		if !ok {
			break
		}
		name := "read " + strings.ReplaceAll(e.Name, "_", " ")
		if c.soap != nil {
			name = "authenticate and read workers (SOAP Get_Workers)"
		}
		ok = run(name, func() (string, error) {
			p, err := c.Fetch(ctx, e.Name, erp.PageRequest{PageSize: 1})
			if err != nil {
				return "", err
			}
			d := fmt.Sprintf("%d record(s) on the first page", len(p.Records))
			if len(p.Records) > 0 {
				d += ", first key " + p.Records[0].Key
			}
			if len(p.Rejected) > 0 {
				d += fmt.Sprintf(", %d rejected: %s", len(p.Rejected), p.Rejected[0].Reason)
			}
			return d, nil
		})
	}
	return steps
}
