package sqlitestore_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/drivertest"
	"github.com/greenlang/greenlang/internal/store/sqlitestore"
)

// Each store benchmark has a baseline beside it: a bare prepared INSERT
// executed per row in one transaction, on a plain database/sql handle to the
// same file, so `go test -bench` prints both and the ratio is read from one run.
const benchBatch = 5000

type benchEnv struct {
	s      *store.Store
	raw    *sql.DB
	org    uuid.UUID
	source uuid.UUID
	device uuid.UUID
}

func newBenchEnv(b *testing.B) benchEnv {
	s, d := Open(b, store.Options{})
	ctx := context.Background()
	o := drivertest.NewOrg(b, s)
	src := &store.EmissionSource{Name: "grid", Scope: 2}
	if err := s.EmissionSources().Create(ctx, o.ID, src); err != nil {
		b.Fatal(err)
	}
	dev := &store.Device{DeviceType: "energy_meter", Serial: "bench"}
	if err := s.Devices().Create(ctx, o.ID, dev); err != nil {
		b.Fatal(err)
	}
	raw, err := sql.Open("sqlite", "file:"+d.Path()+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate")
	if err != nil {
		b.Fatal(err)
	}
	raw.SetMaxOpenConns(1)
	b.Cleanup(func() { raw.Close() })
	return benchEnv{s: s, raw: raw, org: o.ID, source: src.ID, device: dev.ID}
}

func reportRows(b *testing.B, rows int) {
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

// rawLoop inserts rows with one prepared statement in one transaction.
func rawLoop(b *testing.B, db *sql.DB, insert string, rows [][]any) {
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	stmt, err := tx.Prepare(insert)
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range rows {
		if _, err := stmt.Exec(r...); err != nil {
			b.Fatal(err)
		}
	}
	stmt.Close()
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkBulkInsertActivityRecords(b *testing.B) {
	e := newBenchEnv(b)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		rows := drivertest.ActivityRows(e.source, benchBatch)
		b.StartTimer()
		if _, err := e.s.ActivityRecords().BulkInsert(ctx, e.org, rows); err != nil {
			b.Fatal(err)
		}
	}
	reportRows(b, b.N*benchBatch)
}

func BenchmarkBaselineLoopActivityRecords(b *testing.B) {
	e := newBenchEnv(b)
	const insert = `INSERT INTO emissions_activity_records (id, org_id, created_at, updated_at, source_id, site_id, activity_type,
		quantity, unit, period_start, period_end, data_quality, origin, origin_ref, batch_id, attributes)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)`
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		recs := drivertest.ActivityRows(e.source, benchBatch)
		now := time.Now().UTC().Format(sqlitestore.TimeFormat)
		org := e.org.String()
		rows := make([][]any, len(recs))
		for i, r := range recs {
			rows[i] = []any{uuid.Must(uuid.NewV7()).String(), org, now, now, r.SourceID.String(), nil, r.ActivityType,
				r.Quantity.String(), r.Unit, r.PeriodStart.Format(sqlitestore.TimeFormat), r.PeriodEnd.Format(sqlitestore.TimeFormat),
				r.DataQuality, r.Origin, r.OriginRef, nil, "{}"}
		}
		b.StartTimer()
		rawLoop(b, e.raw, insert, rows)
	}
	reportRows(b, b.N*benchBatch)
}

func BenchmarkBulkInsertSensorReadings(b *testing.B) {
	e := newBenchEnv(b)
	ctx := context.Background()
	start := time.Now().UTC().Add(-time.Hour)
	i := 0
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		rows := drivertest.Readings(e.device, start.Add(time.Duration(i*benchBatch)*time.Second), benchBatch)
		i++
		b.StartTimer()
		if _, err := e.s.SensorReadingsInsert(ctx, e.org, rows); err != nil {
			b.Fatal(err)
		}
	}
	reportRows(b, b.N*benchBatch)
}

func BenchmarkBaselineLoopSensorReadings(b *testing.B) {
	e := newBenchEnv(b)
	const insert = `INSERT OR IGNORE INTO iot_sensor_readings (org_id, device_id, metric, ts, value, unit, quality, received_at)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)`
	start := time.Now().UTC().Add(-time.Hour)
	i := 0
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		recs := drivertest.Readings(e.device, start.Add(time.Duration(i*benchBatch)*time.Second), benchBatch)
		i++
		now := time.Now().UTC().Format(sqlitestore.TimeFormat)
		rows := make([][]any, len(recs))
		for j, r := range recs {
			rows[j] = []any{e.org.String(), r.DeviceID.String(), r.Metric, r.Time.Format(sqlitestore.TimeFormat), r.Value.String(), r.Unit, r.Quality, now}
		}
		b.StartTimer()
		rawLoop(b, e.raw, insert, rows)
	}
	reportRows(b, b.N*benchBatch)
}
