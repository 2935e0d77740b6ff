package telemetry

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/shopspring/decimal"
)

//go:embed devicetypes.json
var catalogueJSON []byte

// Kind says how a metric's values behave over time.
type Kind string

// The kinds of metric.
const (
	// KindGauge is a value measured at an instant (a temperature, a power).
	KindGauge Kind = "gauge"
	// KindCounter is a cumulative register that only grows until it is
	// reset or rolls over (an energy or volume total, an odometer).
	KindCounter Kind = "counter"
)

// Metric is one quantity a device type reports.
type Metric struct {
	// Name is the metric's name in payloads, e.g. "pm25".
	Name string
	// Unit is the canonical unit: every Reading of this metric carries its
	// value in this unit.
	Unit string
	// Kind is gauge or counter.
	Kind Kind
	// Min and Max are the valid range, inclusive, in Unit. A value outside
	// it is rejected.
	Min, Max decimal.Decimal
	// Description says what the metric measures, for users.
	Description string

	// units maps each accepted unit spelling (canonical unit, aliases,
	// convertible units) to the exact conversion into Unit; accepted lists
	// the spellings in catalogue order. Shared, never modified.
	units    map[string]conversion
	accepted []string
}

// conversion turns a value into the canonical unit: v*factor + offset.
type conversion struct {
	factor, offset decimal.Decimal
	identity       bool
}

// AcceptedUnits lists the unit spellings a payload may give for the metric:
// the canonical unit first, then its aliases, then the units converted
// exactly into it (e.g. "Wh" for a kWh metric).
func (m Metric) AcceptedUnits() []string { return slices.Clone(m.accepted) }

// Convert returns v, given in unit, in the metric's canonical unit. An empty
// unit means the canonical unit. Conversions are exact decimal arithmetic
// (v*factor + offset). It fails when the unit is not accepted for the metric.
func (m Metric) Convert(v decimal.Decimal, unit string) (decimal.Decimal, error) {
	if unit == "" {
		return v, nil
	}
	c, ok := m.units[unit]
	if !ok {
		return decimal.Decimal{}, fmt.Errorf("unit %q is not accepted for %s (accepted: %s)", unit, m.Name, strings.Join(m.accepted, ", "))
	}
	if c.identity {
		return v, nil
	}
	return v.Mul(c.factor).Add(c.offset), nil
}

// InRange reports whether v, in the canonical unit, is within Min..Max.
func (m Metric) InRange(v decimal.Decimal) bool {
	return v.Cmp(m.Min) >= 0 && v.Cmp(m.Max) <= 0
}

// DeviceType is one kind of device and the metrics it reports.
type DeviceType struct {
	// Name is the device type's name, as stored on a device (e.g.
	// "air_quality").
	Name string
	// Description says what kind of device this is, for users.
	Description string

	metrics []Metric
	byName  map[string]int
}

// Metric returns the named metric of the device type, and whether it exists.
func (d DeviceType) Metric(name string) (Metric, bool) {
	i, ok := d.byName[name]
	if !ok {
		return Metric{}, false
	}
	return d.metrics[i], true
}

// Metrics lists the device type's metrics in catalogue order.
func (d DeviceType) Metrics() []Metric { return slices.Clone(d.metrics) }

// Catalogue is the set of device types and their metrics, and the parser of
// their telemetry payloads. It is immutable once loaded and safe for
// concurrent use.
type Catalogue struct {
	types  []DeviceType
	byName map[string]int
}

// LoadCatalogue loads the device-type catalogue embedded in the package
// (devicetypes.json), validating it. Call it once and share the result.
func LoadCatalogue() (*Catalogue, error) {
	return parseCatalogue(catalogueJSON)
}

// Types lists the device type names in catalogue order.
func (c *Catalogue) Types() []string {
	names := make([]string, len(c.types))
	for i, t := range c.types {
		names[i] = t.Name
	}
	return names
}

// Type returns the named device type, and whether it exists.
func (c *Catalogue) Type(name string) (DeviceType, bool) {
	i, ok := c.byName[name]
	if !ok {
		return DeviceType{}, false
	}
	return c.types[i], true
}

// The catalogue file's shape.
type (
	catalogueFile struct {
		Units []unitFile `json:"units"`
		Types []typeFile `json:"types"`
	}
	unitFile struct {
		Unit    string        `json:"unit"`
		Aliases []string      `json:"aliases"`
		Convert []convertFile `json:"convert"`
	}
	convertFile struct {
		From   string `json:"from"`
		Factor string `json:"factor"`
		Offset string `json:"offset"`
	}
	typeFile struct {
		Name        string       `json:"name"`
		Description string       `json:"description"`
		Metrics     []metricFile `json:"metrics"`
	}
	metricFile struct {
		Name        string   `json:"name"`
		Unit        string   `json:"unit"`
		Aliases     []string `json:"aliases"`
		Kind        Kind     `json:"kind"`
		Min         string   `json:"min"`
		Max         string   `json:"max"`
		Description string   `json:"description"`
	}
)

// unitRules is one canonical unit's accepted spellings, in order.
type unitRules struct {
	names []string
	conv  map[string]conversion
}

