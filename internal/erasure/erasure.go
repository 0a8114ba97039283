// Package erasure owns certified data erasure: how a workshop records the
// sanitisation of each storage drive of a donated device in the terms of
// NIST SP 800-88 Rev. 1 (clear, purge by cryptographic erase, block erase
// or overwrite, destroy), which tool may claim which method, what a sane
// record is (passes, verification, start and end), what an uploaded tool
// log may be, and the erasure certificate: its content and its wording,
// rendered as a PDF with internal/pdf. Standard library, internal/berriz
// and internal/pdf only; no I/O: the store records, the server uploads and
// serves.
package erasure

import (
	"slices"
	"time"
)

// Method is a sanitisation method of NIST SP 800-88 Rev. 1.
type Method string

// The methods, as the erasures table allows them.
const (
	// Clear overwrites user-addressable storage with standard write
	// commands: enough against simple recovery tools.
	Clear Method = "clear"
	// PurgeCryptoErase destroys the media encryption key of a
	// self-encrypting drive or an encrypted phone.
	PurgeCryptoErase Method = "purge_crypto_erase"
	// PurgeBlockErase resets every flash block with the drive's own
	// sanitize or secure-erase command.
	PurgeBlockErase Method = "purge_block_erase"
	// PurgeOverwrite overwrites every sector of a magnetic disk, hidden
	// areas included, through the drive's firmware or a verified tool.
	PurgeOverwrite Method = "purge_overwrite"
	// Destroy makes the medium physically unusable: shredding,
	// disintegration, degaussing a hard disk beyond repair.
	Destroy Method = "destroy"
)

// Methods lists every method, in the order forms offer them.
var Methods = []Method{Clear, PurgeCryptoErase, PurgeBlockErase, PurgeOverwrite, Destroy}

// Valid reports whether m is a known method.
func (m Method) Valid() bool { return slices.Contains(Methods, m) }

// Key is the translation key of the method's name.
func (m Method) Key() string { return methodKeys[m] }

var methodKeys = map[Method]string{
	Clear: "erasure.method.clear", PurgeCryptoErase: "erasure.method.purge_crypto_erase",
	PurgeBlockErase: "erasure.method.purge_block_erase", PurgeOverwrite: "erasure.method.purge_overwrite",
	Destroy: "erasure.method.destroy",
}

// Tool is what performed the erasure.
type Tool string

// The tools a workshop uses.
const (
	NWipe                 Tool = "nwipe"
	ShredOS               Tool = "shredos"
	HdparmSecureErase     Tool = "hdparm_secure_erase"
	NVMeFormat            Tool = "nvme_format"
	NVMeSanitize          Tool = "nvme_sanitize"
	Blancco               Tool = "blancco"
	FactoryResetEncrypted Tool = "factory_reset_encrypted" // phones and tablets: encrypted storage, key discarded
	Shredder              Tool = "shredder"
	Degausser             Tool = "degausser"
	// NewBlank is a new drive fitted from its box: nothing was ever
	// written on it, so nothing is erased; the parts engineer records it
	// so the device's every drive is accounted for.
	NewBlank Tool = "new_blank"
	Other    Tool = "other"
)

// Tools lists every tool, in the order forms offer them.
var Tools = []Tool{NWipe, ShredOS, HdparmSecureErase, NVMeFormat, NVMeSanitize, Blancco, FactoryResetEncrypted,
	Shredder, Degausser, NewBlank, Other}

// Valid reports whether t is a known tool.
func (t Tool) Valid() bool { return slices.Contains(Tools, t) }

// Key is the translation key of the tool's name.
func (t Tool) Key() string { return toolKeys[t] }

var toolKeys = map[Tool]string{
	NWipe: "erasure.tool.nwipe", ShredOS: "erasure.tool.shredos", HdparmSecureErase: "erasure.tool.hdparm_secure_erase",
	NVMeFormat: "erasure.tool.nvme_format", NVMeSanitize: "erasure.tool.nvme_sanitize", Blancco: "erasure.tool.blancco",
	FactoryResetEncrypted: "erasure.tool.factory_reset_encrypted", Shredder: "erasure.tool.shredder",
	Degausser: "erasure.tool.degausser", NewBlank: "erasure.tool.new_blank", Other: "erasure.tool.other",
}

