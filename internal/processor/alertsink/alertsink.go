// Package alertsink is the alert sink (docs/iot-alerts.md): the stream
// processor that stores the anomaly detector's alerts (iot.alerts) in the
// store's iot.alerts, de-duplicated, and resolves them when their condition
// clears, judged from the readings on iot.sensor-readings.
//
// One Handler runs under two runners (Inputs): Name on iot.alerts and
// ReadingsName on iot.sensor-readings. Handle turns each input into one
// store alert write (store.AlertOp) that it queues with Emitter.Alert; the
// runner's commit applies it in the checkpoint's transaction
// (store.ProcessorCommit.Alerts). So an input's alert
// write happens exactly once, like any processor's outputs: a redelivered
// input is skipped by the runtime, and a crash before the commit writes
// nothing.
//
// The de-duplication and resolution rules are the store's
// (store.AlertRaise, store.AlertObserve):
//
//   - an alert event for (organization, device, metric, kind, rule) with an
//     alert of that key not resolved (open or acknowledged) updates it: one
//     more occurrence, the latest occurrence's value, time, severity and
//     message; otherwise it opens a new alert;
//   - a threshold alert (one with a normal range) resolves at the
//     ClearAfter-th consecutive reading of its device and metric inside
//     the range after its latest occurrence (a reading outside resets the
//     count); a statistical alert resolves at the first reading of its
//     device and metric at least QuietPeriod (event time) after its latest
//     occurrence.
package alertsink

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/processor"
	"github.com/greenlang/greenlang/internal/processor/anomaly"
	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/stream"
)

// Runner names: consumer groups and checkpoint keys.
const (
	// Name consumes iot.alerts.
	Name = "iot-alert-sink"
	// ReadingsName consumes iot.sensor-readings.
	ReadingsName = "iot-alert-sink-readings"
)

// Alert kinds the sink stores (anomaly.Alert.Kind).
const (
	KindThreshold   = "threshold"
	KindStatistical = "statistical"
)

// Input is one runner of the sink: its name and input topic.
type Input struct {
	Name  string
	Topic string
}

// Inputs are the sink's runners: alerts and readings.
func Inputs() []Input {
	return []Input{{Name: Name, Topic: stream.TopicIoTAlerts}, {Name: ReadingsName, Topic: stream.TopicIoTSensorReadings}}
}

// Config configures the sink.
type Config struct {
	// ClearAfter is how many consecutive readings back inside its normal
	// range resolve a threshold alert. Default 3.
	ClearAfter int
	// QuietPeriod is how long (event time) after its latest occurrence a
	// reading of its device and metric resolves a statistical alert.
	// Default 15 minutes.
	QuietPeriod time.Duration
	// Known, when set, says whether an organization exists: an alert of an
	// unknown one is dead-lettered (it could never be stored, and retrying
	// it would hold up the partition). An error is retried.
	Known func(ctx context.Context, org uuid.UUID) (bool, error)
}

// WithDefaults returns c with its zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.ClearAfter == 0 {
		c.ClearAfter = 3
	}
	if c.QuietPeriod == 0 {
		c.QuietPeriod = 15 * time.Minute
	}
	return c
}

// Validate checks c (after WithDefaults).
func (c Config) Validate() error {
	if c.ClearAfter < 1 {
		return fmt.Errorf("alertsink: clear after %d readings: want at least 1", c.ClearAfter)
	}
	if c.QuietPeriod <= 0 {
		return fmt.Errorf("alertsink: quiet period %s: want a positive duration", c.QuietPeriod)
	}
	return nil
}

// State is a partition's state: nothing beyond what the runtime keeps
// (applied offsets and event ids); the open alerts live in the store.
type State struct{}

// Handler is the sink's processor.Handler for both runners.
type Handler struct{ cfg Config }

// New returns the sink's handler.
func New(cfg Config) (*Handler, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Handler{cfg: cfg}, nil
}

// NewState implements processor.Handler.
func (h *Handler) NewState() *State { return &State{} }

// Handle implements processor.Handler: an alert event becomes a raise, a
// reading an observation of its series.
func (h *Handler) Handle(ctx context.Context, _ *State, m *stream.Message, out *processor.Emitter) error {
	switch m.Topic {
	case stream.TopicIoTAlerts:
		return h.alert(ctx, m, out)
	case stream.TopicIoTSensorReadings:
		return h.reading(m, out)
	}
	return processor.Rejectf("topic %q is not an input of the alert sink", m.Topic)
}

