package seed

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/erp"
	"github.com/greenlang/greenlang/internal/pipeline"
	"github.com/greenlang/greenlang/internal/store"
)

// Risk weights of the seed's supplier risk score, and the threshold above
// which a supplier is flagged high-risk.
var (
	weightE       = decimal.RequireFromString("0.4")
	weightS       = decimal.RequireFromString("0.3")
	weightG       = decimal.RequireFromString("0.3")
	highRisk      = decimal.NewFromInt(70)
	unknownScore  = decimal.NewFromInt(50)
	intensityFull = decimal.RequireFromString("1.5") // kg CO2e per USD scoring 100
	hundred       = decimal.NewFromInt(100)
)

// RiskMethod names the scoring method in each supplier's esg document.
const RiskMethod = "greenlang-supplier-risk-v1"

// supplyChain is the seed's Supply Chain Integration: sync supplier master
// data from every ERP connection, de-duplicate across systems, score
// environmental, social and governance risk (0.4/0.3/0.3), flag suppliers
// above 70.
func supplyChain(d Deps) pipeline.Pipeline {
	return pipeline.Pipeline{
		Name:        SupplyChain,
		Description: "Daily: sync supplier master data from every ERP connection, merge duplicates across systems (tax id, DUNS, normalized name), score environmental/social/governance risk with weights 0.4/0.3/0.3 and flag suppliers above 70.",
		Schedule:    "@daily",
		Tasks: []pipeline.Task{
			{ID: "extract_suppliers", Group: "extract", Retries: 2, RetryDelay: 30 * time.Second, Timeout: 2 * time.Hour, Run: func(ctx context.Context, tc *pipeline.TaskContext) (any, error) {
				return syncERP(ctx, d, tc, nil)
			}},
			{ID: "deduplicate", Group: "transform", Deps: []string{"extract_suppliers"}, Run: func(ctx context.Context, tc *pipeline.TaskContext) (any, error) {
				return mergeSuppliers(ctx, d, tc)
			}},
			{ID: "score_risk", Group: "transform", Deps: []string{"deduplicate"}, Run: func(ctx context.Context, tc *pipeline.TaskContext) (any, error) {
				return scoreSuppliers(ctx, d, tc)
			}},
			{ID: "flag_high_risk", Group: "load", Deps: []string{"score_risk"}, Run: func(ctx context.Context, tc *pipeline.TaskContext) (any, error) {
				var scored scoreOutput
				if err := tc.Output("score_risk", &scored); err != nil {
					return nil, err
				}
				for _, h := range scored.HighRisk {
					key := "supplier-risk:" + h.ID.String()
					if _, err := d.Store.AlertRaise(ctx, &store.AlertRaiseParams{
						OrgID: tc.OrgID, ID: uuid.NewSHA1(h.ID, []byte(tc.LogicalDate.Format(time.DateOnly))), EventID: tc.RunID.String() + ":" + key, DedupKey: key,
						Severity: "warning", Kind: "supplier_risk", Rule: RiskMethod, Metric: "risk_score", Value: h.Risk, Threshold: decimal.NewNullDecimal(highRisk),
						Message: fmt.Sprintf("supplier %s has risk score %s (> 70)", h.Name, h.Risk.StringFixed(1)), RaisedAt: d.Now().UTC(),
					}); err != nil {
						return nil, err
					}
				}
				return map[string]int{"flagged": len(scored.HighRisk)}, nil
			}},
		},
	}
}

var (
	nonAlnum     = regexp.MustCompile(`[^a-z0-9]+`)
	legalSuffix  = regexp.MustCompile(`\b(inc|incorporated|ltd|limited|llc|llp|gmbh|ag|sa|sas|sarl|bv|nv|plc|corp|corporation|co|company|kg|oy|ab|as|spa|srl)\b`)
	nonDigit     = regexp.MustCompile(`[^0-9]`)
	nonAlnumTaxR = regexp.MustCompile(`[^A-Z0-9]`)
)

// NormalizeName is a supplier name reduced for matching: lower case,
// punctuation and legal-form suffixes removed.
func NormalizeName(s string) string {
	s = strings.ToLower(s)
	s = nonAlnum.ReplaceAllString(s, " ")
	s = legalSuffix.ReplaceAllString(s, " ")
	return strings.Join(strings.Fields(s), " ")
}

func normTax(s string) string { return nonAlnumTaxR.ReplaceAllString(strings.ToUpper(s), "") }

func normDUNS(s string) string {
	d := nonDigit.ReplaceAllString(s, "")
	if len(d) != 9 {
		return ""
	}
	return d
}

