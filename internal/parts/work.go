package parts

import (
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/device"
)

// WorkKind is what an operation on a device was: the values of the
// repairs table.
type WorkKind string

// The kinds of work. WorkPart is written by fitting a part (with its
// minutes), never recorded on its own.
const (
	WorkRepair    WorkKind = "repair"
	WorkPart      WorkKind = "part"
	WorkOSInstall WorkKind = "os_install"
	WorkCleaning  WorkKind = "cleaning"
	WorkOther     WorkKind = "other"
)

// RecordedKinds are the kinds a technician records directly, in the order
// forms list them.
var RecordedKinds = []WorkKind{WorkRepair, WorkCleaning, WorkOther, WorkOSInstall}

// Key is the translation key of the kind's name.
func (k WorkKind) Key() string { return workKeys[k] }

var workKeys = map[WorkKind]string{WorkRepair: "parts.work.repair", WorkPart: "parts.work.part",
	WorkOSInstall: "parts.work.os_install", WorkCleaning: "parts.work.cleaning", WorkOther: "parts.work.other"}

// Work is one operation recorded on a device. An os_install names the
// system installed (it becomes the device's OS, which the lifecycle wants
// before a computer or a phone is refurbished); its description may be
// left empty, the system's name then stands for it.
type Work struct {
	Kind        WorkKind `json:"kind"`
	Description string   `json:"description"`
	Minutes     int      `json:"minutes"`
	OS          string   `json:"os,omitempty"`
}

// Form field names of a work record.
const (
	FieldKind        = "kind"
	FieldDescription = "description"
	FieldMinutes     = "minutes"
	FieldOS          = "os"
)

// Check returns the work trimmed and complete, or the field errors
// (translation keys) of everything wrong with it.
func (w Work) Check() (Work, berriz.FieldErrors) {
	f := berriz.FieldErrors{}
	out := Work{Kind: w.Kind, Minutes: w.Minutes}
	switch w.Kind {
	case WorkRepair, WorkCleaning, WorkOther, WorkOSInstall:
	default:
		f.Add(FieldKind, "parts.error.work_kind")
	}
	out.Description = berriz.Text(f, FieldDescription, w.Description, MaxWorkDescription, true, "parts.error.description")
	if w.Kind == WorkOSInstall {
		out.OS = berriz.Text(f, FieldOS, w.OS, device.MaxTextLen, false, "parts.error.os")
		if out.OS == "" {
			f.Add(FieldOS, "parts.error.os")
		}
		if out.Description == "" {
			out.Description = out.OS
		}
	} else if w.OS != "" {
		f.Add(FieldOS, "parts.error.os_only_install")
	}
	if out.Description == "" {
		f.Add(FieldDescription, "parts.error.description")
	}
	if w.Minutes < 0 || w.Minutes > MaxMinutes {
		f.Add(FieldMinutes, "parts.error.minutes")
	}
	if len(f) > 0 {
		return Work{}, f
	}
	return out, nil
}

// ParseMinutes reads minutes typed in a form: "" is 0.
func ParseMinutes(f berriz.FieldErrors, field, v string) int {
	return ParseWhole(f, field, v, 0, 0, MaxMinutes, "parts.error.minutes")
}
