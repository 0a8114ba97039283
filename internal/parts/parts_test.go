package parts

import (
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/co2"
	"github.com/berriz/berriz/internal/device"
	"github.com/berriz/berriz/internal/lifecycle"
)

func TestKindsAndKeys(t *testing.T) {
	kinds := Kinds()
	if len(kinds) != len(co2.Parts()) || kinds[len(kinds)-1] != co2.OtherPart {
		t.Fatalf("kinds %v", kinds)
	}
	for _, k := range kinds {
		if KindKey(k) != "parts.kind."+k {
			t.Errorf("%s: key %q", k, KindKey(k))
		}
	}
	if len(kindKeys) != len(kinds) || KindKey("nope") != "" || ValidKind("nope") || !ValidKind("other") {
		t.Error("keys or kinds beyond the factor set")
	}
	for _, k := range append(RecordedKinds, WorkPart) {
		if k.Key() != "parts.work."+string(k) {
			t.Errorf("%s: key %q", k, k.Key())
		}
	}
	for _, s := range StockStates {
		if !s.Valid() || s.Key() != "parts.stock_state."+string(s) {
			t.Errorf("%s: key %q", s, s.Key())
		}
	}
	if StockState("lost").Valid() || New.Key() != "parts.condition.new" || SecondHand.Key() != "parts.condition.second_hand" {
		t.Error("states or conditions")
	}
	for kind := range driveKinds {
		if !ValidKind(kind) || !DriveKind(kind) {
			t.Errorf("drive kind %s is not a part kind", kind)
		}
	}
	if DriveKind("ram_8gb") || DriveKind(co2.OtherPart) {
		t.Error("RAM or other are not always drives")
	}
}

func TestStorageKindFor(t *testing.T) {
	for _, tt := range []struct {
		t    device.DriveType
		gb   int
		want string
	}{
		{device.HDD, 500, "hdd"}, {device.HDD, 4000, "hdd"}, {device.SSD, 120, "ssd_256gb"}, {device.NVMe, 256, "ssd_256gb"},
		{device.SSD, 480, "ssd_512gb"}, {device.NVMe, 1024, "ssd_1tb"}, {device.SSD, 2000, "other"},
		{device.EMMC, 64, "other"}, {device.Other, 32, "other"},
	} {
		if got := StorageKindFor(tt.t, tt.gb); got != tt.want || !ValidKind(got) {
			t.Errorf("%s %d GB: %s, want %s", tt.t, tt.gb, got, tt.want)
		}
	}
}

func TestStates(t *testing.T) {
	allowed := map[lifecycle.State]bool{"received": true, "diagnosed": true, "wiped": true, "refurbished": true, "returned": true}
	frozen := map[lifecycle.State]bool{"wiped": true, "refurbished": true, "available": true, "reserved": true,
		"delivered": true, "recycled": true, "dismantled": true}
	for _, s := range lifecycle.States {
		if WorkAllowed(s) != allowed[s] {
			t.Errorf("work in %s: %v", s, WorkAllowed(s))
		}
		if DrivesFrozen(s) != frozen[s] {
			t.Errorf("drives frozen in %s: %v", s, DrivesFrozen(s))
		}
	}
	err := ErrWorkState(lifecycle.Available)
	if e := berriz.As(err); e.Kind != berriz.Conflict || e.Message != "parts.error.work_state" ||
		e.KeyArgs["state"] != "donation.device_state.available" || e.Details["state"] != "available" {
		t.Fatalf("%+v", e)
	}
}

func wantFields(t *testing.T, what string, got berriz.FieldErrors, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: fields %v, want %v", what, got, want)
		return
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s = %q, want %q (all: %v)", what, k, got[k], v, got)
		}
	}
}

