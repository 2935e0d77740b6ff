package telemetry

import (
	"strings"
	"testing"
)

func TestParseCatalogueRefusesBadFiles(t *testing.T) {
	t.Parallel()
	const units = `"units":[{"unit":"kWh","convert":[{"from":"Wh","factor":"0.001"}]},{"unit":"%"}]`
	metric := func(m string) string {
		return `{` + units + `,"types":[{"name":"meter","metrics":[` + m + `]}]}`
	}
	const good = `{"name":"e","unit":"kWh","kind":"counter","min":"0","max":"10"}`
	for _, tc := range []struct{ name, file, want string }{
		{"not json", `{`, "telemetry: catalogue: unexpected EOF"},
		{"unknown field", `{"units":[],"types":[],"colour":1}`, `unknown field "colour"`},
		{"no types", `{` + units + `,"types":[]}`, "no device types"},
		{"unknown kind", metric(`{"name":"e","unit":"kWh","kind":"rate","min":"0","max":"1"}`), `metric "e": kind "rate" is not "gauge" or "counter"`},
		{"min > max", metric(`{"name":"e","unit":"kWh","kind":"gauge","min":"5","max":"1"}`), `metric "e": min 5 is greater than max 1`},
		{"bad min", metric(`{"name":"e","unit":"kWh","kind":"gauge","min":"x","max":"1"}`), `min "x" is not a decimal`},
		{"duplicate metric", metric(good + `,` + good), `types[0] ("meter"): metric "e" declared twice`},
		{"undeclared unit", metric(`{"name":"e","unit":"J","kind":"gauge","min":"0","max":"1"}`), `unit "J" is not declared`},
		{"bad metric name", metric(`{"name":"E-1","unit":"kWh","kind":"gauge","min":"0","max":"1"}`), `metric "E-1": name must be`},
		{"alias clash", metric(`{"name":"e","unit":"kWh","aliases":["Wh"],"kind":"gauge","min":"0","max":"1"}`), `alias: "Wh" is listed twice`},
		{"duplicate type", `{` + units + `,"types":[{"name":"m","metrics":[` + good + `]},{"name":"m","metrics":[` + good + `]}]}`, `types[1] ("m"): device type declared twice`},
		{"no metrics", `{` + units + `,"types":[{"name":"m","metrics":[]}]}`, `types[0] ("m"): no metrics`},
		{"duplicate unit", `{"units":[{"unit":"%"},{"unit":"%"}],"types":[]}`, `units[1] ("%"): unit declared twice`},
		{"zero factor", `{"units":[{"unit":"kWh","convert":[{"from":"Wh","factor":"0"}]}],"types":[]}`, `convert from "Wh": factor is zero`},
	} {
		_, err := parseCatalogue([]byte(tc.file))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
	if _, err := parseCatalogue([]byte(metric(good))); err != nil {
		t.Fatalf("good file: %v", err)
	}
}
