package erasure

import (
	"bytes"
	"image"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/berriz"
)

var (
	paris = func() *time.Location {
		loc, err := time.LoadLocation("Europe/Paris")
		if err != nil {
			return time.FixedZone("CET", 3600)
		}
		return loc
	}()
	now = time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC)
)

// good is a valid record: one nwipe pass over a 500 GB disk in 50 minutes.
func good() Record {
	return Record{Drive: Drive{Position: 1, Type: "hdd", CapacityGB: 500, Serial: "WD-1"}, Method: PurgeOverwrite, Tool: NWipe,
		ToolVersion: "0.35", Passes: 1, Verification: Passed, StartedAt: now.Add(-time.Hour), EndedAt: now.Add(-10 * time.Minute)}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Record)
		field  string
		key    string
	}{
		{"unknown method", func(r *Record) { r.Method = "wipe" }, FieldMethod, "erasure.error.method"},
		{"unknown tool", func(r *Record) { r.Tool = "dd" }, FieldTool, "erasure.error.tool"},
		{"nwipe cannot destroy", func(r *Record) { r.Method, r.Passes = Destroy, 0 }, FieldTool, "erasure.error.tool_method"},
		{"a shredder does not overwrite", func(r *Record) { r.Tool = Shredder }, FieldTool, "erasure.error.tool_method"},
		{"phones purge by crypto erase only", func(r *Record) { r.Tool, r.Method = FactoryResetEncrypted, Clear }, FieldTool, "erasure.error.tool_method"},
		{"a new drive is no purge", func(r *Record) { r.Tool, r.Method, r.Passes = NewBlank, PurgeBlockErase, 0 }, FieldTool, "erasure.error.tool_method"},
		{"100 passes", func(r *Record) { r.Passes = 100 }, FieldPasses, "erasure.error.passes"},
		{"negative passes", func(r *Record) { r.Passes = -1 }, FieldPasses, "erasure.error.passes"},
		{"overwrite without a pass", func(r *Record) { r.Passes = 0 }, FieldPasses, "erasure.error.passes_overwrite"},
		{"nwipe clear without a pass", func(r *Record) { r.Method, r.Passes = Clear, 0 }, FieldPasses, "erasure.error.passes_overwrite"},
		{"passes of a shredder", func(r *Record) { r.Tool, r.Method, r.Passes = Shredder, Destroy, 3 }, FieldPasses, "erasure.error.passes_none"},
		{"passes of a new drive", func(r *Record) { r.Tool, r.Method, r.Passes = NewBlank, Clear, 1 }, FieldPasses, "erasure.error.passes_none"},
		{"unknown verification", func(r *Record) { r.Verification = "ok" }, FieldVerification, "erasure.error.verification"},
		{"no start", func(r *Record) { r.StartedAt = time.Time{} }, FieldStartedAt, "erasure.error.time"},
		{"start in the future", func(r *Record) { r.StartedAt = now.Add(time.Hour) }, FieldStartedAt, "erasure.error.time_future"},
		{"end in the future", func(r *Record) { r.EndedAt = now.Add(6 * time.Minute) }, FieldEndedAt, "erasure.error.time_future"},
		{"start of another century", func(r *Record) { r.StartedAt = time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC) }, FieldStartedAt, "erasure.error.time_old"},
		{"end before start", func(r *Record) { r.EndedAt = r.StartedAt.Add(-time.Second) }, FieldEndedAt, "erasure.error.time_order"},
		{"31 days", func(r *Record) { r.StartedAt = r.EndedAt.Add(-31 * 24 * time.Hour) }, FieldEndedAt, "erasure.error.duration_long"},
		{"version with a newline", func(r *Record) { r.ToolVersion = "0.35\n" }, FieldToolVersion, "erasure.error.text"},
		{"long version", func(r *Record) { r.ToolVersion = strings.Repeat("v", 101) }, FieldToolVersion, "erasure.error.too_long"},
		{"long notes", func(r *Record) { r.Notes = strings.Repeat("é", 501) }, FieldNotes, "erasure.error.too_long"},
		{"notes with a NUL", func(r *Record) { r.Notes = "a\x00b" }, FieldNotes, "erasure.error.text"},
	}
	if fe := good().Validate(now); fe != nil {
		t.Fatalf("good record: %v", fe)
	}
	for _, tt := range tests {
		r := good()
		tt.change(&r)
		fe := r.Validate(now)
		if fe[tt.field] != tt.key {
			t.Errorf("%s: %v, want %s on %s", tt.name, fe, tt.key, tt.field)
		}
	}
	// What is right: multiline notes, a clock a little ahead, a shredder,
	// a phone's reset, a new drive, and any method claimed by "other".
	fine := map[string]func(*Record){
		"notes":     func(r *Record) { r.Notes = "Ligne 1\nLigne 2\tfin" },
		"skew":      func(r *Record) { r.EndedAt = now.Add(4 * time.Minute) },
		"shredder":  func(r *Record) { r.Tool, r.Method, r.Passes, r.StartedAt, r.EndedAt = Shredder, Destroy, 0, now, now },
		"phone":     func(r *Record) { r.Tool, r.Method, r.Passes = FactoryResetEncrypted, PurgeCryptoErase, 0 },
		"new drive": func(r *Record) { r.Tool, r.Method, r.Passes = NewBlank, Clear, 0 },
		"other":     func(r *Record) { r.Tool, r.Method, r.Passes = Other, Destroy, 0 },
		"failed":    func(r *Record) { r.Verification = Failed },
		"35 passes": func(r *Record) { r.Passes, r.StartedAt = 35, r.EndedAt.Add(-29*24*time.Hour) },
	}
	for name, change := range fine {
		r := good()
		change(&r)
		if fe := r.Validate(now); fe != nil {
			t.Errorf("%s: %v", name, fe)
		}
	}
}

