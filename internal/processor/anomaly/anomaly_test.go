package anomaly_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/processor"
	"github.com/greenlang/greenlang/internal/processor/anomaly"
	"github.com/greenlang/greenlang/internal/processor/processortest"
	"github.com/greenlang/greenlang/internal/stream"
)

var (
	org = uuid.MustParse("0190a000-0000-7000-8000-00000000000a")
	t0  = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
)

// reading builds the input message with event id id.
func reading(t testing.TB, id, device, typ, metric string, minutes float64, value string) *stream.Message {
	t.Helper()
	r := anomaly.Reading{OrgID: org, DeviceID: device, DeviceType: typ, Metric: metric, Unit: "u",
		Value: decimal.NullDecimal{Decimal: decimal.RequireFromString(value), Valid: true}, OccurredAt: t0.Add(time.Duration(minutes * float64(time.Minute)))}
	m, err := stream.Encode(stream.TopicIoTSensorReadings, r.Key(), r)
	if err != nil {
		t.Fatal(err)
	}
	m.EventID = id
	return m
}

// emitted is one output, decoded.
type emitted struct {
	input int // index of the input whose Handle emitted it
	topic string
	id    uuid.UUID
	alert anomaly.Alert
}

func (e emitted) String() string {
	a := e.alert
	s := fmt.Sprintf("in=%d %s %s/%s %s %s src=%s %s/%s=%s", e.input, e.topic, a.Kind, a.Rule, a.Severity, a.DeviceType, a.SourceEventID, a.DeviceID, a.Metric, a.Value)
	if a.Min != nil {
		s += " min=" + a.Min.String()
	}
	if a.Max != nil {
		s += " max=" + a.Max.String()
	}
	if a.Expected != nil {
		s += fmt.Sprintf(" mean=%s sd=%s z=%s k=%s", a.Expected, a.StdDev, a.ZScore, a.ZThreshold)
	}
	s += fmt.Sprintf(" evidence=%d[%v,%v]", a.Evidence.Readings, a.Evidence.From.Sub(t0).Minutes(), a.Evidence.To.Sub(t0).Minutes())
	if a.EmissionsRelevant {
		s += " emissions"
	}
	return s
}

// run handles msgs in order on one state, round-tripping the state through
// a checkpoint after every input (as the runtime stores it: the changed
// devices' entries only), and returns the outputs and the indexes of the
// rejected inputs.
func run(t *testing.T, h *anomaly.Handler, msgs []*stream.Message) ([]emitted, map[int]error) {
	t.Helper()
	st := h.NewState()
	var cp processortest.Checkpoint
	var out []emitted
	rejected := map[int]error{}
	for i, m := range msgs {
		em := processor.NewEmitter(anomaly.Name)
		err := h.Handle(context.Background(), st, m, em)
		var rej *processor.RejectError
		switch {
		case errors.As(err, &rej):
			rejected[i] = err
			continue
		case err != nil:
			t.Fatalf("input %d: %v", i, err)
		}
		alertIDs := map[uuid.UUID]bool{}
		for _, e := range em.Events() {
			var a anomaly.Alert
			if err := json.Unmarshal(e.Event.Payload, &a); err != nil {
				t.Fatal(err)
			}
			if e.OrgID != org || e.Event.Key != org.String() || e.Event.Headers[anomaly.HeaderEventType] != anomaly.EventTypeAnomaly {
				t.Fatalf("output %+v: want org %s as key and the event-type header", e, org)
			}
			switch e.Event.Topic {
			case stream.TopicIoTAlerts:
				alertIDs[e.Event.ID] = true
				if a.AlertID != "" {
					t.Fatalf("an iot.alerts event with alert_id %s", a.AlertID)
				}
			case stream.TopicEmissionsAnomalies:
				if !alertIDs[uuid.MustParse(a.AlertID)] {
					t.Fatalf("emissions anomaly %s: alert_id %s is not an iot.alerts event of the same input", e.Event.ID, a.AlertID)
				}
			}
			prefix := map[string]string{stream.TopicIoTAlerts: "alert", stream.TopicEmissionsAnomalies: "emissions-anomaly"}[e.Event.Topic]
			if want := processor.EventID(anomaly.Name, prefix, a.SourceEventID, a.Rule); e.Event.ID != want {
				t.Fatalf("%s id %s, want %s (from the input event id and the rule)", e.Event.Topic, e.Event.ID, want)
			}
			out = append(out, emitted{input: i, topic: e.Event.Topic, id: e.Event.ID, alert: a})
		}
		cp.Save(t, st)
		st = processortest.Load(t, &cp, processor.Handler[*anomaly.State](h))
	}
	return out, rejected
}