// DedupKey is the de-duplication key of an alert condition within its
// organization.
func DedupKey(device, metric, kind, rule string) string {
	return device + "|" + metric + "|" + kind + "|" + rule
}

func (h *Handler) alert(ctx context.Context, m *stream.Message, out *processor.Emitter) error {
	a, err := processor.Decode[anomaly.Alert](m)
	if err != nil {
		return err // a rejection when the payload is bad
	}
	if err := validateAlert(&a); err != nil {
		return processor.Reject(err)
	}
	if h.cfg.Known != nil {
		ok, err := h.cfg.Known(ctx, a.OrgID)
		if err != nil {
			return fmt.Errorf("looking up organization %s: %w", a.OrgID, err)
		}
		if !ok {
			return processor.Rejectf("field org_id: organization %s does not exist", a.OrgID)
		}
	}
	src := processor.SourceID(m)
	p := &store.AlertRaiseParams{OrgID: a.OrgID, ID: processor.EventID(Name, "alert", src), EventID: src,
		DedupKey: DedupKey(a.DeviceID, a.Metric, a.Kind, a.Rule), DeviceRef: a.DeviceID, Severity: a.Severity,
		Kind: a.Kind, Rule: a.Rule, Metric: a.Metric, Message: a.Message, Value: a.Value, RaisedAt: a.OccurredAt}
	if p.Message == "" {
		p.Message = fmt.Sprintf("%s: %s %s = %s", a.Rule, a.DeviceID, a.Metric, a.Value)
	}
	if a.Min != nil {
		p.RangeMin = decimal.NewNullDecimal(*a.Min)
	}
	if a.Max != nil {
		p.RangeMax = decimal.NewNullDecimal(*a.Max)
	}
	switch {
	case a.Max != nil && a.Value.GreaterThan(*a.Max):
		p.Threshold = p.RangeMax
	case a.Min != nil && a.Value.LessThan(*a.Min):
		p.Threshold = p.RangeMin
	}
	out.Alert(store.AlertOp{Raise: p})
	return nil
}

func validateAlert(a *anomaly.Alert) error {
	switch {
	case a.OrgID == uuid.Nil:
		return errors.New("field org_id is required")
	case a.DeviceID == "":
		return errors.New("field device_id is required")
	case a.Metric == "":
		return errors.New("field metric is required")
	case a.Rule == "":
		return errors.New("field rule is required")
	case a.OccurredAt.IsZero():
		return errors.New("field occurred_at is required")
	case a.Kind != KindThreshold && a.Kind != KindStatistical:
		return fmt.Errorf("field kind: %q is not %s or %s", a.Kind, KindThreshold, KindStatistical)
	case !slices.Contains([]string{"info", "warning", "critical"}, a.Severity):
		return fmt.Errorf("field severity: %q is not info, warning or critical", a.Severity)
	case a.Kind == KindThreshold && a.Min == nil && a.Max == nil:
		return errors.New("fields min, max: a threshold alert needs its normal range")
	}
	for _, d := range []struct {
		name string
		v    *decimal.Decimal
	}{{"value", &a.Value}, {"min", a.Min}, {"max", a.Max}} {
		if d.v != nil {
			if err := processor.CheckDecimal("field "+d.name, *d.v); err != nil {
				return err
			}
		}
	}
	return nil
}

// reading observes a reading. One the sink cannot use is skipped, not
// dead-lettered: the anomaly detector, on the same topic, dead-letters it
// already, with the reason.
func (h *Handler) reading(m *stream.Message, out *processor.Emitter) error {
	r, err := processor.Decode[anomaly.Reading](m)
	var rej *processor.RejectError
	if errors.As(err, &rej) {
		return nil
	}
	if err != nil {
		return err
	}
	rs, _ := r.Readings(processor.SourceID(m))
	for _, r := range rs {
		if r.OrgID == uuid.Nil || r.DeviceID == "" || r.Metric == "" || r.OccurredAt.IsZero() || !r.Value.Valid ||
			processor.CheckDecimal("value", r.Value.Decimal) != nil {
			continue
		}
		p := &store.AlertObserveParams{OrgID: r.OrgID, DeviceRef: r.DeviceID, Metric: r.Metric, Value: r.Value.Decimal, At: r.OccurredAt,
			ClearAfter: h.cfg.ClearAfter, QuietPeriod: h.cfg.QuietPeriod}
		out.Alert(store.AlertOp{Observe: p})
	}
	return nil
}
