package workday

import (
	"encoding/json"
	"testing"

	"github.com/greenlang/greenlang/internal/erp"
)

func FuzzParsePurchaseOrder(f *testing.F) {
	sim := NewSimulator(erpOpts(20))
	for _, po := range sim.d.pos[:3] {
		b, _ := json.Marshal(po)
		f.Add(b)
	}
	f.Add([]byte(`{"number":"PO-1","orderDate":"2025-01-02","lines":[{"lineNumber":"1","quantity":"x","extendedAmount":{"value":1,"currency":"EUR"}}]}`))
	f.Add([]byte(`{"number":"PO-1","lines":[{"lineNumber":1,"quantity":2,"extendedAmount":{"value":"1e3","currency":"eur"}}]}`))
	f.Add([]byte(`{"number":7}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, parse := range []func([]byte) ([]erpRecord, []erpRejected){parsePurchaseOrder, parseExpenseReport, parseSupplier, parseWorker} {
			recs, _ := parse(raw)
			for _, r := range recs {
				if err := r.Validate(); err != nil {
					t.Fatalf("accepted an invalid record %+v: %v", r, err)
				}
			}
		}
	})
}

func FuzzParseGetWorkers(f *testing.F) {
	sim := NewSimulator(erpOpts(200))
	f.Add(sim.renderWorkers(1, 3, "2026-01-01T00:00:00.000+00:00"))
	f.Add([]byte(`<Envelope><Body><Fault><faultcode>x</faultcode></Fault></Body></Envelope>`))
	f.Add([]byte(`<Envelope><Body><Get_Workers_Response><Response_Data><Worker><Worker_Data><Worker_ID> </Worker_ID></Worker_Data></Worker></Response_Data></Get_Workers_Response></Body></Envelope>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		env, err := parseGetWorkers(body)
		if err != nil || env.Body.Response == nil {
			return
		}
		for _, w := range env.Body.Response.Workers {
			r, rj := parseSOAPWorker(w)
			if rj == nil {
				if err := r.Validate(); err != nil {
					t.Fatalf("accepted an invalid worker: %v", err)
				}
			}
		}
	})
}

type (
	erpRecord   = erp.Record
	erpRejected = erp.Rejected
)

func erpOpts(n int) erp.SimOptions { return erp.SimOptions{Records: n, Seed: 7} }