func strs(es []emitted) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.String()
	}
	return out
}

func newHandler(t *testing.T, cfg anomaly.Config) *anomaly.Handler {
	t.Helper()
	h, err := anomaly.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestThresholds(t *testing.T) {
	t.Parallel()
	h := newHandler(t, anomaly.Config{})
	in := []*stream.Message{
		reading(t, "r0", "aq-1", "air_quality", "pm25", 0, "55.4"),      // top of the normal range
		reading(t, "r1", "aq-1", "air_quality", "pm25", 1, "55.5"),      // EPA "unhealthy"
		reading(t, "r2", "aq-1", "air_quality", "pm10", 2, "255"),       // EPA "unhealthy"
		reading(t, "r3", "em-1", "energy_meter", "energy_kwh", 3, "-1"), // register ran backwards: emissions-relevant
		reading(t, "r4", "em-1", "energy_meter", "energy_kwh", 4, "0"),
		reading(t, "r5", "th-1", "temperature_humidity", "temperature_c", 5, "-20.1"), // alias of temp_humidity
		reading(t, "r6", "th-1", "temp_humidity", "temperature_c", 6, "50"),
		reading(t, "r7", "th-1", "temp_humidity", "humidity_pct", 7, "100.5"),
		reading(t, "r8", "es-1", "emissions_sensor", "co2e_kg", 8, "-0.001"),
		reading(t, "r9", "wb-1", "waste_bin", "fill_level_pct", 9, "91"),
		reading(t, "r10", "aq-2", "energy_meter", "pm25", 10, "500"), // pm25 rules are for air_quality devices
	}
	got, rejected := run(t, h, in)
	if len(rejected) != 0 {
		t.Fatalf("rejected %v", rejected)
	}
	want := []string{
		"in=1 iot.alerts threshold/pm25-unhealthy warning air_quality src=r1 aq-1/pm25=55.5 max=55.4 evidence=1[1,1]",
		"in=2 iot.alerts threshold/pm10-unhealthy warning air_quality src=r2 aq-1/pm10=255 max=254 evidence=1[2,2]",
		"in=3 iot.alerts threshold/negative-energy-delta critical energy_meter src=r3 em-1/energy_kwh=-1 min=0 evidence=1[3,3] emissions",
		"in=3 emissions.anomalies threshold/negative-energy-delta critical energy_meter src=r3 em-1/energy_kwh=-1 min=0 evidence=1[3,3] emissions",
		"in=5 iot.alerts threshold/temperature-out-of-range warning temp_humidity src=r5 th-1/temperature_c=-20.1 min=-20 max=50 evidence=1[5,5]",
		"in=7 iot.alerts threshold/humidity-impossible critical temp_humidity src=r7 th-1/humidity_pct=100.5 min=0 max=100 evidence=1[7,7]",
		"in=8 iot.alerts threshold/negative-emissions critical emissions_sensor src=r8 es-1/co2e_kg=-0.001 min=0 evidence=1[8,8] emissions",
		"in=8 emissions.anomalies threshold/negative-emissions critical emissions_sensor src=r8 es-1/co2e_kg=-0.001 min=0 evidence=1[8,8] emissions",
		"in=9 iot.alerts threshold/waste-bin-full info waste_bin src=r9 wb-1/fill_level_pct=91 max=90 evidence=1[9,9]",
	}
	if g := strs(got); !reflect.DeepEqual(g, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(g, "\n"), strings.Join(want, "\n"))
	}
	if got[0].id != processor.EventID(anomaly.Name, "alert", "r1", "pm25-unhealthy") {
		t.Errorf("alert id %s is not derived from the input event id and the rule", got[0].id)
	}
	if got[3].id != processor.EventID(anomaly.Name, "emissions-anomaly", "r3", "negative-energy-delta") || got[3].alert.AlertID != got[2].id.String() {
		t.Errorf("emissions anomaly id %s alert_id %s", got[3].id, got[3].alert.AlertID)
	}
	if msg := got[0].alert.Message; msg != "pm25 55.5 u outside the normal range up to 55.4 (rule pm25-unhealthy)" {
		t.Errorf("message %q", msg)
	}
}

