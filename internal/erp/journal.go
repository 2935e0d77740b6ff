package erp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/store"
)

// JournalFile is the YAML or JSON form of a journal entry (`greenlang erp
// journal post`, POST /api/v1/erp/connections/{name}/journal-entries).
// Amounts and quantities are decimal strings (or numbers in YAML); debits
// are positive, credits negative.
type JournalFile struct {
	CompanyCode string            `json:"company_code" yaml:"company_code"`
	PostingDate string            `json:"posting_date" yaml:"posting_date"` // YYYY-MM-DD
	Reference   string            `json:"reference" yaml:"reference"`       // what it books, e.g. "CO2E-2026-11"; one posting per connection
	Lines       []JournalFileLine `json:"lines" yaml:"lines"`
}

// JournalFileLine is one line of a JournalFile.
type JournalFileLine struct {
	Account       string `json:"account" yaml:"account"`
	CostCenter    string `json:"cost_center,omitempty" yaml:"cost_center"`
	Amount        string `json:"amount" yaml:"amount"`
	Currency      string `json:"currency" yaml:"currency"`
	QuantityKgCO2 string `json:"quantity_kg_co2e,omitempty" yaml:"quantity_kg_co2e"`
	Text          string `json:"text,omitempty" yaml:"text"`
}

// SampleJournal is a journal entry file to start from: an internal carbon
// price of 80 EUR/t on 12.5 t CO2e charged to a cost centre.
const SampleJournal = `# A carbon-accounting journal entry (greenlang erp journal post).
company_code: "1010"
posting_date: "2026-11-30"
reference: CO2E-2026-11          # one posting per reference and connection
lines:
  - account: "61000000"          # internal carbon cost (debit)
    cost_center: "10101101"
    amount: "1000.00"
    currency: EUR
    quantity_kg_co2e: "12500"
    text: Scope 1 and 2, November 2026
  - account: "29000000"          # carbon fee clearing (credit)
    amount: "-1000.00"
    currency: EUR
    quantity_kg_co2e: "-12500"
`

// ParseJournal decodes a journal entry file (JSON when it starts with "{",
// YAML otherwise; unknown keys are refused) and checks it, naming the
// field at fault (a *FieldError: `lines[2].amount "ten": is not a decimal
// number`).
func ParseJournal(b []byte) (JournalEntry, error) {
	var f JournalFile
	if err := decodeStrict(b, &f); err != nil {
		return JournalEntry{}, fmt.Errorf("journal entry: %w", err)
	}
	return f.Entry()
}

// Entry reads f's fields and checks the entry (JournalEntry.Validate).
func (f JournalFile) Entry() (JournalEntry, error) {
	bad := func(field, value, reason string) (JournalEntry, error) {
		return JournalEntry{}, fmt.Errorf("journal entry: %w", &FieldError{Field: field, Value: value, Reason: reason})
	}
	e := JournalEntry{CompanyCode: strings.TrimSpace(f.CompanyCode), Reference: strings.TrimSpace(f.Reference)}
	d, err := time.Parse(time.DateOnly, strings.TrimSpace(f.PostingDate))
	if err != nil {
		return bad("posting_date", f.PostingDate, "is not a date (YYYY-MM-DD)")
	}
	e.PostingDate = d
	for i, l := range f.Lines {
		where := fmt.Sprintf("lines[%d]", i)
		jl := JournalLine{Account: strings.TrimSpace(l.Account), CostCenter: strings.TrimSpace(l.CostCenter),
			Currency: strings.ToUpper(strings.TrimSpace(l.Currency)), Text: l.Text}
		if jl.Amount, err = decimal.NewFromString(strings.TrimSpace(l.Amount)); err != nil {
			return bad(where+".amount", l.Amount, "is not a decimal number")
		}
		if q := strings.TrimSpace(l.QuantityKgCO2); q != "" {
			if jl.Quantity, err = decimal.NewFromString(q); err != nil {
				return bad(where+".quantity_kg_co2e", l.QuantityKgCO2, "is not a decimal number")
			}
		}
		e.Lines = append(e.Lines, jl)
	}
	if err := e.Validate(); err != nil {
		return JournalEntry{}, fmt.Errorf("journal entry: %w", err)
	}
	return e, nil
}