// supplierKeys are the keys a supplier record matches others by.
func supplierKeys(name, tax, duns string) []string {
	var k []string
	if t := normTax(tax); t != "" {
		k = append(k, "tax:"+t)
	}
	if d := normDUNS(duns); d != "" {
		k = append(k, "duns:"+d)
	}
	if n := NormalizeName(name); n != "" {
		k = append(k, "name:"+n)
	}
	return k
}

type sourcedSupplier struct {
	erp.Supplier
	Source string `json:"source"` // connection id / record key
}

// mergeSuppliers de-duplicates suppliers across systems. The ERP sync
// stores one supplier per supplier record of each connection, so a
// company kept in SAP and in Oracle is stored twice. The records and the
// stored suppliers that share a tax id, a DUNS number or a normalized name
// (transitively) form one group; its oldest stored supplier is kept as
// the group's supplier, completed with the records' fields, and the
// others are marked inactive duplicates of it (esg.duplicate_of), so
// purchase orders that point at them keep their link.
func mergeSuppliers(ctx context.Context, d Deps, tc *pipeline.TaskContext) (any, error) {
	var recs []sourcedSupplier
	err := d.Store.ERPRecordsOfKind(ctx, tc.OrgID, "supplier", func(conn uuid.UUID, key string, data store.JSON) error {
		var rec erp.Record
		if err := json.Unmarshal(data, &rec); err != nil {
			return fmt.Errorf("supplier record %s of connection %s: %w", key, conn, err)
		}
		if rec.Supplier == nil || rec.Supplier.Name == "" {
			return nil // a deleted record, or one without master data
		}
		recs = append(recs, sourcedSupplier{Supplier: *rec.Supplier, Source: conn.String() + "/" + key})
		return nil
	})
	if err != nil {
		return nil, err
	}
	var stored []*store.Supplier
	if err := d.Store.Suppliers().Each(ctx, tc.OrgID, func(s *store.Supplier) error {
		c := *s
		stored = append(stored, &c)
		return nil
	}); err != nil {
		return nil, err
	}
	// Union-find over records (0..len(recs)-1) and stored suppliers
	// (after them) by shared key.
	n := len(recs) + len(stored)
	parent := make([]int, n)
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	owner := map[string]int{}
	join := func(i int, keys []string) {
		for _, k := range keys {
			if j, ok := owner[k]; ok {
				parent[find(i)] = find(j)
			} else {
				owner[k] = i
			}
		}
	}
	for i, r := range recs {
		join(i, supplierKeys(r.Name, r.TaxID, r.DUNS))
	}
	for i, s := range stored {
		join(len(recs)+i, supplierKeys(s.Name, s.TaxID, s.DUNS))
	}
	type group struct {
		recs   []sourcedSupplier
		stored []*store.Supplier
	}
	groups := map[int]*group{}
	var roots []int
	member := func(i int) *group {
		r := find(i)
		g := groups[r]
		if g == nil {
			g = &group{}
			groups[r] = g
			roots = append(roots, r)
		}
		return g
	}
	for i, r := range recs {
		g := member(i)
		g.recs = append(g.recs, r)
	}
	for i, s := range stored {
		g := member(len(recs) + i)
		g.stored = append(g.stored, s)
	}
	slices.Sort(roots)
	created, updated, unchanged, duplicates := 0, 0, 0, 0
	for _, root := range roots {
		g := groups[root]
		slices.SortFunc(g.stored, func(a, b *store.Supplier) int { return a.CreatedAt.Compare(b.CreatedAt) })
		var sources []string
		for _, r := range g.recs {
			sources = append(sources, r.Source)
		}
		var m erp.Supplier
		if len(g.recs) > 0 {
			m = merged(g.recs)
		}
		if len(g.stored) == 0 {
			s := &store.Supplier{Name: m.Name, LegalName: m.LegalName, TaxID: m.TaxID, DUNS: m.DUNS, Country: m.Country, NAICS: m.NAICS, Website: m.Website, Active: !m.Blocked}
			s.ESG = esgDoc(nil, map[string]any{"sources": sources, "blocked": m.Blocked})
			if err := d.Store.Suppliers().Create(ctx, tc.OrgID, s); err != nil {
				return nil, err
			}
			created++
			continue
		}
		keep := g.stored[0]
		s := *keep
		// Empty fields are completed from the other stored suppliers of
		// the group, then from its records.
		for _, other := range g.stored[1:] {
			m.LegalName, m.TaxID, m.DUNS = cmp.Or(m.LegalName, other.LegalName), cmp.Or(m.TaxID, other.TaxID), cmp.Or(m.DUNS, other.DUNS)
			m.Country, m.NAICS, m.Website = cmp.Or(m.Country, other.Country), cmp.Or(m.NAICS, other.NAICS), cmp.Or(m.Website, other.Website)
		}
		s.LegalName, s.TaxID, s.DUNS = cmp.Or(s.LegalName, m.LegalName), cmp.Or(s.TaxID, m.TaxID), cmp.Or(s.DUNS, m.DUNS)
		s.Country, s.NAICS, s.Website = cmp.Or(s.Country, m.Country), cmp.Or(s.NAICS, m.NAICS), cmp.Or(s.Website, m.Website)
		set := map[string]any{"duplicate_of": nil}
		if len(g.recs) > 0 {
			set["sources"], set["blocked"] = sources, m.Blocked
		}
		s.ESG = esgDoc(keep.ESG, set)
		if s.LegalName == keep.LegalName && s.TaxID == keep.TaxID && s.DUNS == keep.DUNS && s.Country == keep.Country &&
			s.NAICS == keep.NAICS && s.Website == keep.Website && sameJSON(s.ESG, keep.ESG) {
			unchanged++
		} else {
			if err := d.Store.Suppliers().Update(ctx, tc.OrgID, &s); err != nil {
				return nil, err
			}
			updated++
		}
		for _, dup := range g.stored[1:] {
			duplicates++
			esg := esgDoc(dup.ESG, map[string]any{"duplicate_of": keep.ID.String()})
			if !dup.Active && sameJSON(esg, dup.ESG) {
				continue
			}
			c := *dup
			c.Active, c.ESG = false, esg
			if err := d.Store.Suppliers().Update(ctx, tc.OrgID, &c); err != nil {
				return nil, err
			}
			tc.Log.Info("duplicate supplier", "supplier", dup.Name, "duplicate_of", keep.Name)
		}
	}
	tc.Log.Info("suppliers merged", "erp_records", len(recs), "suppliers", len(roots), "created", created, "updated", updated, "unchanged", unchanged, "duplicates", duplicates)
	return map[string]int{"erp_records": len(recs), "suppliers": len(roots), "duplicates": duplicates, "created": created, "updated": updated, "unchanged": unchanged}, nil
}

