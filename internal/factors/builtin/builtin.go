// Package builtin is the factor library shipped in the binary: factors.csv,
// derived by cmd/factorgen with the project's own importers from the official
// publications (EPA GHG Emission Factors Hub 2024 and 2025 Tables 1-10, DESNZ
// 2024 flat file, USEEIO v1.2, EEA CO2 intensity of electricity 1990-2019),
// each row citing its publication, table and row. The publications
// themselves are not shipped.
package builtin

import (
	"bytes"
	_ "embed"

	"github.com/greenlang/greenlang/ghg"
	"github.com/greenlang/greenlang/internal/factors/table"
)

//go:embed factors.csv
var factorsCSV []byte

// Factors parses the built-in table.
func Factors(units *ghg.Units) ([]ghg.Factor, error) {
	return table.Read(bytes.NewReader(factorsCSV), units)
}