// The statistical rule over a window of 10 with a warm-up of 10: each
// reading is scored against the 10 before it once the next one (a minute
// later, = the lateness) has arrived. Expected values computed
// independently (Python decimal).
func TestZScore(t *testing.T) {
	t.Parallel()
	h := newHandler(t, anomaly.Config{Window: 10, WarmUp: 10, Thresholds: []anomaly.Threshold{}})
	var in []*stream.Message
	for i := range 10 {
		in = append(in, reading(t, fmt.Sprintf("e%02d", i), "em-1", "energy_meter", "energy_kwh", float64(i), []string{"10", "12"}[i%2]))
	}
	in = append(in,
		reading(t, "e10", "em-1", "energy_meter", "energy_kwh", 10, "14"), // mean 11, sd 1: z = 3 exactly, not above
		reading(t, "e11", "em-1", "energy_meter", "energy_kwh", 11, "20"), // mean 11.4, sd 1.280625: z 6.715
		reading(t, "e12", "em-1", "energy_meter", "energy_kwh", 12, "2"),  // mean 12.2, sd 2.891366: z -3.528
		reading(t, "e13", "em-1", "energy_meter", "energy_kwh", 13, "11"),
		// A constant series: no variance, nothing scored.
	)
	for i := range 12 {
		v := "5"
		if i == 11 {
			v = "500"
		}
		in = append(in, reading(t, fmt.Sprintf("c%02d", i), "wf-1", "water_flow", "flow_l_min", float64(i), v))
	}
	in = append(in, reading(t, "c12", "wf-1", "water_flow", "flow_l_min", 12, "5"))
	// Positions are not scored.
	for i := range 13 {
		in = append(in, reading(t, fmt.Sprintf("p%02d", i), "vt-1", "vehicle_tracker", "latitude", float64(i), fmt.Sprint(i*i*i)))
	}
	got, rejected := run(t, h, in)
	if len(rejected) != 0 {
		t.Fatalf("rejected %v", rejected)
	}
	want := []string{
		"in=12 iot.alerts statistical/zscore warning energy_meter src=e11 em-1/energy_kwh=20 mean=11.4 sd=1.280625 z=6.715 k=3 evidence=10[1,10] emissions",
		"in=12 emissions.anomalies statistical/zscore warning energy_meter src=e11 em-1/energy_kwh=20 mean=11.4 sd=1.280625 z=6.715 k=3 evidence=10[1,10] emissions",
		"in=13 iot.alerts statistical/zscore warning energy_meter src=e12 em-1/energy_kwh=2 mean=12.2 sd=2.891366 z=-3.528 k=3 evidence=10[2,11] emissions",
		"in=13 emissions.anomalies statistical/zscore warning energy_meter src=e12 em-1/energy_kwh=2 mean=12.2 sd=2.891366 z=-3.528 k=3 evidence=10[2,11] emissions",
	}
	if g := strs(got); !reflect.DeepEqual(g, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(g, "\n"), strings.Join(want, "\n"))
	}
	want0 := "energy_kwh 20 u is 6.715 standard deviations from the mean 11.4 of the last 10 readings (limit 3)"
	if got[0].alert.Message != want0 {
		t.Errorf("message %q, want %q", got[0].alert.Message, want0)
	}
}

