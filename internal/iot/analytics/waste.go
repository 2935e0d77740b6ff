package analytics

import (
	"fmt"

	"github.com/shopspring/decimal"
)

// DefaultCollectionThresholdPct is the fill level at or above which a bin
// needs collection when WasteConfig leaves it unset.
const DefaultCollectionThresholdPct = 80

// WasteConfig configures the waste bin analytic.
type WasteConfig struct {
	// CollectionThresholdPct is the fill level (%) at or above which a bin
	// needs collection. Default DefaultCollectionThresholdPct (80).
	CollectionThresholdPct decimal.Decimal
}

// WithDefaults returns c with unset fields set to their defaults.
func (c WasteConfig) WithDefaults() WasteConfig {
	if c.CollectionThresholdPct.IsZero() {
		c.CollectionThresholdPct = decimal.NewFromInt(DefaultCollectionThresholdPct)
	}
	return c
}

// Validate reports a threshold outside (0, 100].
func (c WasteConfig) Validate() error {
	if !c.CollectionThresholdPct.IsPositive() || c.CollectionThresholdPct.GreaterThan(decimal.NewFromInt(100)) {
		return fmt.Errorf("analytics: waste config: collection threshold %s %% is outside (0, 100]: %w", c.CollectionThresholdPct, ErrInvalidInput)
	}
	return nil
}

// BinStatus is the state of a waste bin from one fill_level_pct reading.
type BinStatus struct {
	FillLevelPct decimal.Decimal
	// NeedsCollection is true when the fill level is at or above the
	// configured threshold.
	NeedsCollection bool
}

// BinFill judges one fill_level_pct reading. A fill level outside
// [0, 100] % is not a valid reading and is an error (a sensor reporting
// an overfull bin as 103 % must be clamped by its decoder, knowingly).
// cfg is taken WithDefaults.
func BinFill(fillPct decimal.Decimal, cfg WasteConfig) (BinStatus, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return BinStatus{}, err
	}
	if fillPct.IsNegative() || fillPct.GreaterThan(decimal.NewFromInt(100)) {
		return BinStatus{}, fmt.Errorf("analytics: waste bin: fill level %s %% is outside [0, 100]: %w", fillPct, ErrInvalidInput)
	}
	return BinStatus{
		FillLevelPct:    fillPct,
		NeedsCollection: fillPct.GreaterThanOrEqual(cfg.CollectionThresholdPct),
	}, nil
}
