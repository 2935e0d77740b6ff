package eea

import (
	"bytes"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/ghg"
	"github.com/greenlang/greenlang/internal/factors/table"
)

const published = "../../../../shared/data/factors/eea-co2-intensity-electricity-generation.csv"

func readPublished(t *testing.T) Release {
	t.Helper()
	f, err := os.Open(published)
	if err != nil {
		t.Skipf("the published file is not beside the project (%v)", err)
	}
	defer f.Close()
	rel, err := ReadRelease(f, ghg.NewUnits())
	if err != nil {
		t.Fatal(err)
	}
	return rel
}

func byID(fs []ghg.Factor) map[string]ghg.Factor {
	m := make(map[string]ghg.Factor, len(fs))
	for _, f := range fs {
		m[f.ID] = f
	}
	return m
}

func TestPublishedFile(t *testing.T) {
	rel := readPublished(t)
	if rel.Version != "2019" {
		t.Errorf("version %q, want 2019", rel.Version)
	}
	// 33 names × 30 years = 990 rows: 27 member states, IS and GB and the
	// EU-27 aggregate with a value every year, less Belgium 2004.
	if len(rel.Factors) != 899 {
		t.Errorf("%d factors, want 899", len(rel.Factors))
	}
	wantSkipped := map[string]int{
		"no value published: Norway": 30,
		"no value published: Turkey": 30,
		notRegions["EU-27 + UK"]:     30,
		"Belgium 2004: published -17.0 g CO2/kWh, negative, an error in the publication": 1,
	}
	if !reflect.DeepEqual(rel.Skipped, wantSkipped) {
		t.Errorf("skipped %v, want %v", rel.Skipped, wantSkipped)
	}

	fs := byID(rel.Factors)
	if len(fs) != len(rel.Factors) {
		t.Errorf("%d ids for %d factors", len(fs), len(rel.Factors))
	}
	perRegion := map[string]int{}
	for _, f := range rel.Factors {
		perRegion[f.Region]++
		checkFactor(t, f, rel.Version)
	}
	if len(perRegion) != 30 {
		t.Errorf("%d regions, want 30: %v", len(perRegion), perRegion)
	}
	for r, n := range perRegion {
		if want := 30 - map[string]int{"BE": 1}[r]; n != want {
			t.Errorf("%s: %d years, want %d", r, n, want)
		}
	}
	for _, r := range []string{"NO", "TR", "EL", "UK"} {
		if perRegion[r] != 0 {
			t.Errorf("region %s has factors", r)
		}
	}

	for id, want := range map[string]string{
		"eea-2019-at-1990": "0.233",
		"eea-2019-be-2003": "0.178",
		"eea-2019-mt-1990": "1.605",
		"eea-2019-de-2018": "0.404",
		"eea-2019-de-2019": "0.344",
		"eea-2019-gr-2019": "0.606",
		"eea-2019-fr-2019": "0.056",
		"eea-2019-pl-2019": "0.744",
		"eea-2019-se-2019": "0.01",
		"eea-2019-is-2019": "0",
		"eea-2019-gb-2019": "0.225",
		"eea-2019-eu-2019": "0.253",
	} {
		f, ok := fs[id]
		if !ok {
			t.Errorf("no factor %s", id)
			continue
		}
		if got := f.KgPerUnit["CO2"]; got.String() != want || !got.Equal(decimal.RequireFromString(want)) {
			t.Errorf("%s: %s kg CO2/kWh, want %s", id, got, want)
		}
	}
	if _, ok := fs["eea-2019-be-2004"]; ok {
		t.Error("Belgium 2004 (published -17.0) was imported")
	}

	at := fs["eea-2019-at-1990"]
	wantRef := ghg.FactorRef{Set: "EEA CO2 intensity of electricity generation", Version: "2019",
		SourceTable: "CO2 intensity of electricity generation (g CO2/kWh)", SourceRow: "Austria 1990 (line 2)", Edition: 1990}
	if at.Ref != wantRef || at.Region != "AT" || at.ActivityType != "electricity" || at.Per.Symbol != "kWh" {
		t.Errorf("Austria 1990: %+v", at)
	}
	for id, row := range map[string]string{"eea-2019-gr-2019": "Greece 2019 (line 972)", "eea-2019-eu-2019": "EU-27 2019 (line 966)"} {
		if got := fs[id].Ref.SourceRow; got != row {
			t.Errorf("%s: source row %q, want %q", id, got, row)
		}
	}
}