func TestWorkCheck(t *testing.T) {
	w, fe := Work{Kind: WorkRepair, Description: "  Charnière remplacée\r\nvis resserrées ", Minutes: 35}.Check()
	if fe != nil || w.Description != "Charnière remplacée\nvis resserrées" || w.Minutes != 35 {
		t.Fatalf("%+v %v", w, fe)
	}
	w, fe = Work{Kind: WorkOSInstall, OS: " Debian 13 ", Minutes: 20}.Check()
	if fe != nil || w.OS != "Debian 13" || w.Description != "Debian 13" {
		t.Fatalf("os install: %+v %v", w, fe)
	}
	long := strings.Repeat("é", MaxWorkDescription)
	if _, fe := (Work{Kind: WorkCleaning, Description: long, Minutes: MaxMinutes}).Check(); fe != nil {
		t.Fatalf("limits refused: %v", fe)
	}
	for name, tt := range map[string]struct {
		w    Work
		want map[string]string
	}{
		"no kind":        {Work{Description: "x"}, map[string]string{"kind": "parts.error.work_kind"}},
		"part directly":  {Work{Kind: WorkPart, Description: "x"}, map[string]string{"kind": "parts.error.work_kind"}},
		"empty":          {Work{Kind: WorkRepair, Description: "  "}, map[string]string{"description": "parts.error.description"}},
		"too long":       {Work{Kind: WorkRepair, Description: long + "x"}, map[string]string{"description": "parts.error.description"}},
		"control":        {Work{Kind: WorkRepair, Description: "a\x00b"}, map[string]string{"description": "error.invalid_text"}},
		"bad utf8":       {Work{Kind: WorkRepair, Description: "a\xffb"}, map[string]string{"description": "error.invalid_text"}},
		"minutes":        {Work{Kind: WorkRepair, Description: "x", Minutes: -1}, map[string]string{"minutes": "parts.error.minutes"}},
		"minutes high":   {Work{Kind: WorkRepair, Description: "x", Minutes: MaxMinutes + 1}, map[string]string{"minutes": "parts.error.minutes"}},
		"no OS":          {Work{Kind: WorkOSInstall, Description: "x"}, map[string]string{"os": "parts.error.os"}},
		"OS two lines":   {Work{Kind: WorkOSInstall, OS: "a\nb"}, map[string]string{"os": "error.invalid_text", "description": "parts.error.description"}},
		"OS on a repair": {Work{Kind: WorkRepair, Description: "x", OS: "Debian"}, map[string]string{"os": "parts.error.os_only_install"}},
	} {
		_, fe := tt.w.Check()
		wantFields(t, name, fe, tt.want)
	}
}

