// Package derive turns the official publications into the built-in factor
// table with the project's importers; cmd/factorgen and the drift test use it.
package derive

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/greenlang/greenlang/ghg"
	"github.com/greenlang/greenlang/internal/factors/desnz"
	"github.com/greenlang/greenlang/internal/factors/eea"
	"github.com/greenlang/greenlang/internal/factors/epahub"
	"github.com/greenlang/greenlang/internal/factors/table"
	"github.com/greenlang/greenlang/internal/factors/useeio"
)

// Sources are the publications the table is derived from, in dir.
func Sources() []string {
	return []string{"epa-ghg-emission-factors-hub-2024.xlsx", "epa-ghg-emission-factors-hub-2025.xlsx",
		"desnz-ghg-conversion-factors-2024-flat-format-v1.1.xlsx", "useeio-v1.2-supply-chain-factors-naics-2017-usd2021.csv",
		"eea-co2-intensity-electricity-generation.csv"}
}

// Factors imports every source in dir.
func Factors(dir string, units *ghg.Units) ([]ghg.Factor, error) {
	var all []ghg.Factor
	for _, name := range Sources() {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		var fs []ghg.Factor
		switch filepath.Ext(name) {
		case ".xlsx":
			if strings.HasPrefix(name, "epa-") {
				var ed epahub.Edition
				ed, err = epahub.Read(f, units)
				fs = ed.Factors
			} else {
				var ed desnz.Edition
				ed, err = desnz.Read(f, units)
				fs = ed.Factors
			}
		default:
			if strings.HasPrefix(name, "eea-") {
				fs, err = eea.Read(f, units)
			} else {
				fs, err = useeio.Read(f, "v1.2")
			}
		}
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		all = append(all, fs...)
	}
	return all, nil
}

// Write writes the derived table.
func Write(w io.Writer, dir string, units *ghg.Units) error {
	fs, err := Factors(dir, units)
	if err != nil {
		return err
	}
	return table.Write(w, fs)
}