// Readings of a series arriving out of order within the lateness give the
// same outputs as in order; one behind the baseline by more than the
// lateness skips the baseline but is still checked against the
// thresholds.
func TestOrderWithinLateness(t *testing.T) {
	t.Parallel()
	h := newHandler(t, anomaly.Config{Window: 5, WarmUp: 5, Lateness: 3 * time.Minute})
	var ordered []*stream.Message
	vals := []string{"1", "2", "1", "2", "1", "9", "1", "2", "-4", "1", "2", "30", "1", "1", "1", "1"}
	for i, v := range vals {
		ordered = append(ordered, reading(t, fmt.Sprintf("e%02d", i), "em-1", "energy_meter", "energy_kwh", float64(i), v))
	}
	// Swap neighbours and move some back by up to 3 minutes of event time.
	shuffled := append([]*stream.Message(nil), ordered...)
	for _, p := range [][2]int{{0, 1}, {4, 6}, {8, 11}, {12, 13}} {
		shuffled[p[0]], shuffled[p[1]] = shuffled[p[1]], shuffled[p[0]]
	}
	a, _ := run(t, h, ordered)
	b, _ := run(t, h, shuffled)
	byID := func(es []emitted) map[uuid.UUID]string {
		m := map[uuid.UUID]string{}
		for _, e := range es {
			e.input = 0
			m[e.id] = e.String()
		}
		return m
	}
	stats := 0
	for _, e := range a {
		if e.alert.Kind == anomaly.KindStatistical {
			stats++
		}
	}
	if stats != 4 || len(a) != 6 { // e05 and e11, on both topics; e08's threshold alert on both
		t.Fatalf("want 4 statistical and 2 threshold outputs, got\n%s", strings.Join(strs(a), "\n"))
	}
	if !reflect.DeepEqual(byID(a), byID(b)) {
		t.Fatalf("in order\n%s\nout of order\n%s", strings.Join(strs(a), "\n"), strings.Join(strs(b), "\n"))
	}

	// e-late is 5 minutes behind the last reading in the baseline: no
	// statistical effect, but its threshold alert is emitted.
	late := append(append([]*stream.Message(nil), ordered...), reading(t, "e-late", "em-1", "energy_meter", "energy_kwh", 7.5, "-100"))
	late = append(late, reading(t, "e16", "em-1", "energy_meter", "energy_kwh", 16, "1"), reading(t, "e17", "em-1", "energy_meter", "energy_kwh", 17, "1"))
	c, _ := run(t, h, late)
	d, _ := run(t, h, append(append([]*stream.Message(nil), ordered...), late[len(late)-2:]...))
	var extra []string
	cm, dm := byID(c), byID(d)
	for id, s := range cm {
		if _, ok := dm[id]; !ok {
			extra = append(extra, s)
		}
	}
	wantExtra := []string{"in=0 iot.alerts threshold/negative-energy-delta critical energy_meter src=e-late em-1/energy_kwh=-100 min=0 evidence=1[7.5,7.5] emissions",
		"in=0 emissions.anomalies threshold/negative-energy-delta critical energy_meter src=e-late em-1/energy_kwh=-100 min=0 evidence=1[7.5,7.5] emissions"}
	if len(extra) != 2 || len(cm) != len(dm)+2 || !strings.Contains(strings.Join(extra, "\n"), wantExtra[0]) || !strings.Contains(strings.Join(extra, "\n"), wantExtra[1]) {
		t.Fatalf("a late reading: extra outputs %q, want %q", extra, wantExtra)
	}
}

