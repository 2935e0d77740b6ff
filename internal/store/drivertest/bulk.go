package drivertest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/store"
)

// ActivityRows makes n activity records of source, spread over two years.
func ActivityRows(source uuid.UUID, n int) []store.ActivityRecord {
	out := make([]store.ActivityRecord, n)
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range out {
		start := base.Add(time.Duration(i%730) * 24 * time.Hour)
		out[i] = store.ActivityRecord{SourceID: source, ActivityType: "electricity", Quantity: decimal.New(int64(1000+i), -2),
			Unit: "kWh", PeriodStart: start, PeriodEnd: start.Add(24 * time.Hour), DataQuality: 2, Origin: "file",
			OriginRef: fmt.Sprintf("row-%d", i)}
	}
	return out
}

// Readings makes n readings of device, one a second from start.
func Readings(device uuid.UUID, start time.Time, n int) []store.SensorReading {
	out := make([]store.SensorReading, n)
	for i := range out {
		out[i] = store.SensorReading{DeviceID: device, Metric: "energy_kwh", Time: start.Add(time.Duration(i) * time.Second),
			Value: decimal.New(int64(i), -3), Unit: "kWh"}
	}
	return out
}

func testBulkInsert(t *testing.T, s *store.Store, _ Admin) {
	ctx := context.Background()
	f := newFixture(t, s)
	rows := ActivityRows(f.source.ID, 1500)
	// Far past and far future: no insert may fail for a missing partition.
	rows[0].PeriodStart, rows[0].PeriodEnd = time.Date(1901, 5, 1, 0, 0, 0, 0, time.UTC), time.Date(1901, 6, 1, 0, 0, 0, 0, time.UTC)
	rows[1].PeriodStart, rows[1].PeriodEnd = time.Date(2199, 12, 1, 0, 0, 0, 0, time.UTC), time.Date(2199, 12, 31, 0, 0, 0, 0, time.UTC)
	res, err := s.ActivityRecords().BulkInsert(ctx, f.org.ID, rows)
	must(t, err)
	if res.Inserted != 1500 || len(res.Digest) != 64 {
		t.Fatalf("result %+v", res)
	}
	got, err := s.ActivityRecords().Get(ctx, f.org.ID, rows[1499].ID)
	must(t, err)
	if !got.Quantity.Equal(decimal.New(2499, -2)) || got.BatchID == nil || *got.BatchID != res.BatchID {
		t.Errorf("row read back: quantity %s batch %v", got.Quantity, got.BatchID)
	}
	old, err := s.ActivityRecords().Get(ctx, f.org.ID, rows[0].ID)
	must(t, err)
	if old.PeriodStart.Year() != 1901 {
		t.Errorf("far-past row period %v", old.PeriodStart)
	}
	must(t, s.Maintain(ctx))
	// Maintenance may move rows between partitions; none is lost.
	for _, id := range []uuid.UUID{rows[0].ID, rows[1].ID, rows[700].ID} {
		if _, err := s.ActivityRecords().Get(ctx, f.org.ID, id); err != nil {
			t.Errorf("after maintenance: %v", err)
		}
	}
	n := 0
	var after uuid.UUID
	for {
		page, err := s.ActivityRecords().List(ctx, f.org.ID, store.ListOptions{After: after, Limit: 1000})
		must(t, err)
		n += len(page)
		if len(page) < 1000 {
			break
		}
		after = page[len(page)-1].ID
	}
	if n != 1501 {
		t.Errorf("listed %d records, want 1501", n)
	}
	es, err := s.AuditEntries(ctx, f.org.ID, 0, 1000)
	must(t, err)
	last := es[len(es)-1]
	if last.Action != "bulk_insert" || last.EntityID != res.BatchID.String() || !strings.Contains(last.NewValues, res.Digest) {
		t.Errorf("last audit entry %+v", last)
	}
}

func testBulkInsertAtomic(t *testing.T, s *store.Store, _ Admin) {
	ctx := context.Background()
	f := newFixture(t, s)
	rows := ActivityRows(f.source.ID, 200)
	rows[150].SourceID = uuid.Must(uuid.NewV7()) // no such source
	_, err := s.ActivityRecords().BulkInsert(ctx, f.org.ID, rows)
	wantCode(t, err, store.CodeFailedPrecondition, "bulk insert with a dangling source")
	bad := ActivityRows(f.source.ID, 5)
	bad[3].Unit = ""
	_, err = s.ActivityRecords().BulkInsert(ctx, f.org.ID, bad)
	wantCode(t, err, store.CodeInvalidArgument, "bulk insert with a row missing its unit")
	if !strings.Contains(err.Error(), "row 4") || !strings.Contains(err.Error(), "unit") {
		t.Errorf("error %q does not name row 4 and unit", err)
	}
	page, err := s.ActivityRecords().List(ctx, f.org.ID, store.ListOptions{})
	must(t, err)
	if len(page) != 1 {
		t.Errorf("%d records after failed batches, want only the fixture's", len(page))
	}
}