func TestCheckDrive(t *testing.T) {
	r := good()
	if fe := r.CheckDrive(); fe != nil {
		t.Fatalf("good: %v", fe)
	}
	// 3 passes over 2 TB need 600 s at 10 GB/s: 5 minutes (with a minute
	// of slack for typed times) is impossible, 11 minutes is not.
	r.Drive.CapacityGB, r.Passes = 2000, 3
	r.StartedAt, r.EndedAt = now.Add(-15*time.Minute), now.Add(-10*time.Minute)
	if fe := r.CheckDrive(); fe[FieldEndedAt] != "erasure.error.duration_short" {
		t.Errorf("too fast: %v", fe)
	}
	r.StartedAt = now.Add(-21 * time.Minute)
	if fe := r.CheckDrive(); fe != nil {
		t.Errorf("possible: %v", fe)
	}
	// Typed to the minute: a small eMMC cleared within the same minute.
	small := Record{Drive: Drive{Type: "emmc", CapacityGB: 16}, Method: Clear, Tool: NWipe, Passes: 1, StartedAt: now, EndedAt: now}
	if fe := small.CheckDrive(); fe != nil {
		t.Errorf("small drive: %v", fe)
	}
	for _, flash := range []Record{
		{Drive: Drive{Type: "ssd", CapacityGB: 256}, Method: Destroy, Tool: Degausser},
		{Drive: Drive{Type: "nvme", CapacityGB: 256}, Method: PurgeOverwrite, Tool: Blancco, Passes: 1, EndedAt: now.Add(time.Hour), StartedAt: now},
	} {
		if fe := flash.CheckDrive(); fe[FieldMethod] != "erasure.error.method_flash" {
			t.Errorf("%s on %s: %v", flash.Tool, flash.Drive.Type, fe)
		}
	}
	hdd := Record{Drive: Drive{Type: "hdd", CapacityGB: 500}, Method: Destroy, Tool: Degausser}
	if fe := hdd.CheckDrive(); fe != nil {
		t.Errorf("degaussed hdd: %v", fe)
	}
}