func TestRejects(t *testing.T) {
	t.Parallel()
	h := newHandler(t, anomaly.Config{})
	good := anomaly.Reading{OrgID: org, DeviceID: "aq-1", DeviceType: "air_quality", Metric: "pm25", Unit: "ug/m3",
		Value: decimal.NullDecimal{Decimal: decimal.NewFromInt(80), Valid: true}, OccurredAt: t0}
	enc := func(r anomaly.Reading) []byte {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := []struct {
		name  string
		key   string
		value []byte
		field string // the reason must name it
	}{
		{"not json", good.Key(), []byte("{not json"), "decoding"},
		{"unknown field", good.Key(), []byte(`{"org_id":"` + org.String() + `","device":"x"}`), "field device"},
		{"value not a number", good.Key(), []byte(`{"org_id":"` + org.String() + `","value":"ten"}`), "value"},
		{"no org", good.Key(), enc(func() anomaly.Reading { r := good; r.OrgID = uuid.Nil; return r }()), "org_id"},
		{"no device", good.Key(), enc(func() anomaly.Reading { r := good; r.DeviceID = ""; return r }()), "device_id"},
		{"no device type", good.Key(), enc(func() anomaly.Reading { r := good; r.DeviceType = ""; return r }()), "device_type"},
		{"unknown device type", good.Key(), enc(func() anomaly.Reading { r := good; r.DeviceType = "toaster"; return r }()), `device_type "toaster"`},
		{"no metric", good.Key(), enc(func() anomaly.Reading { r := good; r.Metric = ""; return r }()), "metric"},
		{"no value", good.Key(), enc(func() anomaly.Reading { r := good; r.Value = decimal.NullDecimal{}; return r }()), "value"},
		{"no unit", good.Key(), enc(func() anomaly.Reading { r := good; r.Unit = ""; return r }()), "unit"},
		{"no event time", good.Key(), enc(func() anomaly.Reading { r := good; r.OccurredAt = time.Time{}; return r }()), "occurred_at"},
		{"keyed by org", org.String(), enc(good), "key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := h.NewState()
			before, _ := json.Marshal(st.Devices)
			em := processor.NewEmitter(anomaly.Name)
			err := h.Handle(context.Background(), st, &stream.Message{Topic: stream.TopicIoTSensorReadings, Key: c.key, Value: c.value, EventID: "bad"}, em)
			var rej *processor.RejectError
			if !errors.As(err, &rej) {
				t.Fatalf("want a rejection, got %v", err)
			}
			if !strings.Contains(err.Error(), c.field) {
				t.Fatalf("reason %q does not name %q", err, c.field)
			}
			after, _ := json.Marshal(st.Devices)
			if string(before) != string(after) {
				t.Fatalf("a rejected input changed the state: %s", after)
			}
		})
	}
	// The good reading itself is accepted (and alerts).
	m, err := stream.Encode(stream.TopicIoTSensorReadings, good.Key(), good)
	if err != nil {
		t.Fatal(err)
	}
	em := processor.NewEmitter(anomaly.Name)
	if err := h.Handle(context.Background(), h.NewState(), m, em); err != nil || len(em.Events()) != 1 {
		t.Fatalf("the good reading: %v, %d outputs", err, len(em.Events()))
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	bad := []anomaly.Config{
		{Window: 5, WarmUp: 6},
		{Window: 1},
		{ZScore: decimal.NewFromInt(-1)},
		{Lateness: -time.Second},
		{Thresholds: []anomaly.Threshold{{Rule: "x", Metric: "m", Severity: "warning"}}},                                                  // no bound
		{Thresholds: []anomaly.Threshold{{Rule: "x", Metric: "m", Severity: "loud", Max: decimal.NewNullDecimal(decimal.NewFromInt(1))}}}, // severity
		{Thresholds: []anomaly.Threshold{{Rule: "x", DeviceType: "toaster", Metric: "m", Severity: "info", Max: decimal.NewNullDecimal(decimal.NewFromInt(1))}}},
		{Thresholds: []anomaly.Threshold{{Rule: "x", Metric: "m", Severity: "info", Min: decimal.NewNullDecimal(decimal.NewFromInt(2)), Max: decimal.NewNullDecimal(decimal.NewFromInt(1))}}},
	}
	for i, c := range bad {
		if _, err := anomaly.New(c); err == nil {
			t.Errorf("config %d %+v accepted", i, c)
		}
	}
	if _, err := anomaly.New(anomaly.Config{}); err != nil {
		t.Fatalf("the default config: %v", err)
	}
}

// FuzzHandle: any payload is either rejected or handled, never a panic or
// another error.
func FuzzHandle(f *testing.F) {
	f.Add([]byte(`{"org_id":"0190a000-0000-7000-8000-00000000000a","device_id":"d","device_type":"air_quality","metric":"pm25","value":"80","unit":"u","occurred_at":"2025-03-01T10:00:00Z"}`))
	f.Add([]byte(`{"value":null}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"org_id":"0190a000-0000-7000-8000-00000000000a","device_id":"d","device_type":"air_quality","metric":"pm25","value":"8","unit":"u","occurred_at":"2025-03-01T10:00:00Z","more":[{"metric":"pm10","value":"300","unit":"u","occurred_at":"2025-03-01T10:00:00Z"},{"metric":"pm25","value":null}]}`))
	h, err := anomaly.New(anomaly.Config{Window: 2, WarmUp: 2})
	if err != nil {
		f.Fatal(err)
	}
	st := h.NewState()
	f.Fuzz(func(t *testing.T, b []byte) {
		m := &stream.Message{Topic: stream.TopicIoTSensorReadings, Key: org.String() + "/d", Value: b, EventID: "x"}
		err := h.Handle(context.Background(), st, m, processor.NewEmitter(anomaly.Name))
		var rej *processor.RejectError
		if err != nil && !errors.As(err, &rej) {
			t.Fatalf("not a rejection: %v", err)
		}
	})
}

// With Robust, the rule scores against the window's median and MAD, so a
// spike already in the window does not hide the next anomaly: 11.5 after
// ten readings around 10 and one 40 has z = 0.6745 × 1.5 / 0.15 = 6.745
// (median 10, MAD 0.15), while the mean and standard deviation (13 and
// about 9) would give |z| < 1. A window of equal values scores nothing.
func TestRobustZScore(t *testing.T) {
	t.Parallel()
	h := newHandler(t, anomaly.Config{Window: 10, WarmUp: 10, Robust: true, Thresholds: []anomaly.Threshold{}})
	var in []*stream.Message
	for i, v := range []string{"10", "10.2", "9.8", "10.1", "9.9", "10", "10.3", "9.7", "10", "40"} {
		in = append(in, reading(t, fmt.Sprintf("r%02d", i), "em-1", "energy_meter", "energy_kwh", float64(i), v))
	}
	in = append(in,
		reading(t, "r10", "em-1", "energy_meter", "energy_kwh", 10, "11.5"),
		reading(t, "r11", "em-1", "energy_meter", "energy_kwh", 11, "10"))
	for i := range 12 {
		in = append(in, reading(t, fmt.Sprintf("c%02d", i), "wf-1", "water_flow", "flow_l_min", float64(i), []string{"5", "5", "5", "5", "5", "5", "5", "5", "5", "5", "6", "5"}[i]))
	}
	got, rejected := run(t, h, in)
	if len(rejected) != 0 {
		t.Fatalf("rejected %v", rejected)
	}
	want := []string{
		"in=11 iot.alerts statistical/robust-zscore warning energy_meter src=r10 em-1/energy_kwh=11.5 mean=10 sd=0.15 z=6.745 k=3.5 evidence=10[0,9] emissions",
		"in=11 emissions.anomalies statistical/robust-zscore warning energy_meter src=r10 em-1/energy_kwh=11.5 mean=10 sd=0.15 z=6.745 k=3.5 evidence=10[0,9] emissions",
	}
	if g := strs(got); !reflect.DeepEqual(g, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(g, "\n"), strings.Join(want, "\n"))
	}
	if m := got[0].alert.Message; m != "energy_kwh 11.5 u has a robust z-score of 6.745 against the median 10 of the last 10 readings (limit 3.5)" {
		t.Errorf("message %q", m)
	}
}

