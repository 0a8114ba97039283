package co2

import (
	"regexp"
	"testing"
)

func TestEmbeddedCategories(t *testing.T) {
	cs := Categories()
	if len(cs) < 20 {
		t.Fatalf("%d categories, want the whole factor set", len(cs))
	}
	id := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	for _, c := range cs {
		if !id.MatchString(c.ID) {
			t.Errorf("category id %q is not a code", c.ID)
		}
		if c.Source == "" || c.Quality == "" || c.LowKg > c.CentralKg || c.CentralKg > c.HighKg {
			t.Errorf("%s: incomplete or inconsistent row %+v", c.ID, c)
		}
	}
	laptop, ok := CategoryByID("laptop")
	if !ok || laptop.CentralKg != 182.3 || laptop.TypicalWeightKg != 2 || laptop.RefLifeYears != 5 {
		t.Fatalf("laptop = %+v, %v", laptop, ok)
	}
	if _, ok := CategoryByID("Laptop"); ok {
		t.Fatal("ids are exact")
	}
	cs[0].ID = "changed"
	if Categories()[0].ID == "changed" {
		t.Fatal("Categories exposes its backing array")
	}
}

func TestParseFactorsRefusesBadFiles(t *testing.T) {
	head := "category,central_kg,low_kg,high_kg,ref_life_years,second_life_years,base_refurb_kg,typical_weight_kg,quality,source\n"
	for name, body := range map[string]string{
		"empty":      "",
		"no rows":    head,
		"bad header": "cat,central_kg\nlaptop,1\n",
		"not number": head + "laptop,x,1,1,5,3,3,2,A,s\n",
		"repeated":   head + "laptop,1,1,1,5,3,3,2,A,s\nlaptop,1,1,1,5,3,3,2,A,s\n",
		"no weight":  head + "laptop,1,1,1,5,3,3,0,A,s\n",
	} {
		if _, err := parseFactors([]byte(body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
