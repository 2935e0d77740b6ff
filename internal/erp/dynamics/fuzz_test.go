package dynamics

import "testing"

// FuzzParsePage feeds arbitrary bodies to the page parser of every entity:
// it must not panic, and whatever it accepts must validate.
func FuzzParsePage(f *testing.F) {
	f.Add([]byte(`{"value":[{"id":"a","number":"V1","displayName":"Acme","lastModifiedDateTime":"2025-01-02T03:04:05.678Z"}],"@odata.nextLink":"x"}`))
	f.Add([]byte(`{"value":[{"@removed":{"reason":"deleted"},"id":"a"},{"@odata.context":"x/$deletedEntity","id":"b","reason":"deleted"}]}`))
	f.Add([]byte(`{"value":[{"id":"p","number":"PO1","orderDate":"2025-03-01","currencyCode":"","purchaseOrderLines":[{"id":"l","sequence":10000,"lineType":"Item","quantity":1.5,"netAmount":3,"directUnitCost":2}]}]}`))
	f.Add([]byte(`{"value":[{"id":"p","number":"PO1","orderDate":"2025-03-01","purchaseOrderLines@delta":[{"@removed":{"reason":"deleted"},"id":"l","sequence":20000},{"sequence":"x"}]}]}`))
	f.Add([]byte(`{"value":[{"entryNumber":5,"documentNumber":"G1","postingDate":"2025-05-05","accountNumber":"8110","debitAmount":1e400,"creditAmount":0}]}`))
	f.Add([]byte(`{"value":[{"quantity":"12,5"}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, e := range entities {
			p, err := parsePage(e, body, "EUR")
			if err != nil {
				continue
			}
			for _, r := range p.records {
				if err := r.Validate(); err != nil {
					t.Fatalf("%s: accepted an invalid record %+v: %v", e.Name, r, err)
				}
				if r.Kind != e.Kind {
					t.Fatalf("%s: record of kind %s", e.Name, r.Kind)
				}
			}
			for _, r := range p.rejected {
				if r.Reason == "" {
					t.Fatalf("%s: rejected without a reason", e.Name)
				}
			}
		}
	})
}