// A partition state checkpointed whole (before keyed state) is read, and
// its devices are written as entries at the next commit; the state's own
// JSON no longer carries them.
func TestWholeStateCheckpointIsRead(t *testing.T) {
	h := newHandler(t, anomaly.Config{})
	st := h.NewState()
	old := `{"devices":{"o/em-1":{"series":{"energy_kwh":{"window":[{"at":"2025-01-01T00:00:00Z","v":"1.5"}],"last_at":"2025-01-01T00:00:00Z","last_id":"x"}}}}}`
	if err := json.Unmarshal([]byte(old), st); err != nil {
		t.Fatal(err)
	}
	s := st.Devices["o/em-1"].Series["energy_kwh"]
	if s == nil || len(s.Window) != 1 || !s.Window[0].Value.Equal(decimal.RequireFromString("1.5")) {
		t.Fatalf("devices %+v", st.Devices)
	}
	es, err := st.TakeChanges()
	if err != nil || len(es) != 1 || es[0].Key != "o/em-1" || !strings.Contains(string(es[0].Value), `"1.5"`) {
		t.Fatalf("changes %v %v", es, err)
	}
	if b, _ := json.Marshal(st); string(b) != "{}" {
		t.Fatalf("the state's own JSON is %s", b)
	}
	if es, _ := st.TakeChanges(); len(es) != 0 {
		t.Fatalf("changes taken twice: %v", es)
	}
}

