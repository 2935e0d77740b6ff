package builtin

import (
	"bytes"
	"os"
	"testing"

	"github.com/greenlang/greenlang/ghg"
	"github.com/greenlang/greenlang/internal/factors/builtin/derive"
)

const sources = "../../../../shared/data/factors"

// The committed table is exactly what the importers derive from the
// publications: regenerate it with cmd/factorgen when this fails.
func TestTableMatchesPublications(t *testing.T) {
	if _, err := os.Stat(sources); err != nil {
		t.Skipf("the publications are not beside the project (%v)", err)
	}
	var buf bytes.Buffer
	if err := derive.Write(&buf, sources, ghg.NewUnits()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), factorsCSV) {
		t.Fatal("internal/factors/builtin/factors.csv differs from what the publications give: run go run ./internal/factors/cmd/factorgen ../shared/data/factors > internal/factors/builtin/factors.csv")
	}
}

func TestBuiltinLoadsIntoALibrary(t *testing.T) {
	fs, err := Factors(ghg.NewUnits())
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) < 2500 {
		t.Fatalf("%d factors", len(fs))
	}
	regions, _ := ghg.NewRegions(map[string]string{"US": "", "UK": ""})
	if _, err := ghg.NewLibrary(regions, fs, nil); err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.Ref.Set == "" || f.Ref.SourceTable == "" || f.Ref.SourceRow == "" {
			t.Fatalf("factor %s does not cite its source: %+v", f.ID, f.Ref)
		}
	}
}
