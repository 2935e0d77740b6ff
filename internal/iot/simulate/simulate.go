// Package simulate publishes realistic telemetry for the eight device types
// to an MQTT broker, one connection per device, as the devices would: the
// demo's data source and the IoT benchmark's load (`greenlang iot
// simulate`, docs/iot.md).
package simulate

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/greenlang/greenlang/internal/mqtt"
)

// Device is one simulated device and what it connects with.
type Device struct {
	Org, ID string // the ids in its topic
	Type    string // one of the eight device types
	User    string // MQTT user name; empty for an anonymous broker
	Secret  string
}

// Topic is the device's telemetry topic.
func (d Device) Topic() string {
	return mqtt.Topic{Org: d.Org, Device: d.ID, Kind: mqtt.KindTelemetry}.String()
}

// Config says what to publish where.
type Config struct {
	// Broker is tcp://host:port or ssl://host:port (mqtt:// and mqtts://
	// too).
	Broker  string
	Devices []Device
	// Rate is the messages per second over all devices; 0 publishes as
	// fast as acknowledgements come back.
	Rate float64
	// Messages stops after this many messages in all (0: until ctx ends).
	Messages int64
	// InFlight is the most unacknowledged messages per device (default 1).
	InFlight int
	// QoS is 0 or 1 (default 1).
	QoS byte
	// Seed makes the values reproducible.
	Seed uint64
	// Start is the timestamp of the first readings; zero: the wall clock.
	Start time.Time
	// TLS is used for ssl:// brokers.
	TLS *tls.Config
}

// Stats count what was published.
type Stats struct {
	Sent, Acked, Failed int64
	// Latencies of acknowledged publishes (QoS 1), in order of completion.
	Latencies []time.Duration
	// Elapsed is the time from the first publish to the last
	// acknowledgement (connecting is not counted).
	Elapsed time.Duration
}

// Progress is called about once a second while Run runs.
type Progress func(s Stats, elapsed time.Duration)

// Run connects every device, publishes until Messages are sent or ctx
// ends, disconnects and returns the counts.
func Run(ctx context.Context, cfg Config, progress Progress) (Stats, error) {
	if len(cfg.Devices) == 0 {
		return Stats{}, errors.New("simulate: no devices")
	}
	if cfg.InFlight <= 0 {
		cfg.InFlight = 1
	}
	if cfg.QoS > 1 {
		return Stats{}, fmt.Errorf("simulate: QoS %d: 0 or 1", cfg.QoS)
	}
	u, err := url.Parse(cfg.Broker)
	if err != nil {
		return Stats{}, fmt.Errorf("simulate: broker URL: %w", err)
	}
	conns := make([]*paho.Client, len(cfg.Devices))
	defer func() {
		for _, c := range conns {
			if c != nil {
				_ = c.Disconnect(&paho.Disconnect{ReasonCode: 0})
			}
		}
	}()
	for i, d := range cfg.Devices {
		c, err := connect(ctx, u, cfg.TLS, d, fmt.Sprintf("sim-%s", d.ID))
		if err != nil {
			return Stats{}, fmt.Errorf("simulate: device %s: %w", d.ID, err)
		}
		conns[i] = c
	}
	var (
		st       Stats
		sent     atomic.Int64
		acked    atomic.Int64
		failed   atomic.Int64
		latMu    sync.Mutex
		firstErr error
		errOnce  sync.Once
	)
	start := time.Now()
	clock := cfg.Start
	if clock.IsZero() {
		clock = start
	}
	// Pacing: message k (over all devices) may go at start + k/Rate.
	var ticket atomic.Int64
	take := func(ctx context.Context) bool {
		k := ticket.Add(1) - 1
		if cfg.Messages > 0 && k >= cfg.Messages {
			return false
		}
		if cfg.Rate > 0 {
			at := start.Add(time.Duration(float64(k) / cfg.Rate * float64(time.Second)))
			if d := time.Until(at); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
					return false
				}
			}
		}
		return ctx.Err() == nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for i, d := range cfg.Devices {
		gen := newGenerator(d.Type, cfg.Seed+uint64(i), clock)
		var genMu sync.Mutex
		for range cfg.InFlight {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for take(ctx) {
					genMu.Lock()
					payload := gen.next()
					genMu.Unlock()
					t0 := time.Now()
					sent.Add(1)
					_, err := conns[i].Publish(ctx, &paho.Publish{Topic: d.Topic(), QoS: cfg.QoS, Payload: payload})
					if err != nil {
						if ctx.Err() != nil {
							return
						}
						failed.Add(1)
						errOnce.Do(func() { firstErr = fmt.Errorf("simulate: device %s: %w", d.ID, err) })
						continue
					}
					acked.Add(1)
					if cfg.QoS == 1 {
						latMu.Lock()
						st.Latencies = append(st.Latencies, time.Since(t0))
						latMu.Unlock()
					}
				}
			}()
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	snapshot := func() Stats {
		latMu.Lock()
		defer latMu.Unlock()
		return Stats{Sent: sent.Load(), Acked: acked.Load(), Failed: failed.Load()}
	}
	for {
		select {
		case <-done:
			s := snapshot()
			s.Latencies, s.Elapsed = st.Latencies, time.Since(start)
			if progress != nil {
				progress(s, time.Since(start))
			}
			if s.Failed > 0 {
				return s, firstErr
			}
			return s, nil
		case <-tick.C:
			if progress != nil {
				progress(snapshot(), time.Since(start))
			}
		}
	}
}

