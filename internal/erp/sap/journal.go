package sap

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/greenlang/greenlang/internal/erp"
)

// journalPayload is what PostJournal sends to the journal service (a
// customer's Z service: see README.md), OData v2 deep insert of a header
// with its items.
type journalPayload struct {
	CompanyCode            string               `json:"CompanyCode"`
	DocumentDate           string               `json:"DocumentDate"`
	PostingDate            string               `json:"PostingDate"`
	AccountingDocumentType string               `json:"AccountingDocumentType"`
	DocumentReferenceID    string               `json:"DocumentReferenceID"`
	DocumentHeaderText     string               `json:"DocumentHeaderText"`
	Items                  []journalPayloadItem `json:"to_Item"`
}

type journalPayloadItem struct {
	GLAccount                   string `json:"GLAccount"`
	CostCenter                  string `json:"CostCenter,omitempty"`
	AmountInTransactionCurrency string `json:"AmountInTransactionCurrency"`
	TransactionCurrency         string `json:"TransactionCurrency"`
	Quantity                    string `json:"Quantity"`
	BaseUnit                    string `json:"BaseUnit"`
	DocumentItemText            string `json:"DocumentItemText,omitempty"`
}

// journalCreated is the d object of the service's 201 Created.
type journalCreated struct {
	CompanyCode        string `json:"CompanyCode"`
	FiscalYear         string `json:"FiscalYear"`
	AccountingDocument string `json:"AccountingDocument"`
}

// Journal document type and quantity unit of the entries posted.
const (
	journalDocumentType = "SA" // G/L account document
	journalQuantityUnit = "KG" // kg CO2e
)

// PostJournal posts a carbon-accounting journal entry to the journal
// service with SAP's CSRF handshake (a token fetched with "X-CSRF-Token:
// Fetch" from the service root and bound to the session cookies; on "403
// X-CSRF-Token: Required" one new token and one retry) and returns the
// created document as "<CompanyCode>-<FiscalYear>-<AccountingDocument>",
// the DocumentID gl_entries records carry.
func (c *Connector) PostJournal(ctx context.Context, e erp.JournalEntry) (string, error) {
	if err := e.Validate(); err != nil {
		return "", fmt.Errorf("sap: connection %s: journal entry %s: %w", c.cfg.Name, e.Reference, err)
	}
	p := journalPayload{
		CompanyCode:            e.CompanyCode,
		DocumentDate:           formatEdmDateTime(e.PostingDate),
		PostingDate:            formatEdmDateTime(e.PostingDate),
		AccountingDocumentType: journalDocumentType,
		DocumentReferenceID:    truncate(e.Reference, 16),
		DocumentHeaderText:     truncate("GreenLang "+e.Reference, 25),
	}
	for _, l := range e.Lines {
		p.Items = append(p.Items, journalPayloadItem{
			GLAccount:                   l.Account,
			CostCenter:                  l.CostCenter,
			AmountInTransactionCurrency: l.Amount.StringFixed(2),
			TransactionCurrency:         l.Currency,
			Quantity:                    l.Quantity.StringFixed(3),
			BaseUnit:                    journalQuantityUnit,
			DocumentItemText:            truncate(l.Text, 50),
		})
	}
	body, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("sap: connection %s: journal entry: %w", c.cfg.Name, err)
	}

	tok, err := c.csrfToken(ctx, "")
	if err != nil {
		return "", err
	}
	resp, err := c.postJournal(ctx, tok, body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode == http.StatusForbidden && strings.EqualFold(resp.Header.Get("X-CSRF-Token"), "Required") {
		drainClose(resp)
		c.cfg.Logger().InfoContext(ctx, "sap: CSRF token rejected; fetching a new one and posting again", "connection", c.cfg.Name)
		if tok, err = c.csrfToken(ctx, tok); err != nil {
			return "", err
		}
		if resp, err = c.postJournal(ctx, tok, body); err != nil {
			return "", err
		}
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("sap: connection %s: POST %s: reading the response: %w", c.cfg.Name, c.set.JournalService, err)
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("sap: connection %s: journal entry %s: %w", c.cfg.Name, e.Reference, &requestError{
			Method: http.MethodPost, Path: c.set.JournalService, Status: resp.Status, Code: resp.StatusCode, Message: vendorMessage(rb)})
	}
	var created struct {
		D journalCreated `json:"d"`
	}
	if err := json.Unmarshal(rb, &created); err != nil || created.D.AccountingDocument == "" {
		return "", fmt.Errorf("sap: connection %s: POST %s: HTTP %s but no AccountingDocument in the response", c.cfg.Name, c.set.JournalService, resp.Status)
	}
	fy := created.D.FiscalYear
	if fy == "" {
		fy = e.PostingDate.UTC().Format("2006")
	}
	cc := created.D.CompanyCode
	if cc == "" {
		cc = e.CompanyCode
	}
	return journalDocumentID(cc, fy, created.D.AccountingDocument), nil
}

func (c *Connector) postJournal(ctx context.Context, token string, body []byte) (*http.Response, error) {
	u := c.base.String() + c.set.JournalService
	if c.set.SAPClient != "" {
		u += "?sap-client=" + c.set.SAPClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("sap: connection %s: POST %s: %w", c.cfg.Name, c.set.JournalService, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-CSRF-Token", token)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("sap: connection %s: %w", c.cfg.Name, cleanErr(err))
	}
	return resp, nil
}

// csrfToken returns the cached CSRF token, or fetches one when there is
// none or when the cached one is stale (the token the server refused).
func (c *Connector) csrfToken(ctx context.Context, stale string) (string, error) {
	c.csrfMu.Lock()
	defer c.csrfMu.Unlock()
	if c.csrfTok != "" && c.csrfTok != stale {
		return c.csrfTok, nil
	}
	root := c.set.JournalService[:strings.LastIndex(strings.TrimSuffix(c.set.JournalService, "/"), "/")+1]
	u := c.base.String() + root
	if c.set.SAPClient != "" {
		u += "?sap-client=" + c.set.SAPClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("sap: connection %s: GET %s: %w", c.cfg.Name, root, err)
	}
	req.Header.Set("X-CSRF-Token", "Fetch")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("sap: connection %s: fetching a CSRF token: %w", c.cfg.Name, cleanErr(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return "", fmt.Errorf("sap: connection %s: fetching a CSRF token: %w", c.cfg.Name, &requestError{
			Method: http.MethodGet, Path: root, Status: resp.Status, Code: resp.StatusCode, Message: vendorMessage(b)})
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	tok := resp.Header.Get("X-CSRF-Token")
	if tok == "" || strings.EqualFold(tok, "Required") {
		return "", fmt.Errorf("sap: connection %s: GET %s with X-CSRF-Token: Fetch returned no token", c.cfg.Name, root)
	}
	c.csrfTok = tok
	return tok, nil
}

func drainClose(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// truncate cuts s to n runes (SAP's character fields have fixed lengths).
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}
