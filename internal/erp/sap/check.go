package sap

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/greenlang/greenlang/internal/erp"
)

// Check tests the connection: the settings, the OAuth token (or basic
// logon), then one record of each entity, stopping at the first failure.
func (c *Connector) Check(ctx context.Context) []erp.Step {
	var steps []erp.Step
	step := func(name string, f func() (string, error)) bool {
		start := time.Now()
		detail, err := f()
		s := erp.Step{Name: name, OK: err == nil, Detail: detail, Elapsed: time.Since(start)}
		if err != nil {
			s.Detail = err.Error()
		}
		steps = append(steps, s)
		return err == nil
	}

	if !step("parse settings", func() (string, error) {
		client := c.set.SAPClient
		if client == "" {
			client = "(none: the system's default client)"
		}
		names := make([]string, len(c.ents))
		for i, e := range c.ents {
			names[i] = e.name
		}
		return fmt.Sprintf("base URL %s, auth %s, sap-client %s, entities %s",
			c.base, c.cfg.AuthType, client, strings.Join(names, ", ")), nil
	}) {
		return steps
	}

	if c.tokens != nil {
		if !step("fetch OAuth token", func() (string, error) {
			tok, err := c.tokens.Token()
			if err != nil {
				return "", tokenErr(err)
			}
			d := "token received"
			if !tok.Expiry.IsZero() {
				d += fmt.Sprintf(", valid until %s", tok.Expiry.UTC().Format(time.RFC3339))
			}
			return d, nil
		}) {
			return steps
		}
	} else if len(c.ents) > 0 {
		if !step("log on (basic)", func() (string, error) {
			root := c.ents[0].path[:strings.LastIndex(c.ents[0].path, "/")+1]
			u := c.base.String() + root + "?$format=json"
			if c.set.SAPClient != "" {
				u += "&sap-client=" + c.set.SAPClient
			}
			if _, _, err := c.get(ctx, u); err != nil {
				return "", err
			}
			return "service document " + root + " read", nil
		}) {
			return steps
		}
	}

	for _, e := range c.ents {
		if !step("read "+e.name, func() (string, error) {
			u := c.pageURL(e, cursor{Top: 1}, true)
			body, _, err := c.get(ctx, u)
			if err != nil {
				return "", err
			}
			coll, out, err := parsePage(e, body)
			if err != nil {
				return "", fmt.Errorf("GET %s: the response is not a valid OData JSON collection: %w", e.path, err)
			}
			d := fmt.Sprintf("GET %s: %d record(s) read", e.path, len(out.records))
			if len(out.rejected) > 0 {
				d += fmt.Sprintf(", %d rejected (%s)", len(out.rejected), out.rejected[0].Reason)
			}
			if coll.Count != "" {
				d += ", " + coll.Count + " in total"
			}
			return d, nil
		}) {
			return steps
		}
	}
	return steps
}

// tokenErr says why the token endpoint refused: its status and message.
func tokenErr(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		msg := vendorMessage(re.Body)
		if re.ErrorCode != "" {
			msg = re.ErrorCode
			if re.ErrorDescription != "" {
				msg += ": " + re.ErrorDescription
			}
		}
		where := "the token endpoint"
		if re.Response.Request != nil && re.Response.Request.URL != nil {
			where = "token endpoint " + re.Response.Request.URL.Path
		}
		return fmt.Errorf("%s answered HTTP %s: %s", where, re.Response.Status, msg)
	}
	return err
}