// connect opens one MQTT 5 connection as device d.
func connect(ctx context.Context, u *url.URL, tlsCfg *tls.Config, d Device, clientID string) (*paho.Client, error) {
	var (
		conn net.Conn
		err  error
	)
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	switch u.Scheme {
	case "tcp", "mqtt", "mqtt+embedded":
		conn, err = dialer.DialContext(ctx, "tcp", u.Host)
	case "ssl", "mqtts", "tls":
		conn, err = (&tls.Dialer{NetDialer: dialer, Config: tlsCfg}).DialContext(ctx, "tcp", u.Host)
	default:
		return nil, fmt.Errorf("broker URL scheme %q: tcp, ssl, mqtt or mqtts", u.Scheme)
	}
	if err != nil {
		return nil, err
	}
	c := paho.NewClient(paho.ClientConfig{Conn: conn, ClientID: clientID})
	cp := &paho.Connect{ClientID: clientID, KeepAlive: 30, CleanStart: true}
	if d.User != "" {
		cp.Username, cp.UsernameFlag = d.User, true
		cp.Password, cp.PasswordFlag = []byte(d.Secret), true
	}
	ca, err := c.Connect(ctx, cp)
	if err != nil {
		conn.Close()
		return nil, err
	}
	if ca.ReasonCode != 0 {
		conn.Close()
		return nil, fmt.Errorf("broker refused the connection: reason %d %s", ca.ReasonCode, ca.Properties.ReasonString)
	}
	return c, nil
}

// generator makes one device's successive payloads: values that drift
// like the real thing, cumulative registers that only grow, timestamps
// strictly increasing (so no two readings of a metric share a time).
type generator struct {
	typ   string
	order []string
	rnd   *rand.Rand
	t     time.Time
	state map[string]float64
}

func newGenerator(typ string, seed uint64, start time.Time) *generator {
	g := &generator{typ: typ, order: order(typ), rnd: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)), t: start, state: map[string]float64{}}
	for k, v := range initial(typ) {
		g.state[k] = v * (0.8 + 0.4*g.rnd.Float64())
	}
	return g
}

// initial are typical starting values of a device type's metrics.
func initial(typ string) map[string]float64 {
	switch typ {
	case "air_quality":
		return map[string]float64{"pm25": 8, "pm10": 20, "co2_ppm": 450, "temperature_c": 21, "humidity_pct": 45}
	case "energy_meter":
		return map[string]float64{"energy_kwh_total": 10000, "power_kw": 40, "power_factor": 0.93, "voltage_v": 230, "current_a": 60}
	case "water_flow":
		return map[string]float64{"volume_m3_total": 500, "flow_lpm": 30}
	case "emissions_sensor":
		return map[string]float64{"co2_ppm": 90000, "ch4_ppm": 3, "flue_flow_m3h": 2000, "flue_temperature_c": 180, "flue_pressure_kpa": 101.3}
	case "temp_humidity":
		return map[string]float64{"temperature_c": 20, "humidity_pct": 50}
	case "vehicle_tracker":
		return map[string]float64{"latitude": 52.52, "longitude": 13.40, "speed_kmh": 50, "odometer_km": 80000, "fuel_l_total": 6000}
	case "solar_panel":
		return map[string]float64{"energy_kwh_total": 3000, "power_kw": 5, "irradiance_wm2": 600}
	case "waste_bin":
		return map[string]float64{"fill_level_pct": 20, "weight_kg": 15}
	}
	return nil
}

