package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/audit"
	"github.com/greenlang/greenlang/internal/store/driver"
)

var readingsTable = driver.Table{
	Name:            "iot.sensor_readings",
	Columns:         []string{"org_id", "device_id", "metric", "ts", "value", "unit", "quality", "received_at"},
	IgnoreConflicts: true,
}

// SensorReadingsInsert stores readings of org in one transaction. A reading
// already stored (same device, metric and time) is kept as it was and not
// counted: Inserted says how many were new. The batch gets one audit entry.
func (s *Store) SensorReadingsInsert(ctx context.Context, org uuid.UUID, rs []SensorReading) (BulkResult, error) {
	const op = "store: inserting sensor readings"
	res := BulkResult{BatchID: newID()}
	if len(rs) == 0 {
		return res, nil
	}
	now := s.nowUTC()
	rows := make([][]any, len(rs))
	h := sha256.New()
	var line []byte
	for i := range rs {
		r := &rs[i]
		if r.DeviceID == uuid.Nil || r.Metric == "" || r.Time.IsZero() {
			return res, errorf(CodeInvalidArgument, op, "reading %d: device_id, metric and time are required", i+1)
		}
		r.OrgID = org
		r.Time = r.Time.UTC().Truncate(time.Microsecond)
		if r.ReceivedAt.IsZero() {
			r.ReceivedAt = now
		}
		r.ReceivedAt = r.ReceivedAt.UTC().Truncate(time.Microsecond)
		line = appendReading(line[:0], r)
		h.Write(line)
		rows[i] = []any{org, r.DeviceID, r.Metric, r.Time, r.Value, r.Unit, r.Quality, r.ReceivedAt}
	}
	res.Digest = hex.EncodeToString(h.Sum(nil))
	err := s.tenantTx(ctx, op, org, false, func(q driver.Querier) error {
		n, err := s.d.BulkInsert(ctx, q, readingsTable, rows)
		if err != nil {
			return err
		}
		res.Inserted = n
		return s.appendAudit(ctx, q, org, audit.ActionBulkInsert, "sensor_reading", res.BatchID.String(), nil,
			map[string]any{"rows": len(rs), "inserted": n, "sha256": res.Digest})
	})
	return res, err
}

// SensorReadingsQuery selects one device's readings of one metric in [From, To).
type SensorReadingsQuery struct {
	DeviceID uuid.UUID
	Metric   string
	From, To time.Time
	Limit    int // 0 means 1000; at most 10000
}

// SensorReadings reads readings of org in time order.
func (s *Store) SensorReadings(ctx context.Context, org uuid.UUID, q SensorReadingsQuery) ([]SensorReading, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 1000
	}
	limit = min(limit, 10000)
	var out []SensorReading
	err := s.tenantTx(ctx, "store: reading sensor readings", org, true, func(tx driver.Querier) error {
		out = out[:0]
		rows, err := tx.Query(ctx, `SELECT org_id, device_id, metric, ts, value, unit, quality, received_at
			FROM iot.sensor_readings WHERE org_id = $1 AND device_id = $2 AND metric = $3 AND ts >= $4 AND ts < $5
			ORDER BY ts LIMIT $6`, org, q.DeviceID, q.Metric, q.From.UTC(), q.To.UTC(), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r SensorReading
			if err := rows.Scan(&r.OrgID, &r.DeviceID, &r.Metric, &r.Time, &r.Value, &r.Unit, &r.Quality, &r.ReceivedAt); err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, err
}

// appendReading appends the canonical line of a reading that the batch
// digest covers: tab-separated fields, newline-terminated.
func appendReading(b []byte, r *SensorReading) []byte {
	b = append(b, r.DeviceID.String()...)
	b = append(b, '\t')
	b = append(b, r.Metric...)
	b = append(b, '\t')
	b = r.Time.AppendFormat(b, "2006-01-02T15:04:05.000000Z")
	b = append(b, '\t')
	b = append(b, r.Value.String()...)
	b = append(b, '\t')
	b = append(b, r.Unit...)
	b = append(b, '\t')
	b = strconv.AppendInt(b, int64(r.Quality), 10)
	return append(b, '\n')
}

// SensorReadingLast is the latest reading of one device's metric strictly
// before t; CodeNotFound when there is none. A register's last reading
// before an hour is the baseline of that hour's consumption.
func (s *Store) SensorReadingLast(ctx context.Context, org, device uuid.UUID, metric string, before time.Time) (SensorReading, error) {
	const op = "store: reading the last sensor reading"
	var r SensorReading
	err := s.tenantTx(ctx, op, org, true, func(tx driver.Querier) error {
		err := tx.QueryRow(ctx, `SELECT org_id, device_id, metric, ts, value, unit, quality, received_at
			FROM iot.sensor_readings WHERE org_id = $1 AND device_id = $2 AND metric = $3 AND ts < $4
			ORDER BY ts DESC LIMIT 1`, org, device, metric, before.UTC()).Scan(&r.OrgID, &r.DeviceID, &r.Metric, &r.Time, &r.Value, &r.Unit, &r.Quality, &r.ReceivedAt)
		if s.d.IsNoRows(err) {
			return errorf(CodeNotFound, op, "no %s reading of device %s before %s", metric, device, before.UTC().Format(time.RFC3339))
		}
		return err
	})
	return r, err
}

// ActivityOriginRefsStored reports which of refs are the origin_ref of an
// activity record of org with period_start in [from, to): how a producer
// of activity records with deterministic references (the IoT roll-up's
// iot:<device>:<metric>:<hour>) avoids storing one twice. The period
// bounds keep the query to the partitions concerned.
func (s *Store) ActivityOriginRefsStored(ctx context.Context, org uuid.UUID, from, to time.Time, refs []string) (map[string]bool, error) {
	out := map[string]bool{}
	err := s.tenantTx(ctx, "store: looking up activity records by origin reference", org, true, func(q driver.Querier) error {
		for start := 0; start < len(refs); start += 500 {
			chunk := refs[start:min(start+500, len(refs))]
			args := []any{org, from.UTC(), to.UTC()}
			for _, r := range chunk {
				args = append(args, r)
			}
			rows, err := q.Query(ctx, `SELECT origin_ref FROM emissions.activity_records
				WHERE org_id = $1 AND period_start >= $2 AND period_start < $3 AND origin_ref IN (`+placeholders(4, len(chunk))+`)`, args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var r string
				if err := rows.Scan(&r); err != nil {
					rows.Close()
					return err
				}
				out[r] = true
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}