// checkFactor asserts what every imported factor must be.
func checkFactor(t *testing.T, f ghg.Factor, version string) {
	t.Helper()
	y := f.Ref.Edition
	ok := f.ActivityType == "electricity" && f.Per.Symbol == "kWh" && f.Per.Dim == ghg.Energy &&
		f.Ref.Set == SetName && f.Ref.SourceTable == SourceTable && f.Ref.Version == version &&
		y >= 1900 && y <= 2100 && strconv.Itoa(y) <= version && len(version) == 4 &&
		f.ValidFrom.Equal(time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)) && f.ValidTo.IsZero() &&
		len(f.KgPerUnit) == 1 && !f.KgPerUnit["CO2"].IsNegative() && f.HeatContent == nil && f.PerBasis == "" &&
		f.ID == "eea-"+version+"-"+strings.ToLower(f.Region)+"-"+f.ValidFrom.Format("2006") &&
		strings.Contains(f.Ref.SourceRow, " "+f.ValidFrom.Format("2006")+" (line ")
	if _, has := f.KgPerUnit["CO2"]; !ok || !has {
		t.Fatalf("malformed factor %+v", f)
	}
	known := false
	for _, code := range regions {
		known = known || code == f.Region
	}
	if !known {
		t.Fatalf("factor %s: region %q", f.ID, f.Region)
	}
}

func TestSelection(t *testing.T) {
	rel := readPublished(t)
	reg, err := ghg.NewRegions(map[string]string{"GB": "UK"}) // as calculation.DefaultRegions
	if err != nil {
		t.Fatal(err)
	}
	lib, err := ghg.NewLibrary(reg, rel.Factors, nil)
	if err != nil {
		t.Fatal(err)
	}
	day := func(s string) time.Time {
		d, err := time.Parse("2006-01-02", s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, tc := range []struct {
		region, date       string
		pinned             int
		id, value, trailOf string
	}{
		{"DE", "2018-06-15", 0, "eea-2019-de-2018", "0.404", `DE: "eea-2019-de-2018" from EEA CO2 intensity of electricity generation 2019, CO2 intensity of electricity generation (g CO2/kWh), Germany 2018 (line 938) (edition 2018 of 29 candidates' latest)`},
		{"DE", "2024-03-01", 0, "eea-2019-de-2019", "0.344", `DE: "eea-2019-de-2019" from EEA CO2 intensity of electricity generation 2019, CO2 intensity of electricity generation (g CO2/kWh), Germany 2019 (line 971) (edition 2019 of 30 candidates' latest)`},
		{"AT", "1990-01-01", 0, "eea-2019-at-1990", "0.233", `AT: "eea-2019-at-1990"`},
		{"GR", "2019-12-31", 0, "eea-2019-gr-2019", "0.606", `GR: "eea-2019-gr-2019"`},
		{"EU", "2024-03-01", 0, "eea-2019-eu-2019", "0.253", `EU: "eea-2019-eu-2019"`},
		{"GB", "2024-03-01", 0, "eea-2019-gb-2019", "0.225", `GB: "eea-2019-gb-2019"`},
		// Belgium 2004 was left out: its activity falls back to 2003.
		{"BE", "2004-07-01", 0, "eea-2019-be-2003", "0.178", `BE: "eea-2019-be-2003"`},
		// A pinned edition is used even for a later activity.
		{"FR", "2024-03-01", 2015, "eea-2019-fr-2015", "", `FR: "eea-2019-fr-2015"`},
	} {
		q := ghg.Query{ActivityType: "electricity", Region: tc.region, Date: day(tc.date), Dim: ghg.Energy, Unit: "kWh"}
		if tc.pinned != 0 {
			q.PinnedSet, q.PinnedEdition = SetName, tc.pinned
		}
		sel, err := lib.Select(q)
		if err != nil {
			t.Errorf("%s %s: %v", tc.region, tc.date, err)
			continue
		}
		if sel.Factor.ID != tc.id || (tc.value != "" && sel.Factor.KgPerUnit["CO2"].String() != tc.value) {
			t.Errorf("%s %s: %s %v, want %s %s", tc.region, tc.date, sel.Factor.ID, sel.Factor.KgPerUnit, tc.id, tc.value)
		}
		if len(sel.Trail) != 1 || !strings.HasPrefix(sel.Trail[0], tc.trailOf) {
			t.Errorf("%s %s: trail %q, want one step starting %q", tc.region, tc.date, sel.Trail, tc.trailOf)
		}
	}
	// Nothing before the first year, nothing for the countries without
	// values, and Eurostat's code for Greece is not a region.
	for _, tc := range []struct{ region, date string }{{"DE", "1989-12-31"}, {"NO", "2019-06-01"}, {"TR", "2019-06-01"}, {"EL", "2019-06-01"}} {
		if sel, err := lib.Select(ghg.Query{ActivityType: "electricity", Region: tc.region, Date: day(tc.date)}); err == nil {
			t.Errorf("%s %s: selected %s", tc.region, tc.date, sel.Factor.ID)
		}
	}
}

// TestLocationBased calculates through the engine: the factor is CO2 only,
// so the result is the CO2 as published, at GWP 1.
func TestLocationBased(t *testing.T) {
	rel := readPublished(t)
	gwps, err := ghg.LoadGWPSets()
	if err != nil {
		t.Fatal(err)
	}
	ar6, err := gwps.Set(ghg.AR6)
	if err != nil {
		t.Fatal(err)
	}
	calc := ghg.NewCalculator(ghg.AR6, ar6)
	units := ghg.NewUnits()
	a := ghg.Activity{ID: "site-1", Type: "electricity", Region: "DE",
		Quantity:    ghg.Quantity{Value: decimal.RequireFromString("1.5"), Unit: units.MustParse("MWh")},
		PeriodStart: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), PeriodEnd: time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC)}
	res, err := calc.ActivityFactor(a, byID(rel.Factors)["eea-2019-de-2019"], 2, 0, ghg.MethodScope2Location)
	if err != nil {
		t.Fatal(err)
	}
	if res.CO2eKg.String() != "516" || len(res.KgByGas) != 1 || res.KgByGas["CO2"].String() != "516" {
		t.Errorf("1.5 MWh at 0.344 kg CO2/kWh: %s kg CO2e, by gas %v", res.CO2eKg, res.KgByGas)
	}
}

