package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/drivertest"
)

// The bulk benchmarks load batches of benchBatch rows. Each store benchmark
// has a baseline beside it: the raw engine's fastest path (COPY through pgx,
// as the owner, into the same table), so `go test -bench` prints both and the
// ratio is read from one run.
const benchBatch = 5000

type benchEnv struct {
	s      *store.Store
	owner  *pgx.Conn
	org    uuid.UUID
	source uuid.UUID
	device uuid.UUID
}

func newBenchEnv(b *testing.B) benchEnv {
	db := newTestDB(b)
	s := open(b, db, store.Options{})
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
	if err := s.Maintain(ctx); err != nil {
		b.Fatal(err)
	}
	owner, err := pgx.Connect(ctx, db.AdminURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { owner.Close(context.Background()) })
	return benchEnv{s: s, owner: owner, org: o.ID, source: src.ID, device: dev.ID}
}

func reportRows(b *testing.B, rows int) {
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
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

func BenchmarkBaselineCopyActivityRecords(b *testing.B) {
	e := newBenchEnv(b)
	ctx := context.Background()
	cols := []string{"id", "org_id", "created_at", "updated_at", "source_id", "site_id", "activity_type", "quantity", "unit",
		"period_start", "period_end", "data_quality", "origin", "origin_ref", "batch_id", "attributes"}
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		recs := drivertest.ActivityRows(e.source, benchBatch)
		now := time.Now().UTC()
		rows := make([][]any, len(recs))
		for i, r := range recs {
			rows[i] = []any{uuid.Must(uuid.NewV7()), e.org, now, now, r.SourceID, nil, r.ActivityType, r.Quantity, r.Unit,
				r.PeriodStart, r.PeriodEnd, r.DataQuality, r.Origin, r.OriginRef, nil, "{}"}
		}
		b.StartTimer()
		if _, err := e.owner.CopyFrom(ctx, pgx.Identifier{"emissions", "activity_records"}, cols, pgx.CopyFromRows(rows)); err != nil {
			b.Fatal(err)
		}
	}
	reportRows(b, b.N*benchBatch)
}

func BenchmarkBulkInsertSensorReadings(b *testing.B) {
	e := newBenchEnv(b)
	ctx := context.Background()
	start := time.Now().UTC().Add(-time.Hour)
	b.ResetTimer()
	i := 0
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

func BenchmarkBaselineCopySensorReadings(b *testing.B) {
	e := newBenchEnv(b)
	ctx := context.Background()
	start := time.Now().UTC().Add(-time.Hour)
	cols := []string{"org_id", "device_id", "metric", "ts", "value", "unit", "quality", "received_at"}
	b.ResetTimer()
	i := 0
	for b.Loop() {
		b.StopTimer()
		recs := drivertest.Readings(e.device, start.Add(time.Duration(i*benchBatch)*time.Second), benchBatch)
		i++
		now := time.Now().UTC()
		rows := make([][]any, len(recs))
		for j, r := range recs {
			rows[j] = []any{e.org, r.DeviceID, r.Metric, r.Time, r.Value, r.Unit, r.Quality, now}
		}
		b.StartTimer()
		if _, err := e.owner.CopyFrom(ctx, pgx.Identifier{"iot", "sensor_readings"}, cols, pgx.CopyFromRows(rows)); err != nil {
			b.Fatal(err)
		}
	}
	reportRows(b, b.N*benchBatch)
}