// next returns the next payload (native JSON, docs/iot-payloads.md).
func (g *generator) next() []byte {
	now := time.Now()
	step := time.Second
	if now.After(g.t) {
		step = now.Sub(g.t)
	}
	if step > time.Minute {
		step = time.Minute
	}
	g.t = g.t.Add(max(step, time.Microsecond))
	h := step.Hours()
	s := g.state
	walk := func(k string, rel, lo, hi float64) {
		s[k] = math.Min(hi, math.Max(lo, s[k]*(1+rel*(g.rnd.Float64()*2-1))))
	}
	switch g.typ {
	case "air_quality":
		walk("pm25", 0.05, 0, 500)
		walk("pm10", 0.05, 0, 600)
		walk("co2_ppm", 0.01, 380, 5000)
		walk("temperature_c", 0.005, -20, 45)
		walk("humidity_pct", 0.01, 5, 95)
	case "energy_meter":
		walk("power_kw", 0.03, 1, 500)
		walk("power_factor", 0.002, 0.8, 0.99)
		walk("voltage_v", 0.002, 220, 240)
		s["current_a"] = s["power_kw"] * 1000 / (s["voltage_v"] * s["power_factor"])
		s["energy_kwh_total"] += s["power_kw"] * h
	case "water_flow":
		walk("flow_lpm", 0.05, 0, 500)
		s["volume_m3_total"] += s["flow_lpm"] * 60 * h / 1000
	case "emissions_sensor":
		walk("co2_ppm", 0.02, 50000, 150000)
		walk("ch4_ppm", 0.05, 0.5, 50)
		walk("flue_flow_m3h", 0.02, 500, 5000)
		walk("flue_temperature_c", 0.01, 120, 250)
		walk("flue_pressure_kpa", 0.001, 99, 103)
	case "temp_humidity":
		walk("temperature_c", 0.005, -20, 45)
		walk("humidity_pct", 0.01, 5, 95)
	case "vehicle_tracker":
		walk("speed_kmh", 0.05, 0, 120)
		km := s["speed_kmh"] * h
		s["odometer_km"] += km
		s["fuel_l_total"] += km * 0.08
		s["latitude"] = math.Min(89, math.Max(-89, s["latitude"]+km/111*(g.rnd.Float64()*2-1)))
		s["longitude"] = math.Min(179, math.Max(-179, s["longitude"]+km/70*(g.rnd.Float64()*2-1)))
	case "solar_panel":
		walk("irradiance_wm2", 0.03, 0, 1100)
		s["power_kw"] = s["irradiance_wm2"] / 1000 * 6 * 0.85
		s["energy_kwh_total"] += s["power_kw"] * h
	case "waste_bin":
		s["fill_level_pct"] = math.Min(100, s["fill_level_pct"]+g.rnd.Float64()*0.05)
		if s["fill_level_pct"] >= 100 {
			s["fill_level_pct"] = 5 // emptied
		}
		s["weight_kg"] = s["fill_level_pct"] * 0.8
	}
	b := make([]byte, 0, 256)
	b = append(b, `{"time":"`...)
	b = g.t.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z")
	b = append(b, `","metrics":{`...)
	first := true
	for _, k := range g.order {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, `":`...)
		b = strconv.AppendFloat(b, s[k], 'f', decimals(k), 64)
	}
	return append(b, "}}"...)
}

// order lists a type's metrics in a fixed order, for stable payloads.
func order(typ string) []string {
	switch typ {
	case "air_quality":
		return []string{"pm25", "pm10", "co2_ppm", "temperature_c", "humidity_pct"}
	case "energy_meter":
		return []string{"energy_kwh_total", "power_kw", "power_factor", "voltage_v", "current_a"}
	case "water_flow":
		return []string{"volume_m3_total", "flow_lpm"}
	case "emissions_sensor":
		return []string{"co2_ppm", "ch4_ppm", "flue_flow_m3h", "flue_temperature_c", "flue_pressure_kpa"}
	case "temp_humidity":
		return []string{"temperature_c", "humidity_pct"}
	case "vehicle_tracker":
		return []string{"latitude", "longitude", "speed_kmh", "odometer_km", "fuel_l_total"}
	case "solar_panel":
		return []string{"energy_kwh_total", "power_kw", "irradiance_wm2"}
	case "waste_bin":
		return []string{"fill_level_pct", "weight_kg"}
	}
	return nil
}

// decimals is how many places a metric is sent with, as a device would.
func decimals(metric string) int {
	switch metric {
	case "latitude", "longitude":
		return 6
	case "energy_kwh_total", "volume_m3_total", "odometer_km", "fuel_l_total", "power_factor":
		return 3
	}
	return 1
}

// Types lists the device types the simulator knows.
func Types() []string {
	return []string{"air_quality", "energy_meter", "water_flow", "emissions_sensor", "temp_humidity", "vehicle_tracker", "solar_panel", "waste_bin"}
}
