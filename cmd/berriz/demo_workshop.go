package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/device"
	"github.com/berriz/berriz/internal/diagnosis"
	"github.com/berriz/berriz/internal/erasure"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/parts"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/tag"
	"github.com/berriz/berriz/storage"
)

// The workshops' day in the demo: from the devices received at intake,
// each workshop diagnoses, erases, repairs, grades, publishes, dismantles
// and recycles some, so that a visitor finds a device in every state of
// the workflow, the flag of a failed erasure, a spare-parts stock, an
// open recycling batch and one handed over. Everything goes through the
// store functions of the pages (demo_bench.go): the event chains are
// genuine and `berriz audit verify` passes. The day is compressed: the
// erasure records say they ended in the last hours, while every event is
// stamped with the moment the demo ran. The erasure certificates are not
// issued here: the server issues each on its first download, in the
// reader's language, with the wording and dates of its own pages.

// demoWorkshopResult is what the workshops' day left, for printDemo.
type demoWorkshopResult struct {
	States        map[lifecycle.State]int // devices per state, declared ones left out
	ErasureFailed int                     // devices held back by a failed verification
	InOpenBatch   int                     // devices waiting in an open recycling batch
	StockParts    int                     // parts in stock
	Locations     int
}

// principal is the demo user local@demoDomain acting for organisation
// orgKey, as a session would make it.
func (res *demoResult) principal(orgKey, local string) (*account.Principal, error) {
	o := res.Orgs[orgKey]
	for _, u := range res.Users {
		if u.Email == local+"@"+demoDomain && u.OrgID == o.ID {
			return &account.Principal{UserID: u.ID, OrgID: o.ID, OrgKind: o.Kind, OrgName: o.Name, OrgAdmin: u.OrgAdmin,
				Email: u.Email, Name: u.Name}, nil
		}
	}
	return nil, fmt.Errorf("no demo user %s in %s", local, orgKey)
}

// seedDemoWorkshops runs the day of both workshops on the devices they
// received, then counts what it left.
func seedDemoWorkshops(ctx context.Context, db *postgres.DB, files storage.Store, res *demoResult) error {
	bench := func(key string) *demoBench {
		b := &demoBench{ctx: ctx, db: db, files: files, key: key, now: time.Now(), locations: map[string]int64{}}
		if b.tech, b.err = res.principal(key, key+".tech"); b.err == nil {
			b.admin, b.err = res.principal(key, key+".admin")
			b.scope = postgres.DonationScope{WorkshopOrgID: b.tech.OrgID}
		}
		return b
	}
	postes, portables, mediatheque := res.Intake["bayonne-postes"], res.Intake["itsasoa-portables"], res.Intake["anglet-mediatheque"]
	if len(postes) != 8 || len(portables) != 4 || len(mediatheque) != 9 {
		return fmt.Errorf("workshops: intake of %d, %d and %d devices, want 8, 4 and 9", len(postes), len(portables), len(mediatheque))
	}
	bz := bench("berriztu")
	bz.berriztu(postes, portables)
	if bz.err != nil {
		return bz.err
	}
	hd := bench("hendaye")
	hd.hendaye(mediatheque)
	if hd.err != nil {
		return hd.err
	}

	w := demoWorkshopResult{States: map[lifecycle.State]int{}, Locations: len(bz.locations) + len(hd.locations)}
	err := db.EachDevice(ctx, postgres.DeviceFilter{}, func(v postgres.DeviceRow) error {
		if st := lifecycle.State(v.State); st != lifecycle.Declared {
			w.States[st]++
		}
		if v.ErasureFailed {
			w.ErasureFailed++
		}
		return nil
	})
	if err != nil {
		return err
	}
	batches, _, err := db.RecyclingBatches(ctx, 0, 1)
	if err != nil {
		return err
	}
	for _, b := range batches {
		if b.State == "open" {
			w.InOpenBatch += b.Devices
		}
	}
	_, page, err := db.StockParts(ctx, postgres.StockFilter{State: parts.InStock})
	if err != nil {
		return err
	}
	w.StockParts = page.Total
	res.Workshop = w
	return nil
}