func testSensorReadings(t *testing.T, s *store.Store, _ Admin) {
	ctx := context.Background()
	f := newFixture(t, s)
	start := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	first := Readings(f.device.ID, start, 10)
	res, err := s.SensorReadingsInsert(ctx, f.org.ID, first)
	must(t, err)
	if res.Inserted != 10 {
		t.Fatalf("inserted %d", res.Inserted)
	}
	again := Readings(f.device.ID, start, 15)
	again[0].Value = decimal.NewFromInt(999) // a redelivery with another value keeps the first
	res, err = s.SensorReadingsInsert(ctx, f.org.ID, again)
	must(t, err)
	if res.Inserted != 5 {
		t.Errorf("redelivery inserted %d, want 5", res.Inserted)
	}
	got, err := s.SensorReadings(ctx, f.org.ID, store.SensorReadingsQuery{DeviceID: f.device.ID, Metric: "energy_kwh", From: start, To: start.Add(time.Hour)})
	must(t, err)
	if len(got) != 15 || !got[0].Value.IsZero() || !got[14].Value.Equal(decimal.New(14, -3)) || !got[3].Time.Equal(start.Add(3*time.Second)) {
		t.Errorf("read %d readings: first %+v", len(got), got[0])
	}
	// The last reading before a time: a register's baseline.
	last, err := s.SensorReadingLast(ctx, f.org.ID, f.device.ID, "energy_kwh", start.Add(10*time.Second))
	must(t, err)
	if !last.Time.Equal(start.Add(9*time.Second)) || !last.Value.Equal(decimal.New(9, -3)) {
		t.Errorf("last before +10s: %+v", last)
	}
	_, err = s.SensorReadingLast(ctx, f.org.ID, f.device.ID, "energy_kwh", start)
	wantCode(t, err, store.CodeNotFound, "no reading before the first")
	other := NewOrg(t, s)
	_, err = s.SensorReadingLast(ctx, other.ID, f.device.ID, "energy_kwh", start.Add(time.Hour))
	wantCode(t, err, store.CodeNotFound, "another tenant's last reading")
	got, err = s.SensorReadings(ctx, other.ID, store.SensorReadingsQuery{DeviceID: f.device.ID, Metric: "energy_kwh", From: start, To: start.Add(time.Hour)})
	must(t, err)
	if len(got) != 0 {
		t.Errorf("another tenant reads %d readings", len(got))
	}
	_, err = s.SensorReadingsInsert(ctx, other.ID, Readings(f.device.ID, start, 1))
	wantCode(t, err, store.CodeFailedPrecondition, "readings for another tenant's device")
}

func testERPCredentials(t *testing.T, s *store.Store, admin Admin) {
	ctx := context.Background()
	f := newFixture(t, s)
	raw, err := admin.QueryString(ctx, `SELECT hex(credentials_enc) FROM integration.erp_connections WHERE id = $1`, f.conn.ID)
	must(t, err)
	if len(raw) < 2*(12+16) || strings.Contains(strings.ToLower(raw), fmt.Sprintf("%x", "s3cr3t")) {
		t.Errorf("stored credentials look unsealed: %s", raw)
	}
	got, err := s.ERPConnections().Get(ctx, f.org.ID, f.conn.ID)
	must(t, err)
	if got.Credentials["client_secret"] != "s3cr3t-value" {
		t.Errorf("credentials read back %v", got.Credentials)
	}
	es, err := s.AuditEntries(ctx, f.org.ID, 0, 1000)
	must(t, err)
	for _, e := range es {
		if strings.Contains(e.NewValues+e.OldValues, "s3cr3t") {
			t.Errorf("audit entry %d carries the secret", e.Seq)
		}
	}
	// A store without the key reads everything but credentials.
	keyless := store.New(s.Engine(), store.Options{})
	_, err = keyless.ERPConnections().Get(ctx, f.org.ID, f.conn.ID)
	wantCode(t, err, store.CodeFailedPrecondition, "reading credentials without a key")
	// Moving sealed credentials to another connection makes them unreadable.
	other := &store.ERPConnection{Name: "other", System: "oracle"}
	must(t, s.ERPConnections().Create(ctx, f.org.ID, other))
	_, err = admin.Exec(ctx, `UPDATE integration.erp_connections SET credentials_enc = (SELECT credentials_enc FROM integration.erp_connections WHERE id = $1),
		credentials_key_id = 'test' WHERE id = $2`, f.conn.ID, other.ID)
	must(t, err)
	_, err = s.ERPConnections().Get(ctx, f.org.ID, other.ID)
	wantCode(t, err, store.CodeFailedPrecondition, "sealed credentials moved to another connection")
}

func testMonthlyEmissions(t *testing.T, s *store.Store, _ Admin) {
	ctx := context.Background()
	f := newFixture(t, s)
	other := newFixture(t, s)
	add := func(fx *fixture, scope int, basis string, start time.Time, kg string) {
		c := *fx.calc
		c.ID = uuid.Nil
		c.Scope, c.Scope2Basis, c.PeriodStart, c.CO2eKg = scope, basis, start, dec(kg)
		must(t, s.CalculatedEmissions().Create(ctx, fx.org.ID, &c))
	}
	may := time.Date(2025, 5, 10, 0, 0, 0, 0, time.UTC)
	add(f, 1, "", may, "0.1")
	add(f, 1, "", may.Add(48*time.Hour), "0.2")
	add(f, 2, "location", may, "1000.000000000000000001")
	add(f, 2, "market", may, "250")
	add(other, 1, "", may, "5")
	must(t, s.Maintain(ctx))
	got, err := s.MonthlyEmissions(ctx, f.org.ID, march, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	must(t, err)
	want := []string{"2025-03 1  6728.7318 1", "2025-05 1  0.3 2", "2025-05 2 location 1000.000000000000000001 1", "2025-05 2 market 250 1"}
	var have []string
	for _, m := range got {
		have = append(have, fmt.Sprintf("%s %d %s %s %d", m.Month.UTC().Format("2006-01"), m.Scope, m.Scope2Basis, m.CO2eKg, m.Records))
	}
	if strings.Join(have, "|") != strings.Join(want, "|") {
		t.Errorf("monthly emissions:\n got  %q\n want %q", have, want)
	}
}
