package cli_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/config"
	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/sqlitestore"
)

// iot device summary prints an air-quality monitor's statistics and daily
// AQI as a table and as JSON; bad flags are usage errors, an unknown
// device an error.
func TestIoTDeviceSummary(t *testing.T) {
	t.Parallel()
	data, org := newOrgStore(t)
	r := run(t, nil, "iot", "device", "register", "--data-dir", data, "--org", org, "--type", "air_quality", "--serial", "AQ-1")
	if r.code != 0 {
		t.Fatalf("register: %s", r.stderr)
	}
	dev, _, _ := strings.Cut(strings.TrimPrefix(r.stdout, "device_id\t"), "\n")

	// PM2.5 35.9 µg/m³ in each hour of 1 June: AQI 102.
	ctx := context.Background()
	reg := store.NewRegistry()
	sqlitestore.Register(reg)
	st, err := reg.Open(ctx, config.SQLiteURL(filepath.Join(data, "greenlang.db")), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	var rs []store.SensorReading
	for i := range 24 {
		rs = append(rs, store.SensorReading{DeviceID: uuid.MustParse(dev), Metric: "pm25", Time: day.Add(time.Duration(i) * time.Hour), Value: decimal.RequireFromString("35.9"), Unit: "µg/m³"})
	}
	if _, err := st.SensorReadingsInsert(ctx, uuid.MustParse(org), rs); err != nil {
		t.Fatal(err)
	}
	st.Close()

	r = run(t, nil, "iot", "device", "summary", "--data-dir", data, "--org", org, dev, "--from", "2025-06-01", "--to", "2025-06-02")
	if r.code != 0 {
		t.Fatalf("summary: %d %s", r.code, r.stderr)
	}
	for _, want := range []string{
		"device\t" + dev + "\tair_quality\tAQ-1\t\n",
		"range\t2025-06-01T00:00:00Z\t2025-06-02T00:00:00Z\n",
		"readings\t24\t2025-06-01T00:00:00Z\t2025-06-01T23:00:00Z\n",
		"pm25\tµg/m³\t24\t35.9\t35.9\t35.9\n",
		"pm10\tµg/m³\t0\t-\t-\t-\n",
		"aqi 2025-06-01\t102 Unhealthy for Sensitive Groups (PM2.5)\t\tUS EPA AQI, EPA-454/B-24-002 Table 6",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, r.stdout)
		}
	}
	r = run(t, nil, "iot", "device", "summary", "--data-dir", data, "--org", org, dev, "--from", "2025-06-01", "--to", "2025-06-02T12:00:00Z", "--format", "json")
	if r.code != 0 {
		t.Fatalf("summary json: %d %s", r.code, r.stderr)
	}
	var got struct {
		DeviceType string `json:"device_type"`
		Readings   int    `json:"readings"`
		Section    struct {
			Days []struct {
				Date     string `json:"date"`
				AQI      *int   `json:"aqi"`
				Category string `json:"category"`
			} `json:"days"`
		} `json:"section"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	if got.DeviceType != "air_quality" || got.Readings != 24 || len(got.Section.Days) != 1 || got.Section.Days[0].AQI == nil ||
		*got.Section.Days[0].AQI != 102 || got.Section.Days[0].Category != "Unhealthy for Sensitive Groups" {
		t.Errorf("json: %+v\n%s", got, r.stdout)
	}

	for _, args := range [][]string{
		{"not-a-uuid", "--from", "2025-06-01", "--to", "2025-06-02"},
		{dev, "--from", "2025-06-02", "--to", "2025-06-01"},
		{dev, "--from", "yesterday", "--to", "2025-06-01"},
		{dev, "--from", "2025-06-01", "--to", "2025-06-02", "--format", "csv"},
		{"--from", "2025-06-01", "--to", "2025-06-02"},
	} {
		if r := run(t, nil, append([]string{"iot", "device", "summary", "--data-dir", data, "--org", org}, args...)...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage): %s", args, r.code, r.stderr)
		}
	}
	r = run(t, nil, "iot", "device", "summary", "--data-dir", data, "--org", org, uuid.NewString(), "--from", "2025-06-01", "--to", "2025-06-02")
	if line := errorLine(t, r); r.code != 1 || !strings.Contains(line, "iot device summary") {
		t.Errorf("unknown device: %d %q", r.code, line)
	}
}
