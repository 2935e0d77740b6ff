package web

import (
	"maps"
	"net/http"
	"slices"
	"strconv"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/ghg"
	"github.com/greenlang/greenlang/internal/calculation"
	"github.com/greenlang/greenlang/internal/store"
)

// The factor library, result explanations and suppliers (docs/dashboard.md).

// maxFactorRows is the most factors one library page lists.
const maxFactorRows = 200

// factors answers GET /factors?q=: the organization's factor library (the
// built-in publications, the official sets in the store and its own
// overrides) whose id, activity type or publication contains q.
func (s *Site) factors(w http.ResponseWriter, r *http.Request, sess *session) error {
	svc, _, err := s.services.ForOrganization(r.Context(), s.st, sess.org.ID)
	if err != nil {
		return err
	}
	q := r.URL.Query().Get("q")
	fs := svc.Factors(q)
	total := len(fs)
	if len(fs) > maxFactorRows {
		fs = fs[:maxFactorRows]
	}
	s.render(w, http.StatusOK, "factors.html", map[string]any{
		"Layout": s.frame(sess, "Factor library", "factors"), "Q": q, "Factors": fs, "Total": total, "Max": maxFactorRows,
	})
	return nil
}

// factor answers GET /factors/{id}: one factor's values per gas, unit,
// heat basis, uncertainty, validity and source.
func (s *Site) factor(w http.ResponseWriter, r *http.Request, sess *session) error {
	svc, _, err := s.services.ForOrganization(r.Context(), s.st, sess.org.ID)
	if err != nil {
		return err
	}
	f, ok := svc.Factor(r.PathValue("id"))
	if !ok {
		s.errorPage(w, r, sess, http.StatusNotFound, "There is no factor "+r.PathValue("id")+" in the library.")
		return nil
	}
	s.render(w, http.StatusOK, "factor.html", map[string]any{"Layout": s.frame(sess, f.ID, "factors"), "F": f,
		"Gases": slices.Sorted(maps.Keys(f.KgPerUnit))})
	return nil
}

// explained is one result with the explanation that makes it.
type explained struct {
	E         *store.CalculatedEmission
	X         ghg.Explanation
	Gases     []string
	Selection []string
}

// explain answers GET /activity/{id}/explain: how the activity record's
// current results were calculated, step by step.
func (s *Site) explain(w http.ResponseWriter, r *http.Request, sess *session) error {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		s.errorPage(w, r, sess, http.StatusBadRequest, "That is not an activity record's id.")
		return nil
	}
	ctx := r.Context()
	act, err := s.st.ActivityRecords().Get(ctx, sess.org.ID, id)
	if err != nil {
		return err
	}
	ems, err := s.st.CalculatedEmissions().List(ctx, sess.org.ID, store.ListOptions{Where: map[string]any{"activity_id": id, "superseded_by": nil}})
	if err != nil {
		return err
	}
	runs := map[uuid.UUID]*store.CalculationRun{}
	var out []explained
	for _, e := range ems {
		run, ok := runs[e.RunID]
		if !ok {
			if run, err = s.st.CalculationRuns().Get(ctx, sess.org.ID, e.RunID); err != nil {
				return err
			}
			runs[e.RunID] = run
		}
		x, sel, err := calculation.StoredExplanation(run, *e)
		if err != nil {
			return err
		}
		out = append(out, explained{E: e, X: x, Gases: slices.Sorted(maps.Keys(x.FactorValues)), Selection: sel})
	}
	s.render(w, http.StatusOK, "explain.html", map[string]any{"Layout": s.frame(sess, "Explanation", "activity"), "A": act, "Results": out})
	return nil
}

// suppliers answers GET /suppliers: the organization's suppliers, a
// thousand at most, by name.
func (s *Site) suppliers(w http.ResponseWriter, r *http.Request, sess *session) error {
	sps, err := s.st.Suppliers().List(r.Context(), sess.org.ID, store.ListOptions{Limit: 1000, Sort: "name"})
	if err != nil {
		return err
	}
	format, ok := s.exportFormat(w, r, sess)
	if !ok {
		return nil
	}
	if format != "" {
		t := exportTable{Name: "suppliers", Header: []string{"id", "name", "legal_name", "country", "naics", "tax_id", "duns", "risk_score", "active"},
			Numeric: []bool{7: true}}
		return s.export(w, format, t, func(emit func([]string) error) error {
			for _, sp := range sps {
				risk := ""
				if sp.RiskScore.Valid {
					risk = sp.RiskScore.Decimal.String()
				}
				if err := emit([]string{sp.ID.String(), sp.Name, sp.LegalName, sp.Country, sp.NAICS, sp.TaxID, sp.DUNS, risk, strconv.FormatBool(sp.Active)}); err != nil {
					return err
				}
			}
			return nil
		})
	}
	s.render(w, http.StatusOK, "suppliers.html", map[string]any{"Layout": s.frame(sess, "Suppliers", "suppliers"), "Suppliers": sps,
		"Export": exportsOf(r)})
	return nil
}
