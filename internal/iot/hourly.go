package iot

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/iot/analytics"
	"github.com/greenlang/greenlang/internal/store"
)

// EachReading calls fn for each stored reading of one device's metric in
// [from, to), in time order, a page at a time (so any span can be read
// without holding it in memory).
func EachReading(ctx context.Context, st *store.Store, org, device uuid.UUID, metric string, from, to time.Time, fn func(store.SensorReading) error) error {
	const page = 10000
	for {
		rs, err := st.SensorReadings(ctx, org, store.SensorReadingsQuery{DeviceID: device, Metric: metric, From: from, To: to, Limit: page})
		if err != nil {
			return err
		}
		for _, r := range rs {
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(rs) < page {
			return nil
		}
		from = rs[len(rs)-1].Time.Add(time.Microsecond)
	}
}

// HourlyAggregates are one device's metric's hourly minimum, maximum, mean
// and count over [from, to), computed from the stored readings in exact
// decimals (analytics.HourlyAccumulator), the same on both store drivers.
// Hours without readings are absent.
func HourlyAggregates(ctx context.Context, st *store.Store, org, device uuid.UUID, metric string, from, to time.Time) ([]analytics.HourlyAggregate, error) {
	acc := analytics.NewHourlyAccumulator()
	err := EachReading(ctx, st, org, device, metric, from, to, func(r store.SensorReading) error {
		acc.Add(analytics.Reading{Device: device.String(), Metric: metric, Value: r.Value, Time: r.Time})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return acc.Snapshot(), nil
}
