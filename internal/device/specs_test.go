package device

import (
	"strings"
	"testing"
)

func TestParseSpecs(t *testing.T) {
	in := Input{FieldCPU: " Intel Core i5-8350U ", FieldRAM: "16", FieldScreen: "14,0", FieldBattery: "0",
		FieldOS: "Debian 13", FieldCondition: "Rayure sur le capot\nClavier FR",
		"drive_type_1": "nvme", "drive_capacity_1": "256", "drive_serial_1": "S4EV",
		"drive_type_3": "hdd", "drive_capacity_3": "500"}
	s, f := in.Parse()
	if f != nil {
		t.Fatal(f)
	}
	if s.CPU != "Intel Core i5-8350U" || *s.RAMGB != 16 || *s.ScreenInches != 14 || *s.BatteryHealthPct != 0 {
		t.Errorf("specs %+v", s)
	}
	if len(s.Drives) != 2 || s.Drives[1] != (Drive{Position: 2, Type: HDD, CapacityGB: 500}) {
		t.Errorf("drives %+v", s.Drives)
	}
	if err := s.Validate(); err != nil {
		t.Errorf("valid specs refused: %v", err)
	}
	empty, f := Input{}.Parse()
	if f != nil || empty.RAMGB != nil || len(empty.Drives) != 0 {
		t.Errorf("empty form: %+v %v", empty, f)
	}
}

func TestParseSpecsErrors(t *testing.T) {
	for _, tc := range []struct {
		name, field, value, want string
	}{
		{"ram text", FieldRAM, "seize", "device.error.ram"},
		{"ram zero", FieldRAM, "0", "device.error.ram"},
		{"battery over", FieldBattery, "101", "device.error.battery"},
		{"battery negative", FieldBattery, "-1", "device.error.battery"},
		{"screen zero", FieldScreen, "0", "device.error.screen"},
		{"screen too precise", FieldScreen, "13.33", "device.error.screen"},
		{"cpu too long", FieldCPU, strings.Repeat("x", 101), "device.error.too_long"},
		{"os control", FieldOS, "Win\x00dows", "error.invalid_text"},
		{"drive type", "drive_type_2", "floppy", "device.error.drive_type"},
		{"drive capacity", "drive_capacity_4", "-5", "device.error.drive_capacity"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, f := Input{tc.field: tc.value}.Parse()
			if f[tc.field] != tc.want {
				t.Errorf("errors %v, want %s on %s", f, tc.want, tc.field)
			}
		})
	}
	// A drive row with only a serial misses its type and capacity.
	_, f := Input{"drive_serial_1": "ABC"}.Parse()
	if f["drive_type_1"] == "" || f["drive_capacity_1"] == "" {
		t.Errorf("incomplete drive row: %v", f)
	}
}

func TestCheckDocument(t *testing.T) {
	if err := CheckDocument([]byte("%PDF-1.4\n...")); err != nil {
		t.Error(err)
	}
	for _, bad := range [][]byte{nil, []byte("%PDF"), []byte("<html>"), make([]byte, MaxDocumentBytes+1)} {
		if CheckDocument(bad) == nil {
			t.Errorf("accepted %.10q", bad)
		}
	}
}
