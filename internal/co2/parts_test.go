package co2

import (
	"regexp"
	"testing"
)

func TestEmbeddedParts(t *testing.T) {
	ps := Parts()
	if len(ps) != 15 {
		t.Fatalf("%d part kinds, want the 14 of the file and other", len(ps))
	}
	id := regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`) // the database's check on part kinds
	for _, p := range ps {
		if !id.MatchString(p.ID) || p.Source == "" {
			t.Errorf("part %+v: bad id or no source", p)
		}
		if (p.KgNew > 0) == (p.ID == OtherPart) {
			t.Errorf("part %s: %v kg", p.ID, p.KgNew)
		}
	}
	if ps[len(ps)-1].ID != OtherPart {
		t.Errorf("other is not last: %v", ps[len(ps)-1])
	}
	for id, kg := range map[string]float64{"ssd_256gb": 17.7, "hdd": 31.1, "laptop_battery": 8, "laptop_charger": 3.65, "other": 0} {
		if p, ok := PartByID(id); !ok || p.KgNew != kg {
			t.Errorf("%s = %+v, %v; want %v kg", id, p, ok, kg)
		}
	}
	if _, ok := PartByID("SSD_256GB"); ok {
		t.Fatal("ids are exact")
	}
	ps[0].ID = "changed"
	if Parts()[0].ID == "changed" {
		t.Fatal("Parts exposes its backing array")
	}
}

func TestParsePartsRefusesBadFiles(t *testing.T) {
	head := "part,kg_new,source\n"
	for name, body := range map[string]string{
		"empty":      "",
		"no rows":    head,
		"bad header": "kind,kg_new,source\nhdd,1,s\n",
		"not number": head + "hdd,x,s\n",
		"zero":       head + "hdd,0,s\n",
		"repeated":   head + "hdd,1,s\nhdd,2,s\n",
		"reserved":   head + "other,1,s\n",
		"no source":  head + "hdd,1,\n",
		"short row":  head + "hdd,1\n",
	} {
		if _, err := parseParts([]byte(body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
