package parts

import (
	"strconv"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/co2"
)

// Kept is a part kept from a dismantled device for the stock. A storage
// part names which of the device's drives it is (its position): the drive
// goes into the stock as it was recorded and erased, never described anew.
type Kept struct {
	Kind        string `json:"kind"`
	Description string `json:"description"`
	Drive       int    `json:"drive,omitempty"`
}

// Storage reports whether the kept part is one of the device's drives.
func (k Kept) Storage() bool { return DriveKind(k.Kind) || k.Kind == co2.OtherPart && k.Drive != 0 }

// Dismantle is what dismantling a device records: the parts kept (none is
// fine: a device may be stripped for nothing usable) and a note.
type Dismantle struct {
	Parts []Kept `json:"parts"`
	Note  string `json:"note"`
}

// KeptField names the field of the i-th kept part (from 0), as the JSON
// body does: parts[2].kind.
func KeptField(i int, what string) string { return "parts[" + strconv.Itoa(i) + "]." + what }

// maxDrivePosition is the database's bound on a drive's position.
const maxDrivePosition = 16

// Check returns the dismantling trimmed, or its field errors (translation
// keys, named by KeptField). Whether each drive exists and may be kept
// (erased, not destroyed) is the store's to check, under the device's lock.
func (d Dismantle) Check() (Dismantle, berriz.FieldErrors) {
	f := berriz.FieldErrors{}
	out := Dismantle{Note: berriz.Text(f, "note", d.Note, MaxWorkDescription, true, "parts.error.note")}
	if len(d.Parts) > MaxKept {
		f.Add("parts", "parts.error.kept_count")
	}
	drives := map[int]bool{}
	for i, k := range d.Parts[:min(len(d.Parts), MaxKept)] {
		c := Kept{Kind: k.Kind, Drive: k.Drive,
			Description: berriz.Text(f, KeptField(i, "description"), k.Description, MaxPartDescription, false, "parts.error.part_description")}
		switch {
		case !ValidKind(k.Kind):
			f.Add(KeptField(i, "kind"), "parts.error.kind")
		case k.Drive < 0 || k.Drive > maxDrivePosition:
			f.Add(KeptField(i, "drive"), "parts.error.drive_unknown")
		case DriveKind(k.Kind) && k.Drive == 0:
			f.Add(KeptField(i, "drive"), "parts.error.drive_required")
		case !c.Storage() && k.Drive != 0:
			f.Add(KeptField(i, "drive"), "parts.error.not_storage")
		case k.Drive != 0 && drives[k.Drive]:
			f.Add(KeptField(i, "drive"), "parts.error.drive_twice")
		}
		drives[k.Drive] = k.Drive != 0
		out.Parts = append(out.Parts, c)
	}
	if len(f) > 0 {
		return Dismantle{}, f
	}
	return out, nil
}
