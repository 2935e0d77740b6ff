package telemetry_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/iot/telemetry"
)

var update = flag.Bool("update", false, "rewrite the metric table in docs/iot-payloads.md from the catalogue")

const docPath = "../../../docs/iot-payloads.md"

const (
	beginMetrics = "<!-- BEGIN METRICS -->\n"
	endMetrics   = "<!-- END METRICS -->\n"
)

// metricTable renders the catalogue as the doc's Markdown table.
func metricTable(c *telemetry.Catalogue) string {
	var b strings.Builder
	b.WriteString("| Device type | Metric | Unit | Kind | Range | Also accepted (SenML `u`) | Description |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, name := range c.Types() {
		typ, _ := c.Type(name)
		for _, m := range typ.Metrics() {
			var also []string
			for _, u := range m.AcceptedUnits()[1:] {
				also = append(also, "`"+u+"`"+conversionNote(m, u))
			}
			if len(also) == 0 {
				also = []string{"—"}
			}
			fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s | %s … %s | %s | %s |\n",
				typ.Name, m.Name, m.Unit, m.Kind, m.Min, m.Max, strings.Join(also, ", "), m.Description)
		}
	}
	return b.String()
}

// conversionNote says how a value in unit u becomes one in m.Unit: "" for
// another spelling of the unit, " (×0.001)", " (−273.15)".
func conversionNote(m telemetry.Metric, u string) string {
	zero, err0 := m.Convert(decimal.Zero, u)
	one, err1 := m.Convert(decimal.NewFromInt(1), u)
	if err0 != nil || err1 != nil {
		return " (not convertible!)"
	}
	factor := one.Sub(zero)
	var notes []string
	if !factor.Equal(decimal.NewFromInt(1)) {
		notes = append(notes, "×"+factor.String())
	}
	if !zero.IsZero() {
		notes = append(notes, strings.Replace(zero.StringFixed(zero.Exponent()*-1), "-", "−", 1))
	}
	if len(notes) == 0 {
		return ""
	}
	return " (" + strings.Join(notes, " ") + ")"
}

// TestDocMetricTable keeps the doc's metric table equal to the catalogue;
// run with -update to rewrite it.
func TestDocMetricTable(t *testing.T) {
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	start := bytes.Index(doc, []byte(beginMetrics))
	end := bytes.Index(doc, []byte(endMetrics))
	if start < 0 || end < start {
		t.Fatalf("%s: no %q … %q section", docPath, strings.TrimSpace(beginMetrics), strings.TrimSpace(endMetrics))
	}
	start += len(beginMetrics)
	want := metricTable(mustCatalogue(t))
	if got := string(doc[start:end]); got != want {
		if *update {
			out := append(append(append([]byte{}, doc[:start]...), want...), doc[end:]...)
			if err := os.WriteFile(docPath, out, 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("%s: the metric table differs from the catalogue; run go test ./internal/iot/telemetry -run TestDocMetricTable -update\n got:\n%s\nwant:\n%s", docPath, got, want)
	}
}

var exampleRE = regexp.MustCompile("(?s)<!-- example ([a-z_]+) -->\n```json\n(.*?)```")

// TestDocExamples parses every example payload of the doc: each must be
// accepted whole.
func TestDocExamples(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	c := mustCatalogue(t)
	received := time.Date(2026, 12, 1, 10, 0, 30, 0, time.UTC)
	seen := map[string]bool{}
	for _, m := range exampleRE.FindAllSubmatch(doc, -1) {
		typ, payload := string(m[1]), m[2]
		seen[typ] = true
		b, err := c.Parse(typ, payload, received, telemetry.Limits{})
		if err != nil {
			t.Errorf("%s example: %v\n%s", typ, err, payload)
			continue
		}
		if len(b.Rejected) > 0 || len(b.Readings) == 0 {
			t.Errorf("%s example: %d readings, rejected %v\n%s", typ, len(b.Readings), b.Rejected, payload)
		}
	}
	for _, typ := range c.Types() {
		if !seen[typ] {
			t.Errorf("%s: no example for device type %s", docPath, typ)
		}
	}
}