// parseCatalogue decodes and validates a catalogue file.
func parseCatalogue(data []byte) (*Catalogue, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f catalogueFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("telemetry: catalogue: %w", err)
	}
	if dec.More() {
		return nil, errors.New("telemetry: catalogue: trailing data after the catalogue object")
	}

	units := make(map[string]unitRules, len(f.Units))
	for i, u := range f.Units {
		where := fmt.Sprintf("telemetry: catalogue: units[%d] (%q)", i, u.Unit)
		if u.Unit == "" {
			return nil, fmt.Errorf("%s: unit is empty", where)
		}
		if _, dup := units[u.Unit]; dup {
			return nil, fmt.Errorf("%s: unit declared twice", where)
		}
		r := unitRules{names: []string{u.Unit}, conv: map[string]conversion{u.Unit: {identity: true}}}
		for _, a := range u.Aliases {
			if err := r.add(a, conversion{identity: true}); err != nil {
				return nil, fmt.Errorf("%s: alias: %w", where, err)
			}
		}
		for _, c := range u.Convert {
			conv, err := parseConversion(c)
			if err != nil {
				return nil, fmt.Errorf("%s: convert from %q: %w", where, c.From, err)
			}
			if err := r.add(c.From, conv); err != nil {
				return nil, fmt.Errorf("%s: convert: %w", where, err)
			}
		}
		units[u.Unit] = r
	}

	c := &Catalogue{byName: make(map[string]int, len(f.Types))}
	for i, tf := range f.Types {
		where := fmt.Sprintf("telemetry: catalogue: types[%d] (%q)", i, tf.Name)
		if !validName(tf.Name) {
			return nil, fmt.Errorf("%s: name must be lowercase letters, digits and '_'", where)
		}
		if _, dup := c.byName[tf.Name]; dup {
			return nil, fmt.Errorf("%s: device type declared twice", where)
		}
		if len(tf.Metrics) == 0 {
			return nil, fmt.Errorf("%s: no metrics", where)
		}
		t := DeviceType{Name: tf.Name, Description: tf.Description, byName: make(map[string]int, len(tf.Metrics))}
		for _, mf := range tf.Metrics {
			m, err := buildMetric(mf, units)
			if err != nil {
				return nil, fmt.Errorf("%s: metric %q: %w", where, mf.Name, err)
			}
			if _, dup := t.byName[m.Name]; dup {
				return nil, fmt.Errorf("%s: metric %q declared twice", where, m.Name)
			}
			t.byName[m.Name] = len(t.metrics)
			t.metrics = append(t.metrics, m)
		}
		c.byName[t.Name] = len(c.types)
		c.types = append(c.types, t)
	}
	if len(c.types) == 0 {
		return nil, errors.New("telemetry: catalogue: no device types")
	}
	return c, nil
}

func (r *unitRules) add(name string, c conversion) error {
	if name == "" {
		return errors.New("empty unit name")
	}
	if _, dup := r.conv[name]; dup {
		return fmt.Errorf("%q is listed twice", name)
	}
	r.conv[name] = c
	r.names = append(r.names, name)
	return nil
}

func parseConversion(c convertFile) (conversion, error) {
	factor, err := decimal.NewFromString(c.Factor)
	if err != nil {
		return conversion{}, fmt.Errorf("factor %q is not a decimal", c.Factor)
	}
	if factor.IsZero() {
		return conversion{}, errors.New("factor is zero")
	}
	offset := decimal.Zero
	if c.Offset != "" {
		if offset, err = decimal.NewFromString(c.Offset); err != nil {
			return conversion{}, fmt.Errorf("offset %q is not a decimal", c.Offset)
		}
	}
	return conversion{factor: factor, offset: offset}, nil
}

func buildMetric(mf metricFile, units map[string]unitRules) (Metric, error) {
	if !validName(mf.Name) {
		return Metric{}, errors.New("name must be lowercase letters, digits and '_'")
	}
	if mf.Kind != KindGauge && mf.Kind != KindCounter {
		return Metric{}, fmt.Errorf("kind %q is not %q or %q", mf.Kind, KindGauge, KindCounter)
	}
	lo, err := decimal.NewFromString(mf.Min)
	if err != nil {
		return Metric{}, fmt.Errorf("min %q is not a decimal", mf.Min)
	}
	hi, err := decimal.NewFromString(mf.Max)
	if err != nil {
		return Metric{}, fmt.Errorf("max %q is not a decimal", mf.Max)
	}
	if lo.GreaterThan(hi) {
		return Metric{}, fmt.Errorf("min %s is greater than max %s", lo, hi)
	}
	rules, ok := units[mf.Unit]
	if !ok {
		return Metric{}, fmt.Errorf("unit %q is not declared in units", mf.Unit)
	}
	r := unitRules{names: slices.Clone(rules.names), conv: make(map[string]conversion, len(rules.conv)+len(mf.Aliases))}
	for k, v := range rules.conv {
		r.conv[k] = v
	}
	for _, a := range mf.Aliases {
		if err := r.add(a, conversion{identity: true}); err != nil {
			return Metric{}, fmt.Errorf("alias: %w", err)
		}
	}
	// Put the metric's own aliases right after the unit's aliases, before
	// the conversions, so AcceptedUnits reads canonical, aliases, converted.
	nAliases := 1
	for _, n := range rules.names[1:] {
		if !rules.conv[n].identity {
			break
		}
		nAliases++
	}
	added := r.names[len(rules.names):]
	names := slices.Concat(r.names[:nAliases], added, r.names[nAliases:len(rules.names)])
	return Metric{
		Name: mf.Name, Unit: mf.Unit, Kind: mf.Kind, Min: lo, Max: hi, Description: mf.Description,
		units: r.conv, accepted: names,
	}, nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' {
			return false
		}
	}
	return true
}