func TestParse(t *testing.T) {
	in := Input{FieldDrive: "2:WD:WCC 4", FieldMethod: " purge_overwrite ", FieldTool: "nwipe", FieldToolVersion: " 0.35 ",
		FieldPasses: "3", FieldVerification: "passed", FieldStartedAt: "2026-03-14T09:05", FieldEndedAt: "2026-03-14T10:30:00+02:00",
		FieldNotes: "a\r\nb"}
	ref, r, fe := in.Parse(paris)
	if len(fe) != 0 {
		t.Fatalf("field errors: %v", fe)
	}
	if ref != (DriveRef{Position: 2, Serial: "WD:WCC 4", HasSerial: true}) || r.Method != PurgeOverwrite || r.ToolVersion != "0.35" ||
		r.Passes != 3 || r.Notes != "a\nb" {
		t.Fatalf("parsed %+v %+v", ref, r)
	}
	// March 14th is winter time in Paris (UTC+1); the end's own offset wins.
	if !r.StartedAt.Equal(time.Date(2026, 3, 14, 8, 5, 0, 0, time.UTC)) || !r.EndedAt.Equal(time.Date(2026, 3, 14, 8, 30, 0, 0, time.UTC)) {
		t.Errorf("times %v %v", r.StartedAt, r.EndedAt)
	}
	if ref, ok := ParseDriveRef("3"); !ok || ref.HasSerial || ref.Position != 3 {
		t.Errorf("position only: %+v", ref)
	}
	if d := (Drive{Position: 4, Serial: "S:1"}); d.Ref() != "4:S:1" {
		t.Errorf("ref %q", d.Ref())
	}
	_, _, fe = Input{FieldDrive: "x", FieldPasses: "deux", FieldStartedAt: "14/03/2026", FieldEndedAt: ""}.Parse(paris)
	for _, field := range []string{FieldDrive, FieldPasses, FieldStartedAt, FieldEndedAt} {
		if fe[field] == "" {
			t.Errorf("%s: no error in %v", field, fe)
		}
	}
	for _, bad := range []string{"0", "17", "-1", "", "1a", "001"} {
		if _, ok := ParseDriveRef(bad); ok {
			t.Errorf("drive %q accepted", bad)
		}
	}
}

func TestCheckLog(t *testing.T) {
	var img bytes.Buffer
	_ = png.Encode(&img, image.NewGray(image.Rect(0, 0, 4, 4)))
	tests := []struct {
		name, ct string
		data     []byte
		key      string
	}{
		{"pdf", LogPDF, []byte("%PDF-1.7\n..."), ""},
		{"nwipe log", LogText, []byte("[2026/03/14 09:05:01] nwipe: notice: Opened entropy source '/dev/urandom'.\n✓ Réussi\n"), ""},
		{"empty", "", nil, "erasure.error.log_empty"},
		{"png renamed .log", "", img.Bytes(), "erasure.error.log_type"},
		{"text with NUL", "", []byte("abc\x00def"), "erasure.error.log_type"},
		{"latin-1", "", []byte("r\xe9ussi"), "erasure.error.log_type"},
	}
	for _, tt := range tests {
		ct, ext, err := CheckLog(tt.data)
		if tt.key == "" {
			if err != nil || ct != tt.ct || ext == "" {
				t.Errorf("%s: %q %q %v", tt.name, ct, ext, err)
			}
			continue
		}
		if be := berriz.As(err); be.Kind != berriz.Invalid || be.Fields[FieldLog] != tt.key {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.key)
		}
	}
	if _, _, err := CheckLog(make([]byte, MaxLogBytes+1)); berriz.KindOf(err) != berriz.TooLarge || berriz.As(err).Args["mb"] != "10" {
		t.Errorf("too large: %v", err)
	}
}

func TestToolsAndMethods(t *testing.T) {
	for _, tool := range Tools {
		if len(tool.MethodsOf()) == 0 || tool.Key() == "" {
			t.Errorf("%s: no method or no name", tool)
		}
	}
	for _, m := range Methods {
		if m.Key() == "" {
			t.Errorf("%s: no name", m)
		}
	}
	if NWipe.Fits(Destroy) || !Shredder.Fits(Destroy) || Degausser.Fits(Clear) || !FactoryResetEncrypted.Fits(PurgeCryptoErase) {
		t.Error("tool table")
	}
	if StatusOf(Passed) != StatusErased || StatusOf(Failed) != StatusFailed || StatusOf("") != StatusMissing {
		t.Error("statuses")
	}
	if Number(2026, 123) != "BRZ-E-2026-000123" {
		t.Errorf("number %s", Number(2026, 123))
	}
}
