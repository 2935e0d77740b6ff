package iot

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/iot/telemetry"
)

// Edge rules (the seed's EdgeGateway, docs/iot.md "Edge rules") are
// applied to each parsed reading before it is stored: a filter drops
// readings, a transformation changes their value, a downsampling keeps one
// reading per interval. Rules run in file order; a dropped reading goes no
// further.

// Edge rule actions.
const (
	EdgeDrop       = "drop"       // filter: the reading is not stored
	EdgeScale      = "scale"      // value × factor
	EdgeOffset     = "offset"     // value + offset
	EdgeClamp      = "clamp"      // value limited to [min, max]
	EdgeRound      = "round"      // value rounded to places (half away from zero)
	EdgeDownsample = "downsample" // keep the first reading per interval per device and metric
)

// EdgeCondition is a comparison of the reading's value: op is one of
// < <= > >= == !=.
type EdgeCondition struct {
	Op    string          `json:"op"`
	Value decimal.Decimal `json:"value"`
}

// EdgeRule is one rule. DeviceType and Metric select the readings (empty:
// any); When, if set, must hold for the action to apply.
type EdgeRule struct {
	Name       string           `json:"name"`
	DeviceType string           `json:"device_type,omitempty"`
	Metric     string           `json:"metric,omitempty"`
	When       *EdgeCondition   `json:"when,omitempty"`
	Action     string           `json:"action"`
	Factor     decimal.Decimal  `json:"factor,omitzero"`
	Offset     decimal.Decimal  `json:"offset,omitzero"`
	Min        *decimal.Decimal `json:"min,omitempty"`
	Max        *decimal.Decimal `json:"max,omitempty"`
	Places     int32            `json:"places,omitempty"`
	// Interval is the downsampling interval, e.g. "1m".
	Interval string `json:"interval,omitempty"`

	every time.Duration
}

// EdgeRules is a parsed, checked rule set. It is safe for concurrent use.
type EdgeRules struct {
	rules []EdgeRule

	mu   sync.Mutex
	last map[edgeKey]time.Time // downsample: the last kept reading's time
}

type edgeKey struct {
	rule           int
	device, metric string
}

// ParseEdgeRules reads a JSON array of rules and checks each against the
// device-type catalogue. An error names the rule (index and name) and the
// field.
func ParseEdgeRules(data []byte, cat *telemetry.Catalogue) (*EdgeRules, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var rules []EdgeRule
	if err := dec.Decode(&rules); err != nil {
		return nil, fmt.Errorf("edge rules: not a JSON array of rules: %w", err)
	}
	for i := range rules {
		r := &rules[i]
		where := fmt.Sprintf("edge rule %d (%q)", i+1, r.Name)
		if strings.TrimSpace(r.Name) == "" {
			return nil, fmt.Errorf("edge rule %d: name is required", i+1)
		}
		if r.DeviceType != "" {
			dt, ok := cat.Type(r.DeviceType)
			if !ok {
				return nil, fmt.Errorf("%s: device_type %q is not one of %s", where, r.DeviceType, strings.Join(cat.Types(), ", "))
			}
			if _, ok := dt.Metric(r.Metric); r.Metric != "" && !ok {
				return nil, fmt.Errorf("%s: metric %q is not a metric of %s", where, r.Metric, r.DeviceType)
			}
		}
		if r.When != nil && !slices.Contains([]string{"<", "<=", ">", ">=", "==", "!="}, r.When.Op) {
			return nil, fmt.Errorf("%s: when.op %q is not one of < <= > >= == !=", where, r.When.Op)
		}
		switch r.Action {
		case EdgeDrop:
		case EdgeScale:
			if r.Factor.IsZero() {
				return nil, fmt.Errorf("%s: scale needs a non-zero factor", where)
			}
		case EdgeOffset:
			if r.Offset.IsZero() {
				return nil, fmt.Errorf("%s: offset needs a non-zero offset", where)
			}
		case EdgeClamp:
			if r.Min == nil && r.Max == nil || r.Min != nil && r.Max != nil && r.Min.GreaterThan(*r.Max) {
				return nil, fmt.Errorf("%s: clamp needs min and/or max, min not above max", where)
			}
		case EdgeRound:
			if r.Places < 0 || r.Places > 12 {
				return nil, fmt.Errorf("%s: round places %d: 0 to 12", where, r.Places)
			}
		case EdgeDownsample:
			d, err := time.ParseDuration(r.Interval)
			if err != nil || d <= 0 {
				return nil, fmt.Errorf("%s: downsample needs a positive interval such as \"1m\", got %q", where, r.Interval)
			}
			r.every = d
		default:
			return nil, fmt.Errorf("%s: action %q is not one of drop, scale, offset, clamp, round, downsample", where, r.Action)
		}
	}
	return &EdgeRules{rules: rules, last: map[edgeKey]time.Time{}}, nil
}

// Apply runs the rules over one device's readings and returns the ones to
// store (values transformed) and how many each rule dropped, by name.
func (e *EdgeRules) Apply(deviceType, device string, rs []telemetry.Reading) ([]telemetry.Reading, map[string]int) {
	if e == nil || len(e.rules) == 0 {
		return rs, nil
	}
	var dropped map[string]int
	out := rs[:0]
readings:
	for _, r := range rs {
		for i := range e.rules {
			rule := &e.rules[i]
			if rule.DeviceType != "" && rule.DeviceType != deviceType || rule.Metric != "" && rule.Metric != r.Metric || !rule.holds(r.Value) {
				continue
			}
			keep := true
			switch rule.Action {
			case EdgeDrop:
				keep = false
			case EdgeScale:
				r.Value = r.Value.Mul(rule.Factor)
			case EdgeOffset:
				r.Value = r.Value.Add(rule.Offset)
			case EdgeClamp:
				if rule.Min != nil && r.Value.LessThan(*rule.Min) {
					r.Value = *rule.Min
				}
				if rule.Max != nil && r.Value.GreaterThan(*rule.Max) {
					r.Value = *rule.Max
				}
			case EdgeRound:
				r.Value = r.Value.Round(rule.Places)
			case EdgeDownsample:
				k := edgeKey{i, device, r.Metric}
				e.mu.Lock()
				last, seen := e.last[k]
				if seen && r.Time.Before(last.Add(rule.every)) && !r.Time.Before(last) {
					keep = false
				} else if !seen || r.Time.After(last) {
					e.last[k] = r.Time
				}
				e.mu.Unlock()
			}
			if !keep {
				if dropped == nil {
					dropped = map[string]int{}
				}
				dropped[rule.Name]++
				continue readings
			}
		}
		out = append(out, r)
	}
	return out, dropped
}

func (r *EdgeRule) holds(v decimal.Decimal) bool {
	if r.When == nil {
		return true
	}
	c := v.Cmp(r.When.Value)
	switch r.When.Op {
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	case "==":
		return c == 0
	}
	return c != 0
}