// ErrJournalPosted is returned (wrapped) by Syncer.PostJournal when the
// entry's reference was posted to the connection before, or a posting of
// it was started and never finished.
var ErrJournalPosted = errors.New("journal entry already posted")

// JournalResult is what Syncer.PostJournal did.
type JournalResult struct {
	Connection string    `json:"connection"`
	Reference  string    `json:"reference"`
	DocumentID string    `json:"document_id"`
	PostedAt   time.Time `json:"posted_at"`
}

// PostJournal posts e to the connection's system (connectors that
// implement JournalPoster: SAP). Each reference is posted once per
// connection: the attempt, its document id or its error are recorded in
// the organization's audit trail, and a reference already posted, or whose
// posting was started and never recorded as finished (a crash between
// the ERP's answer and the record), is refused with ErrJournalPosted
// unless repost is set — after checking the ERP for the document.
func (s *Syncer) PostJournal(ctx context.Context, org uuid.UUID, name string, e JournalEntry, repost bool) (JournalResult, error) {
	c, conn, err := s.storedConnector(ctx, org, name)
	if err != nil {
		return JournalResult{}, err
	}
	const op = "erp: posting a journal entry"
	jp, ok := conn.(JournalPoster)
	if !ok {
		return JournalResult{}, &store.Error{Code: store.CodeFailedPrecondition, Op: op,
			Msg: fmt.Sprintf("connection %s is a %s connection, which cannot post journal entries (sap can)", name, c.System)}
	}
	prev, err := s.st.ERPJournalLatest(ctx, org, c.ID, e.Reference)
	if err != nil {
		return JournalResult{}, err
	}
	if prev != nil && !repost {
		switch prev.Status {
		case store.JournalPosted:
			return JournalResult{}, &store.Error{Code: store.CodeAlreadyExists, Op: op, Err: ErrJournalPosted,
				Msg: fmt.Sprintf("reference %s went to connection %s as document %s on %s (repost to post it again)",
					e.Reference, name, prev.DocumentID, prev.At.Format(time.RFC3339))}
		case store.JournalStarted:
			return JournalResult{}, &store.Error{Code: store.CodeAlreadyExists, Op: op, Err: ErrJournalPosted,
				Msg: fmt.Sprintf("a posting of reference %s to connection %s started on %s and its outcome was never recorded; "+
					"look for document reference %s in the ERP, then repost if it is not there", e.Reference, name,
					prev.At.Format(time.RFC3339), e.Reference)}
		}
	}
	rec := store.ERPJournal{Connection: c.ID, ConnectionName: name, Reference: e.Reference, CompanyCode: e.CompanyCode,
		PostingDate: e.PostingDate.Format(time.DateOnly), Lines: len(e.Lines), Totals: journalTotals(e)}
	if err := s.st.RecordERPJournal(ctx, org, rec, store.JournalStarted); err != nil {
		return JournalResult{}, err
	}
	doc, perr := jp.PostJournal(ctx, e)
	// Record the outcome even when the caller's context is gone.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if perr != nil {
		rec.Error = perr.Error()
		if err := s.st.RecordERPJournal(rctx, org, rec, store.JournalFailed); err != nil {
			return JournalResult{}, errors.Join(perr, err)
		}
		return JournalResult{}, perr
	}
	rec.DocumentID = doc
	if err := s.st.RecordERPJournal(rctx, org, rec, store.JournalPosted); err != nil {
		return JournalResult{}, fmt.Errorf("journal entry %s was posted as document %s but recording it failed: %w", e.Reference, doc, err)
	}
	s.log.InfoContext(ctx, "erp: journal entry posted", "connection", name, "reference", e.Reference, "document", doc)
	return JournalResult{Connection: name, Reference: e.Reference, DocumentID: doc, PostedAt: time.Now().UTC()}, nil
}

// journalTotals sums the debits per currency and the kg CO2e of the debit
// lines, for the audit record.
func journalTotals(e JournalEntry) map[string]string {
	t := map[string]decimal.Decimal{}
	for _, l := range e.Lines {
		if l.Amount.IsPositive() {
			t[l.Currency] = t[l.Currency].Add(l.Amount)
		}
		if l.Quantity.IsPositive() {
			t["kg_co2e"] = t["kg_co2e"].Add(l.Quantity)
		}
	}
	out := make(map[string]string, len(t))
	for k, v := range t {
		out[k] = v.String()
	}
	return out
}