// TestTableRoundTrip: the factors survive the project's table format, which
// `factors import --out` and the built-in library use.
func TestTableRoundTrip(t *testing.T) {
	rel := readPublished(t)
	var buf bytes.Buffer
	if err := table.Write(&buf, rel.Factors); err != nil {
		t.Fatal(err)
	}
	back, err := table.Read(&buf, ghg.NewUnits())
	if err != nil {
		t.Fatal(err)
	}
	want := byID(rel.Factors)
	if len(back) != len(want) {
		t.Fatalf("%d factors back, want %d", len(back), len(want))
	}
	for _, f := range back {
		w := want[f.ID]
		if f.Ref != w.Ref || f.Region != w.Region || f.ActivityType != w.ActivityType || f.Per.Symbol != w.Per.Symbol ||
			!f.ValidFrom.Equal(w.ValidFrom) || !f.ValidTo.IsZero() || !f.KgPerUnit["CO2"].Equal(w.KgPerUnit["CO2"]) || len(f.KgPerUnit) != 1 {
			t.Fatalf("%s: %+v, want %+v", f.ID, f, w)
		}
	}
}

const hdr = "date:number,ugeo:text,index:number\r\n"

func TestSmallFiles(t *testing.T) {
	in := "\ufeff" + hdr + "1990,Austria,233.0\r\n1990,Greece,100\r\n1991,Norway,None\r\n1991,Turkey,\r\n" +
		"1991,EU-27 + UK,524.0\r\n2004,Belgium,-17.0\r\n 2000 , EU-27 , 394.0 \r\n"
	rel, err := ReadRelease(strings.NewReader(in), ghg.NewUnits())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range rel.Factors {
		got = append(got, f.ID+"="+f.KgPerUnit["CO2"].String()+" "+f.Ref.SourceRow)
	}
	want := []string{"eea-2004-at-1990=0.233 Austria 1990 (line 2)", "eea-2004-gr-1990=0.1 Greece 1990 (line 3)", "eea-2004-eu-2000=0.394 EU-27 2000 (line 8)"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("factors %q, want %q", got, want)
	}
	if rel.Version != "2004" || len(rel.Skipped) != 4 || rel.Skipped["no value published: Turkey"] != 1 || rel.Skipped[notRegions["EU-27 + UK"]] != 1 {
		t.Errorf("version %s, skipped %v", rel.Version, rel.Skipped)
	}
	if fs, err := Read(strings.NewReader(in), ghg.NewUnits()); err != nil || len(fs) != 3 {
		t.Errorf("Read: %d factors, %v", len(fs), err)
	}
}