// merged is one supplier from a group of records: the first non-empty
// value of each field, records with more fields first.
func merged(g []sourcedSupplier) erp.Supplier {
	slices.SortStableFunc(g, func(a, b sourcedSupplier) int { return filled(b.Supplier) - filled(a.Supplier) })
	var m erp.Supplier
	for _, r := range g {
		m.Name, m.LegalName, m.TaxID, m.DUNS = cmp.Or(m.Name, r.Name), cmp.Or(m.LegalName, r.LegalName), cmp.Or(m.TaxID, r.TaxID), cmp.Or(m.DUNS, r.DUNS)
		m.Country, m.NAICS, m.Website = cmp.Or(m.Country, r.Country), cmp.Or(m.NAICS, r.NAICS), cmp.Or(m.Website, r.Website)
		m.Blocked = m.Blocked || r.Blocked
	}
	return m
}

func filled(s erp.Supplier) int {
	n := 0
	for _, v := range []string{s.Name, s.LegalName, s.TaxID, s.DUNS, s.Country, s.NAICS, s.Website} {
		if v != "" {
			n++
		}
	}
	return n
}

// sameJSON compares two JSON documents by value (PostgreSQL's jsonb
// spells them differently from encoding/json).
func sameJSON(a, b store.JSON) bool {
	var x, y any
	if len(a) == 0 {
		a = store.JSON("{}")
	}
	if len(b) == 0 {
		b = store.JSON("{}")
	}
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// isDuplicate reports a supplier merged into another.
func isDuplicate(s *store.Supplier) bool {
	var doc struct {
		DuplicateOf string `json:"duplicate_of"`
	}
	return len(s.ESG) > 0 && json.Unmarshal(s.ESG, &doc) == nil && doc.DuplicateOf != ""
}

// esgDoc sets keys of a supplier's esg document, keeping the others
// (assessments entered by people).
func esgDoc(old store.JSON, set map[string]any) store.JSON {
	doc := map[string]any{}
	if len(old) > 0 {
		_ = json.Unmarshal(old, &doc)
	}
	for k, v := range set {
		if v == nil {
			delete(doc, k)
		} else {
			doc[k] = v
		}
	}
	b, _ := json.Marshal(doc)
	return b
}

type riskOf struct {
	ID   uuid.UUID       `json:"id"`
	Name string          `json:"name"`
	Risk decimal.Decimal `json:"risk"`
}

type scoreOutput struct {
	Scored   int      `json:"scored"`
	HighRisk []riskOf `json:"high_risk"`
}

// RiskScores are a supplier's scores, 0 (no risk) to 100.
type RiskScores struct {
	Environmental decimal.Decimal `json:"environmental"`
	Social        decimal.Decimal `json:"social"`
	Governance    decimal.Decimal `json:"governance"`
	Risk          decimal.Decimal `json:"risk"`
	Basis         []string        `json:"basis"`
}

// Score computes a supplier's risk: 0.4 × environmental + 0.3 × social +
// 0.3 × governance (docs/pipelines.md, "Supplier risk").
//
//   - Environmental: an assessment's esg.assessment.environmental when
//     given; else the spend intensity of the supplier's NAICS industry in
//     USEEIO (kg CO2e per USD; 1.5 or more scores 100, linearly below);
//     else 50 (unknown).
//   - Social: esg.assessment.social when given, else 50 (unknown: the ERP
//     master data says nothing about labour practices).
//   - Governance: esg.assessment.governance when given; else from the
//     master data: no tax id +25, no DUNS +15, no legal name +10, no
//     country +15, blocked in an ERP +35 (capped at 100).
func Score(s *store.Supplier, intensity func(naics string) (decimal.Decimal, bool)) RiskScores {
	var doc struct {
		Assessment map[string]decimal.Decimal `json:"assessment"`
		Blocked    bool                       `json:"blocked"`
	}
	if len(s.ESG) > 0 {
		_ = json.Unmarshal(s.ESG, &doc)
	}
	var r RiskScores
	clamp := func(v decimal.Decimal) decimal.Decimal {
		return decimal.Max(decimal.Zero, decimal.Min(hundred, v))
	}
	if v, ok := doc.Assessment["environmental"]; ok {
		r.Environmental, r.Basis = clamp(v), append(r.Basis, "environmental: assessment")
	} else if i, ok := intensity(s.NAICS); s.NAICS != "" && ok {
		r.Environmental = clamp(i.Div(intensityFull).Mul(hundred)).Round(1)
		r.Basis = append(r.Basis, fmt.Sprintf("environmental: USEEIO NAICS %s, %s kg CO2e/USD", s.NAICS, i.StringFixed(3)))
	} else {
		r.Environmental, r.Basis = unknownScore, append(r.Basis, "environmental: unknown (no NAICS code with a USEEIO factor)")
	}
	if v, ok := doc.Assessment["social"]; ok {
		r.Social, r.Basis = clamp(v), append(r.Basis, "social: assessment")
	} else {
		r.Social, r.Basis = unknownScore, append(r.Basis, "social: unknown (no assessment)")
	}
	if v, ok := doc.Assessment["governance"]; ok {
		r.Governance, r.Basis = clamp(v), append(r.Basis, "governance: assessment")
	} else {
		g := 0
		for _, c := range []struct {
			missing bool
			pts     int
			why     string
		}{{s.TaxID == "", 25, "no tax id"}, {s.DUNS == "", 15, "no DUNS"}, {s.LegalName == "", 10, "no legal name"}, {s.Country == "", 15, "no country"}, {doc.Blocked, 35, "blocked in an ERP"}} {
			if c.missing {
				g += c.pts
				r.Basis = append(r.Basis, fmt.Sprintf("governance: %s +%d", c.why, c.pts))
			}
		}
		r.Governance = clamp(decimal.NewFromInt(int64(g)))
	}
	r.Risk = weightE.Mul(r.Environmental).Add(weightS.Mul(r.Social)).Add(weightG.Mul(r.Governance)).Round(1)
	return r
}

func scoreSuppliers(ctx context.Context, d Deps, tc *pipeline.TaskContext) (any, error) {
	intensity := func(naics string) (decimal.Decimal, bool) {
		for _, f := range d.Calc.Factors("naics:" + naics) {
			if f.ActivityType == "naics:"+naics {
				v, ok := f.KgPerUnit["CO2e"]
				return v, ok
			}
		}
		return decimal.Zero, false
	}
	var out scoreOutput
	var changed []*store.Supplier
	err := d.Store.Suppliers().Each(ctx, tc.OrgID, func(s *store.Supplier) error {
		if isDuplicate(s) {
			return nil
		}
		r := Score(s, intensity)
		out.Scored++
		if r.Risk.GreaterThan(highRisk) {
			out.HighRisk = append(out.HighRisk, riskOf{ID: s.ID, Name: s.Name, Risk: r.Risk})
		}
		esg := esgDoc(s.ESG, map[string]any{"scores": r, "method": RiskMethod, "high_risk": r.Risk.GreaterThan(highRisk)})
		if s.RiskScore.Valid && s.RiskScore.Decimal.Equal(r.Risk) && sameJSON(esg, s.ESG) {
			return nil
		}
		c := *s
		c.RiskScore, c.ESG = decimal.NewNullDecimal(r.Risk), esg
		changed = append(changed, &c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, s := range changed {
		if err := d.Store.Suppliers().Update(ctx, tc.OrgID, s); err != nil {
			return nil, err
		}
	}
	tc.Log.Info("suppliers scored", "scored", out.Scored, "changed", len(changed), "high_risk", len(out.HighRisk))
	return out, nil
}
