package telemetry_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/greenlang/greenlang/internal/iot/telemetry"
)

// BenchmarkParse parses a 100-reading payload in each format and reports
// readings/s.
func BenchmarkParse(b *testing.B) {
	c := mustCatalogue(b)
	var native, senml strings.Builder
	native.WriteString(`{"time":"2026-12-01T10:00:00Z","metrics":{`)
	senml.WriteString(`[{"bn":"urn:dev:serial:EM-1:","bt":1796119200,"bu":"kWh"}`)
	for i := range 100 {
		if i > 0 {
			native.WriteByte(',')
		}
		fmt.Fprintf(&native, `"energy_kwh_total":%d.%03d`, 184523+i, i)
		fmt.Fprintf(&senml, `,{"n":"energy_kwh_total","s":%d.%03d,"t":%d}`, 184523+i, i, i)
	}
	native.WriteString(`}}`)
	senml.WriteString(`]`)
	for _, bc := range []struct{ name, payload string }{{"native", native.String()}, {"senml", senml.String()}} {
		b.Run(bc.name, func(b *testing.B) {
			payload := []byte(bc.payload)
			b.SetBytes(int64(len(payload)))
			n := 0
			for b.Loop() {
				batch, err := c.Parse("energy_meter", payload, now, telemetry.Limits{})
				if err != nil {
					b.Fatal(err)
				}
				n += len(batch.Readings) + len(batch.Rejected)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "readings/s")
		})
	}
}