// An event of several values (the ingest's, one per device message) is
// checked and scored value by value, each with its own source id
// (<event id>#<i> after the first); one bad value rejects the event whole,
// naming it, and changes no state.
func TestEventWithMoreValues(t *testing.T) {
	h := newHandler(t, anomaly.Config{})
	r := anomaly.Reading{OrgID: org, DeviceID: "aq-1", DeviceType: "air_quality", Metric: "pm10", Unit: "ug/m3",
		Value: decimal.NewNullDecimal(decimal.RequireFromString("20")), OccurredAt: t0,
		More: []anomaly.Measurement{
			{Metric: "pm25", Unit: "ug/m3", Value: decimal.NewNullDecimal(decimal.RequireFromString("180.5")), OccurredAt: t0},
			{Metric: "temperature_c", Unit: "C", Value: decimal.NewNullDecimal(decimal.RequireFromString("21")), OccurredAt: t0},
		}}
	m, err := stream.Encode(stream.TopicIoTSensorReadings, r.Key(), r)
	if err != nil {
		t.Fatal(err)
	}
	m.EventID = "ev-1"
	bad := r
	bad.More = append([]anomaly.Measurement{}, r.More...)
	bad.More[1].Value = decimal.NullDecimal{}
	mb, err := stream.Encode(stream.TopicIoTSensorReadings, bad.Key(), bad)
	if err != nil {
		t.Fatal(err)
	}
	mb.EventID = "ev-2"
	out, rejected := run(t, h, []*stream.Message{mb, m})
	if err := rejected[0]; err == nil || !strings.Contains(err.Error(), "more[1]") || !strings.Contains(err.Error(), "value") {
		t.Fatalf("the event with a bad value: %v", err)
	}
	var got []string
	for _, e := range out {
		if e.topic == stream.TopicIoTAlerts {
			got = append(got, e.alert.Metric+" "+e.alert.Rule+" "+e.alert.SourceEventID)
		}
	}
	if len(got) != 1 || got[0] != "pm25 pm25-unhealthy ev-1#1" {
		t.Fatalf("alerts %v, want the pm25 breach of the second value", got)
	}
	// The rejected event changed nothing: a fresh state given only the
	// good one holds the same baselines.
	st, fresh := h.NewState(), h.NewState()
	for _, x := range []*stream.Message{mb, m} {
		_ = h.Handle(context.Background(), st, x, processor.NewEmitter(anomaly.Name))
	}
	_ = h.Handle(context.Background(), fresh, m, processor.NewEmitter(anomaly.Name))
	a, _ := json.Marshal(st.Devices)
	b, _ := json.Marshal(fresh.Devices)
	if string(a) != string(b) || !strings.Contains(string(a), "temperature_c") {
		t.Fatalf("state after a rejected event\n%s\nwant\n%s", a, b)
	}
}