// toolMethods says which methods each tool can perform (docs/erasure.md
// explains each line). Overwriting software clears or purges a magnetic
// disk by overwriting; drive commands purge by the drive's own means;
// phones purge by discarding the key of their encrypted storage; a
// shredder or a degausser destroys; a new drive has nothing to clear.
// "other" claims what its record says, and its notes say how.
var toolMethods = map[Tool][]Method{
	NWipe:                 {Clear, PurgeOverwrite},
	ShredOS:               {Clear, PurgeOverwrite},
	HdparmSecureErase:     {PurgeOverwrite, PurgeBlockErase, PurgeCryptoErase},
	NVMeFormat:            {Clear, PurgeBlockErase, PurgeCryptoErase},
	NVMeSanitize:          {PurgeBlockErase, PurgeCryptoErase, PurgeOverwrite},
	Blancco:               {Clear, PurgeOverwrite, PurgeBlockErase, PurgeCryptoErase},
	FactoryResetEncrypted: {PurgeCryptoErase},
	Shredder:              {Destroy},
	Degausser:             {Destroy},
	NewBlank:              {Clear},
	Other:                 Methods,
}

// Fits reports whether tool t can perform method m.
func (t Tool) Fits(m Method) bool { return slices.Contains(toolMethods[t], m) }

// MethodsOf lists the methods t can perform.
func (t Tool) MethodsOf() []Method { return slices.Clone(toolMethods[t]) }

// overwrites reports whether the tool works by writing over the medium,
// pass after pass: its record needs at least one pass.
func (t Tool) overwrites() bool { return t == NWipe || t == ShredOS }

// LogRequired reports whether a record of t must come with the tool's own
// log or report: the overwriting suites write one on every run.
func (t Tool) LogRequired() bool { return t == NWipe || t == ShredOS || t == Blancco }

// Verification is the result of checking the medium after erasure.
type Verification string

// The results.
const (
	Passed Verification = "passed"
	Failed Verification = "failed"
)

// Verifications lists both results, in the order forms offer them.
var Verifications = []Verification{Passed, Failed}

// Valid reports whether v is a known result.
func (v Verification) Valid() bool { return v == Passed || v == Failed }

// Key is the translation key of the result.
func (v Verification) Key() string {
	if v == Failed {
		return "erasure.verification.failed"
	}
	return "erasure.verification.passed"
}

// Drive is a storage drive as it was when erased: a snapshot of the
// device's recorded drive (its position on the device, technology,
// capacity and serial), kept with the record whatever becomes of the
// drive.
type Drive struct {
	Position   int    `json:"position"`
	Type       string `json:"type"` // hdd, ssd, nvme, emmc, other
	CapacityGB int    `json:"capacity_gb"`
	Serial     string `json:"serial"`
}

// flash reports whether the drive keeps its data in flash memory, which
// neither a degausser nor an overwrite can be relied on to reach.
func (d Drive) flash() bool { return d.Type == "ssd" || d.Type == "nvme" || d.Type == "emmc" }

// Status says where a recorded drive stands in the current cycle.
type Status string

// The statuses of a drive.
const (
	// StatusErased: its latest erasure record passed verification.
	StatusErased Status = "erased"
	// StatusFailed: its latest erasure record failed verification; the
	// device is held back, flagged, until a new erasure passes.
	StatusFailed Status = "failed"
	// StatusMissing: no erasure recorded for it yet in this cycle.
	StatusMissing Status = "missing"
)

// StatusOf is the status of a drive whose latest record of the cycle has
// verification v ("" for none).
func StatusOf(v Verification) Status {
	switch v {
	case Passed:
		return StatusErased
	case Failed:
		return StatusFailed
	}
	return StatusMissing
}

// Key is the translation key of the status.
func (s Status) Key() string {
	switch s {
	case StatusErased:
		return "erasure.status.erased"
	case StatusFailed:
		return "erasure.status.failed"
	}
	return "erasure.status.missing"
}

// Limits of a record; the database's checks repeat them.
const (
	MaxPasses      = 99
	MaxVersionLen  = 100
	MaxNotesLen    = 500
	MaxDuration    = 30 * 24 * time.Hour // a 35-pass overwrite of a large disk takes days, not months
	ClockSkew      = 5 * time.Minute     // a browser's clock may run ahead of the server's
	MaxOverwriteGB = 10                  // GB per second: faster than any drive writes, to catch impossible records
)

// earliest bounds start dates: anything before is a typing error.
var earliest = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
