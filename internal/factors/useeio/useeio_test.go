package useeio

import (
	"os"
	"strings"
	"testing"
)

func TestPublishedFile(t *testing.T) {
	f, err := os.Open("../../../../shared/data/factors/useeio-v1.2-supply-chain-factors-naics-2017-usd2021.csv")
	if err != nil {
		t.Skipf("the published file is not beside the project (%v)", err)
	}
	defer f.Close()
	fs, err := Read(f, "v1.2")
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) < 1000 {
		t.Fatalf("%d factors", len(fs))
	}
	want := map[string]string{"naics:331110": "0.979", "naics:541511": "0.097", "naics:327310": "3.858"}
	for _, f := range fs {
		if w, ok := want[f.ActivityType]; ok {
			if f.KgPerUnit["CO2e"].String() != w || f.PriceYear != 2021 || f.Per.Symbol != "USD" {
				t.Errorf("%s: %v (price year %d)", f.ActivityType, f.KgPerUnit, f.PriceYear)
			}
			delete(want, f.ActivityType)
		}
	}
	if len(want) != 0 {
		t.Errorf("missing %v", want)
	}
}

const good = "2017 NAICS Code,2017 NAICS Title,GHG,Unit,Supply Chain Emission Factors without Margins,Margins of Supply Chain Emission Factors,Supply Chain Emission Factors with Margins,Reference USEEIO Code\n" +
	"331110,Iron and Steel Mills,All GHGs,\"kg CO2e/2021 USD, purchaser price\",0.945,0.033,0.979,331110\n"

func TestRefusals(t *testing.T) {
	if fs, err := Read(strings.NewReader(good), "v1.2"); err != nil || len(fs) != 1 {
		t.Fatalf("good file: %v %v", fs, err)
	}
	row := "331110,Iron and Steel Mills,All GHGs,\"kg CO2e/2021 USD, purchaser price\",0.945,0.033,0.979,331110\n"
	for name, tc := range map[string]struct{ in, want string }{
		"other layout": {"a,b,c,d,e,f,g,h\n" + row, "header column 1"},
		"bad code":     {good + strings.Replace(row, "331110,", "33111,", 1), "line 3, column 2017 NAICS Code"},
		"duplicate":    {good + row, "lines 2 and 3"},
		"bad value":    {good + "331111,x,All GHGs,\"kg CO2e/2021 USD, purchaser price\",1,1,n/a,1\n", "line 3, column Supply Chain Emission Factors with Margins"},
		"other unit":   {good + "331111,x,All GHGs,kg CO2e/EUR,1,1,1,1\n", "column Unit"},
		"empty":        {good[:strings.Index(good, "\n")+1], "no factor rows"},
	} {
		_, err := Read(strings.NewReader(tc.in), "v1.2")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", name, err, tc.want)
		}
	}
}

func FuzzRead(f *testing.F) {
	f.Add(good)
	f.Fuzz(func(t *testing.T, in string) {
		fs, err := Read(strings.NewReader(in), "v")
		if err != nil {
			return
		}
		for _, x := range fs {
			if x.PriceYear == 0 || x.KgPerUnit["CO2e"].IsNegative() {
				t.Fatalf("bad factor %+v", x)
			}
		}
	})
}
