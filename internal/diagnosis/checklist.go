// Package diagnosis owns the workshop's diagnosis of a device: the test
// checklist of each family of categories (versioned, so a stored diagnosis
// always names the list it answered), the results a technician records
// (pass, fail, or not applicable where the part may be absent), the
// cosmetic condition, what makes a diagnosis complete, and the suggested
// grade computed from explicit rules (docs/grading.md says the same thing
// in words, and a test holds the two together). Standard library and
// internal/berriz only; no I/O.
package diagnosis

import (
	"maps"
	"slices"
)

// Item is one test of a checklist.
type Item struct {
	ID string `json:"id"`
	// Critical: a failure makes the device unusable as it is (repair
	// first); the suggested grade is then none.
	Critical bool `json:"critical"`
	// MayBeAbsent: the part is missing from some devices of the family (a
	// camera, Bluetooth, an Ethernet port), so "na" is an accepted answer.
	MayBeAbsent bool `json:"may_be_absent"`
}

// Label is the translation key of the item's name.
func (it Item) Label() string { return itemLabels[it.ID] }

// itemLabels names every test any checklist uses. The keys are written
// out so that the catalogs' tests see them.
var itemLabels = map[string]string{
	"activation_lock": "diagnosis.item.activation_lock",
	"audio":           "diagnosis.item.audio",
	"battery":         "diagnosis.item.battery",
	"bluetooth":       "diagnosis.item.bluetooth",
	"buttons":         "diagnosis.item.buttons",
	"cable":           "diagnosis.item.cable",
	"camera":          "diagnosis.item.camera",
	"cellular":        "diagnosis.item.cellular",
	"charger":         "diagnosis.item.charger",
	"charging":        "diagnosis.item.charging",
	"config_reset":    "diagnosis.item.config_reset",
	"connection":      "diagnosis.item.connection",
	"consumables":     "diagnosis.item.consumables",
	"cooling":         "diagnosis.item.cooling",
	"dead_pixels":     "diagnosis.item.dead_pixels",
	"ethernet":        "diagnosis.item.ethernet",
	"focus":           "diagnosis.item.focus",
	"keyboard":        "diagnosis.item.keyboard",
	"lamp":            "diagnosis.item.lamp",
	"memory":          "diagnosis.item.memory",
	"output":          "diagnosis.item.output",
	"paper_feed":      "diagnosis.item.paper_feed",
	"ports":           "diagnosis.item.ports",
	"power":           "diagnosis.item.power",
	"print":           "diagnosis.item.print",
	"remote":          "diagnosis.item.remote",
	"scan":            "diagnosis.item.scan",
	"screen":          "diagnosis.item.screen",
	"scroll":          "diagnosis.item.scroll",
	"stand":           "diagnosis.item.stand",
	"storage":         "diagnosis.item.storage",
	"touchpad":        "diagnosis.item.touchpad",
	"touchscreen":     "diagnosis.item.touchscreen",
	"tracking":        "diagnosis.item.tracking",
	"video_in":        "diagnosis.item.video_in",
	"video_out":       "diagnosis.item.video_out",
	"wifi":            "diagnosis.item.wifi",
}

// BatteryItem is the test whose presence makes the battery health of the
// device's specs count in the grade.
const BatteryItem = "battery"

// Checklist is the versioned list of tests of one family of categories.
type Checklist struct {
	// ID names the family and the version ("laptop/v1"); it is stored with
	// every diagnosis, so changing a list means a new version.
	ID         string   `json:"id"`
	Family     string   `json:"family"`
	Categories []string `json:"categories"`
	Items      []Item   `json:"items"`
}

// Item returns the test of the list with that id.
func (c Checklist) Item(id string) (Item, bool) {
	i := slices.IndexFunc(c.Items, func(it Item) bool { return it.ID == id })
	if i < 0 {
		return Item{}, false
	}
	return c.Items[i], true
}

// HasBattery reports whether the family's devices carry a rechargeable
// battery whose health the grade rules read.
func (c Checklist) HasBattery() bool {
	_, ok := c.Item(BatteryItem)
	return ok
}

// Shorthands for the tables below: a critical test, a minor one, and
// either of them when the part may be absent.
func crit(id string) Item     { return Item{ID: id, Critical: true} }
func minor(id string) Item    { return Item{ID: id} }
func critOpt(id string) Item  { return Item{ID: id, Critical: true, MayBeAbsent: true} }
func minorOpt(id string) Item { return Item{ID: id, MayBeAbsent: true} }

