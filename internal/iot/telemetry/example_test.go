package telemetry_test

import (
	"fmt"
	"time"

	"github.com/greenlang/greenlang/internal/iot/telemetry"
)

func ExampleCatalogue_Parse() {
	cat, err := telemetry.LoadCatalogue()
	if err != nil {
		panic(err)
	}
	payload := []byte(`[
		{"bn":"urn:dev:mac:0024befffe804ff1:","bt":1796119200,"n":"pm25","u":"ug/m3","v":12.5},
		{"n":"pm10","u":"ug/m3","v":1e9},
		{"n":"temperature_c","u":"K","v":294.65,"t":1}]`)
	received := time.Date(2026, 12, 1, 10, 0, 30, 0, time.UTC)
	batch, err := cat.Parse("air_quality", payload, received, telemetry.Limits{})
	if err != nil {
		fmt.Println("payload refused:", err)
		return
	}
	for _, r := range batch.Readings {
		fmt.Println(r.Time.Format(time.RFC3339), r.Metric, r.Value, r.Unit)
	}
	for _, r := range batch.Rejected {
		fmt.Println("rejected:", r)
	}
	// Output:
	// 2026-12-01T10:00:00Z pm25 12.5 µg/m³
	// 2026-12-01T10:00:01Z temperature_c 21.5 °C
	// rejected: reading 1 (pm10): v: value 1e9 is outside 0..2000 µg/m³
}