func TestRefusals(t *testing.T) {
	good := hdr + "1990,Austria,233.0\r\n"
	for name, tc := range map[string]struct{ in, want string }{
		"empty file":           {"", "line 1, column date:number: empty file"},
		"only blank lines":     {"\r\n\r\n", "line 1, column date:number: empty file"},
		"header only":          {hdr, "line 2: no data rows"},
		"other header":         {"year,country,value\n1990,Austria,233.0\n", `line 1, column 1: header is "year"`},
		"header third column":  {"date:number,ugeo:text,value:number\n1990,Austria,233.0\n", "line 1, column 3"},
		"header two columns":   {"date:number,ugeo:text\n1990,Austria\n", "line 1: header has 2 columns"},
		"unknown country":      {good + "1990,Atlantis,1.0\r\n", `line 3, column ugeo:text: "Atlantis" is not a country`},
		"Eurostat code":        {good + "1990,EL,1.0\r\n", `line 3, column ugeo:text: "EL"`},
		"lower case":           {good + "1990,austria,1.0\r\n", `line 3, column ugeo:text: "austria"`},
		"text value":           {good + "1991,Austria,n/a\r\n", `line 3, column index:number: "n/a" is not a number`},
		"exponent value":       {good + "1991,Austria,2e2\r\n", `line 3, column index:number: "2e2" is not a number`},
		"nan":                  {good + "1991,Austria,NaN\r\n", `line 3, column index:number: "NaN"`},
		"negative":             {good + "1991,Austria,-1.0\r\n", "line 3, column index:number: -1.0 g CO2/kWh for Austria 1991 is negative"},
		"other Belgian value":  {good + "2004,Belgium,-16.0\r\n", "line 3, column index:number: -16.0 g CO2/kWh for Belgium 2004 is negative"},
		"negative in 2005":     {good + "2005,Belgium,-17.0\r\n", "line 3, column index:number"},
		"negative aggregate":   {good + "2005,EU-27 + UK,-1\r\n", "line 3, column index:number"},
		"duplicate":            {good + "1991,Austria,1.0\r\n1990,Austria,2.0\r\n", "line 4, column date:number: Austria 1990 is also on line 2"},
		"duplicate None":       {good + "1990,Norway,None\r\n1990,Norway,None\r\n", "line 4, column date:number: Norway 1990 is also on line 3"},
		"year before 1900":     {good + "1899,Austria,1.0\r\n", "line 3, column date:number: year 1899 is outside 1900-2100"},
		"year after 2100":      {good + "2101,Austria,1.0\r\n", "line 3, column date:number: year 2101 is outside 1900-2100"},
		"year not a number":    {good + "19x0,Austria,1.0\r\n", `line 3, column date:number: "19x0" is not a year`},
		"decimal year":         {good + "1990.0,Austria,1.0\r\n", `line 3, column date:number: "1990.0" is not a year`},
		"empty year":           {good + ",Austria,1.0\r\n", `line 3, column date:number: "" is not a year`},
		"too few columns":      {good + "1991,Austria\r\n", "line 3: 2 columns, want 3"},
		"too many columns":     {good + "1991,Austria,1.0,x\r\n", "line 3: 4 columns, want 3"},
		"bad quoting":          {good + "1991,\"Austria,1.0\r\n", "eea: "},
		"no values at all":     {hdr + "1990,Norway,None\r\n1990,EU-27 + UK,524.0\r\n", "no factor values in 2 data rows"},
		"error after good row": {good + "1991,Austria,1.0\r\n1992,Austria,x\r\n", "line 4, column index:number"},
	} {
		fs, err := Read(strings.NewReader(tc.in), ghg.NewUnits())
		if err == nil || !strings.Contains(err.Error(), tc.want) || fs != nil {
			t.Errorf("%s: got %d factors, %v; want error %q", name, len(fs), err, tc.want)
		}
	}
	if _, err := Read(strings.NewReader(good), nil); err == nil {
		t.Error("no unit catalogue: accepted")
	}
}

func FuzzRead(f *testing.F) {
	if b, err := os.ReadFile(published); err == nil {
		lines := strings.SplitAfter(string(b), "\n")
		f.Add(strings.Join(lines[:min(len(lines), 40)], ""))
		f.Add(strings.Join(lines[:min(len(lines), 3)], "") + strings.Join(lines[min(len(lines), 460):min(len(lines), 470)], ""))
	}
	f.Add(hdr + "1990,Austria,233.0\r\n1990,Norway,None\r\n2004,Belgium,-17.0\r\n2019,EU-27,253.0\r\n2019,EU-27 + UK,250.0\r\n")
	f.Add(hdr + "1990,Austria,233.0\r\n1990,Austria,233.0\r\n")
	f.Add(hdr + "1990,Atlantis,1\r\n")
	f.Add(hdr + "2101,Greece,-1\r\n")
	f.Add(hdr + "1990,Greece,\r\n1990,Iceland,0.0\r\n")
	f.Add("")
	units := ghg.NewUnits()
	reg, _ := ghg.NewRegions(nil)
	f.Fuzz(func(t *testing.T, in string) {
		rel, err := ReadRelease(strings.NewReader(in), units)
		if err != nil {
			if rel.Factors != nil {
				t.Fatalf("error %v with %d factors", err, len(rel.Factors))
			}
			return
		}
		if len(rel.Factors) == 0 {
			t.Fatal("no error and no factors")
		}
		ids := map[string]bool{}
		for _, x := range rel.Factors {
			checkFactor(t, x, rel.Version)
			if ids[x.ID] {
				t.Fatalf("id %s twice", x.ID)
			}
			ids[x.ID] = true
		}
		if _, err := ghg.NewLibrary(reg, rel.Factors, nil); err != nil {
			t.Fatalf("library refuses the factors: %v", err)
		}
	})
}