// checklists are every version of every family's list, current ones
// last for each family. Criticality is per family: a dead speaker stops a
// phone's calls, not a laptop's work.
var checklists = []Checklist{
	{ID: "laptop/v1", Family: "laptop", Categories: []string{"laptop"}, Items: []Item{
		crit("power"), crit("screen"), minor("dead_pixels"), crit("keyboard"), minor("touchpad"), minorOpt("battery"),
		crit("charger"), crit("storage"), crit("memory"), minor("ports"), crit("wifi"), minorOpt("bluetooth"),
		minorOpt("camera"), minor("audio"), minorOpt("ethernet")}},
	{ID: "desktop/v1", Family: "desktop", Categories: []string{"desktop", "thin_client", "server"}, Items: []Item{
		crit("power"), crit("storage"), crit("memory"), crit("cooling"), crit("ports"), crit("ethernet"),
		crit("video_out"), minorOpt("wifi"), minorOpt("bluetooth"), minorOpt("audio")}},
	{ID: "all_in_one/v1", Family: "all_in_one", Categories: []string{"all_in_one"}, Items: []Item{
		crit("power"), crit("screen"), minor("dead_pixels"), critOpt("touchscreen"), crit("storage"), crit("memory"),
		crit("cooling"), crit("ports"), minorOpt("ethernet"), minorOpt("wifi"), minorOpt("bluetooth"),
		minorOpt("camera"), minor("audio")}},
	{ID: "display/v1", Family: "display", Categories: []string{"monitor_22", "monitor_24", "monitor_27", "monitor_32",
		"monitor_xl", "tv"}, Items: []Item{
		crit("power"), crit("screen"), minor("dead_pixels"), crit("video_in"), minor("buttons"), minorOpt("audio"),
		minorOpt("remote"), minorOpt("stand")}},
	{ID: "smartphone/v1", Family: "smartphone", Categories: []string{"smartphone"}, Items: []Item{
		crit("power"), crit("screen"), crit("touchscreen"), minor("dead_pixels"), crit("battery"), crit("ports"),
		crit("buttons"), crit("cellular"), crit("wifi"), minor("bluetooth"), minor("camera"), crit("audio"),
		crit("activation_lock"), minorOpt("charger")}},
	{ID: "tablet/v1", Family: "tablet", Categories: []string{"tablet"}, Items: []Item{
		crit("power"), crit("screen"), crit("touchscreen"), minor("dead_pixels"), crit("battery"), crit("ports"),
		crit("buttons"), crit("wifi"), minorOpt("cellular"), minor("bluetooth"), minor("camera"), minor("audio"),
		crit("activation_lock"), minorOpt("charger")}},
	{ID: "printer/v1", Family: "printer", Categories: []string{"printer_inkjet", "printer_laser", "printer_mfp_a3",
		"printer_mfp_large"}, Items: []Item{
		crit("power"), crit("print"), crit("paper_feed"), minorOpt("scan"), crit("buttons"), crit("ports"),
		minorOpt("ethernet"), minorOpt("wifi"), minor("consumables")}},
	{ID: "network/v1", Family: "network", Categories: []string{"network_box", "network_small", "network_rack"}, Items: []Item{
		crit("power"), crit("ethernet"), minorOpt("wifi"), crit("config_reset"), minorOpt("ports"), critOpt("cooling")}},
	{ID: "keyboard/v1", Family: "keyboard", Categories: []string{"keyboard"}, Items: []Item{
		crit("keyboard"), crit("connection")}},
	{ID: "mouse/v1", Family: "mouse", Categories: []string{"mouse"}, Items: []Item{
		crit("buttons"), crit("tracking"), minorOpt("scroll"), crit("connection")}},
	{ID: "docking_station/v1", Family: "docking_station", Categories: []string{"docking_station"}, Items: []Item{
		crit("power"), crit("connection"), crit("ports"), crit("video_out"), minorOpt("ethernet"), minorOpt("audio"),
		minorOpt("charging")}},
	{ID: "charger/v1", Family: "charger", Categories: []string{"laptop_charger"}, Items: []Item{
		crit("output"), crit("cable")}},
	{ID: "projector/v1", Family: "projector", Categories: []string{"projector"}, Items: []Item{
		crit("power"), crit("lamp"), minor("focus"), crit("video_in"), crit("cooling"), minor("buttons"),
		minorOpt("remote"), minorOpt("audio")}},
	{ID: "external_storage/v1", Family: "external_storage", Categories: []string{"external_hdd"}, Items: []Item{
		crit("connection"), crit("storage"), minorOpt("power")}},
}

// current maps each category to the latest checklist of its family.
var current = func() map[string]Checklist {
	m := map[string]Checklist{}
	for _, c := range checklists {
		for _, cat := range c.Categories {
			m[cat] = c // later versions come later
		}
	}
	return m
}()

// ForCategory returns the checklist a device of the category is diagnosed
// with today.
func ForCategory(category string) (Checklist, bool) {
	c, ok := current[category]
	return clone(c), ok
}

// ByID returns a checklist by its versioned id, current or not, to read a
// diagnosis stored with it.
func ByID(id string) (Checklist, bool) {
	i := slices.IndexFunc(checklists, func(c Checklist) bool { return c.ID == id })
	if i < 0 {
		return Checklist{}, false
	}
	return clone(checklists[i]), true
}

// Checklists returns every current checklist, in a stable order.
func Checklists() []Checklist {
	seen := map[string]bool{}
	var out []Checklist
	for _, cat := range slices.Sorted(maps.Keys(current)) {
		c := current[cat]
		if !seen[c.ID] {
			seen[c.ID] = true
			out = append(out, clone(c))
		}
	}
	return out
}

// Labels returns the translation key of every test name, for the
// catalogs' tests.
func Labels() []string { return slices.Sorted(maps.Values(itemLabels)) }

// clone copies a checklist so callers cannot change the tables.
func clone(c Checklist) Checklist {
	c.Categories = slices.Clone(c.Categories)
	c.Items = slices.Clone(c.Items)
	return c
}
