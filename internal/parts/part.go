package parts

import (
	"slices"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/co2"
	"github.com/berriz/berriz/internal/device"
)

// NewPart describes a part that does not come out of the stock: bought
// new, and either fitted at once or put into the stock. A storage part
// (an SSD, a hard disk, or an other part carrying a drive) describes its
// drive: it joins a device's drives when fitted.
type NewPart struct {
	Kind        string           `json:"kind"`
	Description string           `json:"description"`
	DriveType   device.DriveType `json:"drive_type,omitempty"`
	CapacityGB  int              `json:"capacity_gb,omitempty"`
	Serial      string           `json:"serial,omitempty"`
}

// Form field names of a part; the JSON fields have the same names.
const (
	FieldPartKind    = "kind"
	FieldPartDesc    = "description"
	FieldDriveType   = "drive_type"
	FieldCapacity    = "capacity_gb"
	FieldSerial      = "serial"
	FieldStockPartID = "stock_part_id"
)

// Storage reports whether the part is a storage drive.
func (p NewPart) Storage() bool {
	return DriveKind(p.Kind) || p.Kind == co2.OtherPart && p.DriveType != ""
}

// Empty reports whether nothing describes a new part (a fit from stock).
func (p NewPart) Empty() bool { return p == NewPart{} }

// Check returns the part trimmed and complete, or its field errors
// (translation keys). A drive kind takes its usual type and its nominal
// capacity when they are left out (an ssd_256gb is a SATA SSD of 256 GB);
// what is given must agree with the kind.
func (p NewPart) Check() (NewPart, berriz.FieldErrors) {
	f := berriz.FieldErrors{}
	out := NewPart{Kind: p.Kind, DriveType: p.DriveType, CapacityGB: p.CapacityGB}
	if !ValidKind(p.Kind) {
		f.Add(FieldPartKind, "parts.error.kind")
	}
	out.Description = berriz.Text(f, FieldPartDesc, p.Description, MaxPartDescription, false, "parts.error.part_description")
	out.Serial = berriz.Text(f, FieldSerial, p.Serial, device.MaxTextLen, false, "parts.error.serial")
	if dk, ok := driveKinds[p.Kind]; ok {
		if out.DriveType == "" {
			out.DriveType = dk.types[0]
		}
		if out.CapacityGB == 0 {
			out.CapacityGB = dk.capacity
		}
		if !slices.Contains(dk.types, out.DriveType) {
			f.Add(FieldDriveType, "parts.error.drive_type_kind")
		}
	}
	switch {
	case out.Storage():
		if !out.DriveType.Valid() {
			f.Add(FieldDriveType, "parts.error.drive_type")
		}
		if out.CapacityGB < 1 || out.CapacityGB > device.MaxCapacityGB {
			f.Add(FieldCapacity, "parts.error.capacity")
		}
	case p.Kind != "":
		// A battery has no drive type; a serial is a drive's here.
		for field, set := range map[string]bool{FieldDriveType: p.DriveType != "", FieldCapacity: p.CapacityGB != 0,
			FieldSerial: out.Serial != ""} {
			if set {
				f.Add(field, "parts.error.not_storage")
			}
		}
	}
	if len(f) > 0 {
		return NewPart{}, f
	}
	return out, nil
}

// Fit asks to fit a part to a device: a part of the stock of the device's
// workshop (StockPartID), or a new part described by NewPart. The minutes
// spent are recorded with it.
type Fit struct {
	StockPartID int64 `json:"stock_part_id,omitempty"`
	NewPart
	Minutes int `json:"minutes"`
}

// Check returns the fit trimmed and complete, or its field errors.
func (ft Fit) Check() (Fit, berriz.FieldErrors) {
	f := berriz.FieldErrors{}
	out := Fit{StockPartID: ft.StockPartID, Minutes: ft.Minutes}
	switch {
	case ft.StockPartID < 0:
		f.Add(FieldStockPartID, "parts.error.stock_part")
	case ft.StockPartID > 0 && !ft.NewPart.Empty():
		f.Add(FieldStockPartID, "parts.error.stock_or_new")
	case ft.StockPartID == 0:
		np, fe := ft.NewPart.Check()
		for k, v := range fe {
			f.Add(k, v)
		}
		out.NewPart = np
	}
	if ft.Minutes < 0 || ft.Minutes > MaxMinutes {
		f.Add(FieldMinutes, "parts.error.minutes")
	}
	if len(f) > 0 {
		return Fit{}, f
	}
	return out, nil
}