// printDemoWorkshop says what the workshops hold and where to look.
func printDemoWorkshop(w io.Writer, r demoWorkshopResult) {
	fmt.Fprintf(w, "\nThe workshops' devices (sign in as berriztu.tech@%s or hendaye.tech@%s):\n", demoDomain, demoDomain)
	notes := map[lifecycle.State]string{}
	if r.InOpenBatch > 0 {
		notes[lifecycle.Received] = fmt.Sprintf(" (%d waiting in an open recycling batch)", r.InOpenBatch)
	}
	if r.ErasureFailed > 0 {
		notes[lifecycle.Diagnosed] = fmt.Sprintf(" (%d held back by a failed erasure verification)", r.ErasureFailed)
	}
	for _, st := range lifecycle.States {
		if n := r.States[st]; n > 0 {
			fmt.Fprintf(w, "  %-12s %2d%s\n", st, n, notes[st])
		}
	}
	fmt.Fprintf(w, "  %d parts in the spare-parts stock, %d locations (shelves, test bench)\n", r.StockParts, r.Locations)
	fmt.Fprintln(w, "Where to look: /workshop (dashboard), /scan (scan station), /stock (spare parts), /recycling (batches),")
	fmt.Fprintln(w, "/devices (each device's records and history); erasure certificates are issued on their first download.")
}

// The specs of the demo's models; serials differ per device.
func thinkpadT470(battery int, ssdSerial string) device.Specs {
	return device.Specs{CPU: "Intel Core i5-7300U", RAMGB: ptr(8), ScreenInches: ptr(14.0), BatteryHealthPct: ptr(battery),
		Drives: []device.Drive{{Position: 1, Type: device.NVMe, CapacityGB: 256, Serial: ssdSerial}}}
}

func latitude5490(battery *int, t device.DriveType, ssdSerial string) device.Specs {
	return device.Specs{CPU: "Intel Core i5-8350U", RAMGB: ptr(16), ScreenInches: ptr(14.0), BatteryHealthPct: battery,
		Drives: []device.Drive{{Position: 1, Type: t, CapacityGB: 256, Serial: ssdSerial}}}
}

func desktop(cpu string, ram int, t device.DriveType, gb int, serial string) device.Specs {
	return device.Specs{CPU: cpu, RAMGB: ptr(ram), Drives: []device.Drive{{Position: 1, Type: t, CapacityGB: gb, Serial: serial}}}
}

func thinkcentreM820z(ssdSerial string) device.Specs {
	return device.Specs{CPU: "Intel Core i5-8400T", RAMGB: ptr(8), ScreenInches: ptr(21.5),
		Drives: []device.Drive{{Position: 1, Type: device.SSD, CapacityGB: 256, Serial: ssdSerial}}}
}

func ptr[T any](v T) *T { return &v }

// Erasures the workshops run, by drive technology.
func nvmeSanitize(notes string) demoErasure {
	return demoErasure{Drive: 1, Tool: erasure.NVMeSanitize, Version: "nvme-cli 2.4", Method: erasure.PurgeBlockErase, Passes: 1,
		Verification: erasure.Passed, Took: 4 * time.Minute, Notes: notes}
}

func hdparmErase(v erasure.Verification, notes string) demoErasure {
	return demoErasure{Drive: 1, Tool: erasure.HdparmSecureErase, Version: "9.65", Method: erasure.PurgeBlockErase, Passes: 1,
		Verification: v, Took: 3 * time.Minute, Notes: notes}
}

// radioless adds to a desktop's diagnosis the Wi-Fi and Bluetooth it does
// not have.
func radioless(except map[string]diagnosis.Answer) map[string]diagnosis.Answer {
	if except == nil {
		except = map[string]diagnosis.Answer{}
	}
	except["wifi"], except["bluetooth"] = absent, absent
	return except
}

// storagePart finds the drive among parts kept from a dismantled device.
func storagePart(kept []postgres.StockPart) postgres.StockPart {
	for _, p := range kept {
		if p.DriveType != "" {
			return p
		}
	}
	return postgres.StockPart{}
}

// demoLabel names a device on the recycler's certificate: its tag, then
// brand and model.
func demoLabel(d postgres.DeviceDetail) string {
	return tag.Code(d.Tag).String() + " " + d.Brand + " " + d.Model
}