func TestParseWhole(t *testing.T) {
	for in, want := range map[string]int{"": 0, " 15 ": 15, "10000": 10000} {
		f := berriz.FieldErrors{}
		if got := ParseMinutes(f, "minutes", in); got != want || len(f) != 0 {
			t.Errorf("%q: %d %v", in, got, f)
		}
	}
	for _, in := range []string{"-1", "10001", "1.5", "dix", "1e3", strings.Repeat("1", 30)} {
		f := berriz.FieldErrors{}
		ParseMinutes(f, "minutes", in)
		if f["minutes"] != "parts.error.minutes" {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestNewPartCheck(t *testing.T) {
	p, fe := NewPart{Kind: "ssd_256gb", Description: " Samsung 870 EVO ", Serial: " S6PT "}.Check()
	if fe != nil || p.DriveType != device.SSD || p.CapacityGB != 256 || p.Serial != "S6PT" || p.Description != "Samsung 870 EVO" || !p.Storage() {
		t.Fatalf("defaults: %+v %v", p, fe)
	}
	p, fe = NewPart{Kind: "ssd_1tb", DriveType: device.NVMe, CapacityGB: 960}.Check()
	if fe != nil || p.DriveType != device.NVMe || p.CapacityGB != 960 {
		t.Fatalf("given: %+v %v", p, fe)
	}
	p, fe = NewPart{Kind: "other", DriveType: device.EMMC, CapacityGB: 64}.Check()
	if fe != nil || !p.Storage() {
		t.Fatalf("other storage: %+v %v", p, fe)
	}
	p, fe = NewPart{Kind: "laptop_battery", Description: "6 cellules"}.Check()
	if fe != nil || p.Storage() || p.DriveType != "" {
		t.Fatalf("battery: %+v %v", p, fe)
	}
	for name, tt := range map[string]struct {
		p    NewPart
		want map[string]string
	}{
		"no kind":        {NewPart{}, map[string]string{"kind": "parts.error.kind"}},
		"unknown":        {NewPart{Kind: "gpu"}, map[string]string{"kind": "parts.error.kind"}},
		"hdd capacity":   {NewPart{Kind: "hdd"}, map[string]string{"capacity_gb": "parts.error.capacity"}},
		"type vs kind":   {NewPart{Kind: "ssd_512gb", DriveType: device.HDD}, map[string]string{"drive_type": "parts.error.drive_type_kind"}},
		"bad type":       {NewPart{Kind: "other", DriveType: "floppy", CapacityGB: 1}, map[string]string{"drive_type": "parts.error.drive_type"}},
		"huge":           {NewPart{Kind: "hdd", CapacityGB: device.MaxCapacityGB + 1}, map[string]string{"capacity_gb": "parts.error.capacity"}},
		"battery drive":  {NewPart{Kind: "laptop_battery", CapacityGB: 4, Serial: "X"}, map[string]string{"capacity_gb": "parts.error.not_storage", "serial": "parts.error.not_storage"}},
		"other no type":  {NewPart{Kind: "other", CapacityGB: 4}, map[string]string{"capacity_gb": "parts.error.not_storage"}},
		"long desc":      {NewPart{Kind: "keyboard", Description: strings.Repeat("a", MaxPartDescription+1)}, map[string]string{"description": "parts.error.part_description"}},
		"serial newline": {NewPart{Kind: "hdd", CapacityGB: 500, Serial: "a\nb"}, map[string]string{"serial": "error.invalid_text"}},
	} {
		_, fe := tt.p.Check()
		wantFields(t, name, fe, tt.want)
	}
}

func TestFitCheck(t *testing.T) {
	f, fe := Fit{StockPartID: 7, Minutes: 10}.Check()
	if fe != nil || f.StockPartID != 7 || !f.NewPart.Empty() {
		t.Fatalf("stock: %+v %v", f, fe)
	}
	f, fe = Fit{NewPart: NewPart{Kind: "ram_8gb"}}.Check()
	if fe != nil || f.Kind != "ram_8gb" {
		t.Fatalf("new: %+v %v", f, fe)
	}
	_, fe = Fit{StockPartID: 7, NewPart: NewPart{Kind: "ram_8gb"}}.Check()
	wantFields(t, "both", fe, map[string]string{"stock_part_id": "parts.error.stock_or_new"})
	_, fe = Fit{Minutes: -3}.Check()
	wantFields(t, "neither", fe, map[string]string{"kind": "parts.error.kind", "minutes": "parts.error.minutes"})
	_, fe = Fit{StockPartID: -1}.Check()
	wantFields(t, "negative", fe, map[string]string{"stock_part_id": "parts.error.stock_part"})
}

func TestDismantleCheck(t *testing.T) {
	d, fe := Dismantle{Note: " pour pièces ", Parts: []Kept{{Kind: "ssd_256gb", Drive: 1}, {Kind: "other", Drive: 2, Description: " eMMC "},
		{Kind: "laptop_battery", Description: " 80 % "}, {Kind: "keyboard"}}}.Check()
	if fe != nil || d.Note != "pour pièces" || len(d.Parts) != 4 || d.Parts[1].Description != "eMMC" || !d.Parts[1].Storage() ||
		d.Parts[2].Storage() || d.Parts[2].Description != "80 %" {
		t.Fatalf("%+v %v", d, fe)
	}
	if d, fe := (Dismantle{}).Check(); fe != nil || len(d.Parts) != 0 {
		t.Fatalf("nothing kept: %+v %v", d, fe)
	}
	many := make([]Kept, MaxKept+1)
	for i := range many {
		many[i] = Kept{Kind: "keyboard"}
	}
	for name, tt := range map[string]struct {
		d    Dismantle
		want map[string]string
	}{
		"kind":      {Dismantle{Parts: []Kept{{Kind: "keyboard"}, {Kind: "gpu"}}}, map[string]string{"parts[1].kind": "parts.error.kind"}},
		"no drive":  {Dismantle{Parts: []Kept{{Kind: "hdd"}}}, map[string]string{"parts[0].drive": "parts.error.drive_required"}},
		"not drive": {Dismantle{Parts: []Kept{{Kind: "ram_4gb", Drive: 1}}}, map[string]string{"parts[0].drive": "parts.error.not_storage"}},
		"twice":     {Dismantle{Parts: []Kept{{Kind: "hdd", Drive: 2}, {Kind: "other", Drive: 2}}}, map[string]string{"parts[1].drive": "parts.error.drive_twice"}},
		"position":  {Dismantle{Parts: []Kept{{Kind: "hdd", Drive: 17}}}, map[string]string{"parts[0].drive": "parts.error.drive_unknown"}},
		"negative":  {Dismantle{Parts: []Kept{{Kind: "hdd", Drive: -1}}}, map[string]string{"parts[0].drive": "parts.error.drive_unknown"}},
		"too many":  {Dismantle{Parts: many}, map[string]string{"parts": "parts.error.kept_count"}},
		"note":      {Dismantle{Note: strings.Repeat("n", MaxWorkDescription+1)}, map[string]string{"note": "parts.error.note"}},
		"desc":      {Dismantle{Parts: []Kept{{Kind: "keyboard", Description: "a\tb"}}}, map[string]string{"parts[0].description": "error.invalid_text"}},
	} {
		_, fe := tt.d.Check()
		wantFields(t, name, fe, tt.want)
	}
}

func TestCheckReason(t *testing.T) {
	if r, fe := CheckReason("  écran fissuré "); fe != nil || r != "écran fissuré" {
		t.Fatalf("%q %v", r, fe)
	}
	for _, in := range []string{"", "   ", strings.Repeat("x", MaxReason+1), "a\nb"} {
		if _, fe := CheckReason(in); fe["reason"] == "" {
			t.Errorf("%q accepted", in)
		}
	}
}
