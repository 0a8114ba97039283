package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/device"
	"github.com/berriz/berriz/internal/diagnosis"
	"github.com/berriz/berriz/internal/donation"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server"
)

// The allocation in the demo (issue 6): the schools and associations of
// the territory ask for devices, the operator decides, runs matching and
// sends proposals, the beneficiaries answer, the Ustaritz workshop hands
// laptops over with their receipts, the beneficiaries confirm (most of
// them answering "without this donation, what would you have done?") and
// one laptop comes back. A visitor finds a request in every state, a sent
// proposal waiting for its answers, accepted devices waiting for their
// handover, a handover to confirm, deliveries and a return. Everything
// goes through the store calls of the pages, and the certificates and
// receipts are written by the server's own Documents, so that the state
// is exactly what the product makes.

// demoAllocationLot is the lot the allocation delivers: the town of
// Anglet's laptops, refurbished at Ustaritz. seedDemoInventory declares
// and receives it with the others; its 11 laptops are published here.
func demoAllocationLot() demoDonation {
	return demoDonation{Key: "anglet-portables", Donor: "anglet", Declarant: "anglet.agent",
		Title: "Ordinateurs portables des services municipaux", Notes: "Remplacés par des postes fixes ; chargeurs fournis.",
		Workshop: "berriztu", Collected: true, Intake: 11,
		Lines: []donation.Line{
			{Category: "laptop", Brand: "Lenovo", Model: "ThinkPad T480", Year: 2018, Quantity: 7, StorageDrives: 1, WeightKg: 1.6},
			{Category: "laptop", Brand: "HP", Model: "EliteBook 840 G5", Year: 2018, Quantity: 4, StorageDrives: 1, WeightKg: 1.5},
		}}
}

// demoAllocationResult is what the allocation left, for printDemo.
type demoAllocationResult struct {
	Requests     map[allocation.RequestState]int
	Reservations map[allocation.ReservationState]int
	Handovers    map[allocation.HandoverState]int
	Proposals    int       // sent
	Answered     int       // confirmed handovers with an answer to the question
	Returned     int       // devices taken back
	Expires      time.Time // of the reservations waiting for an answer
}

// The laptops of the lot, as the diagnosis found them: the ThinkPads
// with 8 GB, the EliteBooks with 16 GB, each with its cosmetic grade.
func demoAllocationLaptop(i int) (device.Specs, diagnosis.Grade) {
	grades := []diagnosis.Grade{"A", "B", "A", "B", "A", "A", "B", "A", "A", "B", "A"}
	serial := fmt.Sprintf("S4EUNX0R%06d", 311201+i)
	if i < 7 {
		return device.Specs{CPU: "Intel Core i5-8250U", RAMGB: ptr(8), ScreenInches: ptr(14.0), BatteryHealthPct: ptr(84 + i),
			Drives: []device.Drive{{Position: 1, Type: device.NVMe, CapacityGB: 256, Serial: serial}}}, grades[i]
	}
	return device.Specs{CPU: "Intel Core i5-8350U", RAMGB: ptr(16), ScreenInches: ptr(14.0), BatteryHealthPct: ptr(88),
		Drives: []device.Drive{{Position: 1, Type: device.SSD, CapacityGB: 256, Serial: serial}}}, grades[i]
}

// seedDemoAllocation publishes the lot's laptops, then plays the
// allocation's story (see the top of this file), then counts what it left.
func seedDemoAllocation(ctx context.Context, db *postgres.DB, p demoParams, res *demoResult) error {
	docs, err := server.NewDocuments(p.Config)
	if err != nil {
		return err
	}
	d := &demoDesk{ctx: ctx, db: db, files: p.Files, docs: docs, res: res, days: p.Config.ReservationDays, now: time.Now(), lang: "fr"}
	if d.days < 1 {
		d.days = 7
	}
	if d.op, err = res.principal("operator", "operateur"); err != nil {
		return err
	}
	if d.tech, err = res.principal("berriztu", "berriztu.tech"); err != nil {
		return err
	}
	for _, u := range res.Users {
		if u.ID == d.tech.UserID && u.Lang != "" {
			d.lang = u.Lang
		}
	}
	b := &demoBench{ctx: ctx, db: db, files: p.Files, key: "berriztu", tech: d.tech, now: d.now, locations: map[string]int64{},
		scope: postgres.DonationScope{WorkshopOrgID: d.tech.OrgID}}
	if b.admin, err = res.principal("berriztu", "berriztu.admin"); err != nil {
		return err
	}
	lot := res.Intake[demoAllocationLot().Key]
	if len(lot) != 11 {
		return fmt.Errorf("allocation: %d laptops received, want 11", len(lot))
	}
	for i, id := range lot {
		s, g := demoAllocationLaptop(i)
		d.publish(b, id, s, g)
	}

	laptops := func(n, ram int, grade, notes string) allocation.LineJSON {
		l := allocation.LineJSON{Category: "laptop", Quantity: n, MinRAMGB: &ram, Notes: notes}
		if grade != "" {
			l.MinGrade = &grade
		}
		return l
	}
	// Filed and decided: the school of Bayonne in priority education, the
	// ikastola of a rural valley; an association asking to resell (refused)
	// and withdrawing a second request; another waiting for the decision.
	marracq := d.file("marracq", allocation.RequestJSON{
		Purpose:         "Classe mobile pour les élèves de 6e et de 5e : travail en groupe, ENT et évaluations nationales en ligne.\nUn écran pour le CDI.",
		DeliveryCommune: inseeBayonne, Criteria: []string{"rep", "qpv"},
		Lines: []allocation.LineJSON{laptops(6, 8, "B", "Avec chargeur ; clavier AZERTY"), {Category: "monitor_24", Quantity: 2, Notes: "Pour le CDI"}}})
	garazi := d.file("garazi", allocation.RequestJSON{
		Purpose:         "Etxean ordenagailurik ez duten familientzat, ikasleek etxeko lanak egin ditzaten.",
		DeliveryCommune: inseeStJeanPied, Criteria: []string{"zrr"}, Lines: []allocation.LineJSON{laptops(2, 8, "", "")}})
	d.decide(marracq, "approve", "Réseau d'éducation prioritaire et quartier prioritaire vérifiés auprès de la DSDEN.")
	d.decide(garazi, "approve", "")
	resell := d.file("reemploi", allocation.RequestJSON{
		Purpose:         "Revendre à petit prix des ordinateurs reconditionnés aux adhérents de l'association.",
		DeliveryCommune: inseeAnglet, Criteria: []string{"social"},
		Lines: []allocation.LineJSON{{Category: "desktop", Quantity: 10, Notes: "Unités centrales seules"}}})
	d.decide(resell, "decline", "Les appareils du programme sont donnés, jamais revendus : une demande pour un usage solidaire et gratuit serait recevable.")
	withdrawn := d.file("reemploi", allocation.RequestJSON{
		Purpose:         "Un poste d'accueil pour l'atelier d'insertion du mardi.",
		DeliveryCommune: inseeAnglet, Criteria: []string{"social"}, Lines: []allocation.LineJSON{{Category: "all_in_one", Quantity: 1}}})
	d.decide(withdrawn, "approve", "")
	d.cancel(withdrawn, "reemploi", "Une entreprise voisine nous a donné un poste entre-temps.")
	d.file("xiberoa", allocation.RequestJSON{
		Purpose:         "Espace public numérique de Mauléon : ateliers d'initiation pour les seniors et aide aux démarches en ligne.",
		DeliveryCommune: inseeMauleon, Criteria: []string{"zrr", "digital_inclusion"},
		Lines: []allocation.LineJSON{laptops(4, 8, "", ""), {Category: "printer_laser", Quantity: 1}}})

	// The first proposal: six laptops for the school (served first, its
	// priority is higher), two for the ikastola. The school turns one
	// down; both take the others.
	d.propose()
	for _, r := range d.waiting("garazi") {
		d.answer("garazi", r, true)
	}
	for i, r := range d.waiting("marracq") {
		d.answer("marracq", r, i < 5)
	}
	// Handovers: the ikastola's two laptops; the school's in three goes,
	// the last not confirmed yet; one of the school's accepted laptops is
	// still on the shelf.
	d.confirm(d.prepare(garazi, 0), "garazi", allocation.GoneWithout)
	first := d.prepare(marracq, 2)
	d.confirm(first, "marracq", allocation.BoughtSecondHand)
	d.confirm(d.prepare(marracq, 1), "marracq", "")
	d.prepare(marracq, 1)
	d.takeBack(first, "marracq", "L'écran s'éteint au bout de quelques minutes, même sur secteur.")

	// The second proposal, sent and waiting: the school's last laptop and
	// three for the lycée, approved since.
	lycee := d.file("ramiro-arrue", allocation.RequestJSON{
		Purpose:         "Ordinateurs pour la section BTS : logiciels de gestion et préparation des examens.",
		DeliveryCommune: inseeStJeanLuz, Criteria: []string{"qpv"},
		Lines: []allocation.LineJSON{{Category: "laptop", Quantity: 3, MinStorageGB: ptr(256), Notes: "Pour la salle 12"}}})
	d.decide(lycee, "approve", "")
	d.propose()
	if d.err != nil {
		return d.err
	}
	return d.count()
}

// count reads what the allocation left, for printDemo.
func (d *demoDesk) count() error {
	r := demoAllocationResult{Requests: map[allocation.RequestState]int{}, Reservations: map[allocation.ReservationState]int{},
		Handovers: map[allocation.HandoverState]int{}}
	for page := 1; ; page++ {
		rs, p, err := d.db.Requests(d.ctx, postgres.RequestFilter{Page: page})
		if err != nil {
			return err
		}
		for _, q := range rs {
			r.Requests[q.State]++
		}
		if page >= p.Pages() {
			break
		}
	}
	ps, _, err := d.db.Proposals(d.ctx, 1)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if p.State == "sent" {
			r.Proposals++
		}
	}
	for page := 1; ; page++ {
		rs, p, err := d.db.LiveReservations(d.ctx, 0, page)
		if err != nil {
			return err
		}
		for _, x := range rs {
			r.Reservations[x.State]++
			if x.ExpiresAt != nil && x.ExpiresAt.After(r.Expires) {
				r.Expires = *x.ExpiresAt
			}
		}
		if page >= p.Pages() {
			break
		}
	}
	for page := 1; ; page++ {
		hs, p, err := d.db.Handovers(d.ctx, postgres.HandoverScope{}, page)
		if err != nil {
			return err
		}
		for _, h := range hs {
			r.Handovers[h.State]++
			if h.State == allocation.HandoverConfirmed {
				r.Reservations[allocation.ReservationDelivered] += h.Devices
				if h.Answer != "" {
					r.Answered++
				}
			}
		}
		if page >= p.Pages() {
			break
		}
	}
	err = d.db.EachDevice(d.ctx, postgres.DeviceFilter{}, func(v postgres.DeviceRow) error {
		if lifecycle.State(v.State) == lifecycle.Returned {
			r.Returned++
		}
		return nil
	})
	d.res.Allocation = r
	return err
}

// printDemoAllocation says what the allocation left and where to look.
func printDemoAllocation(w io.Writer, r demoAllocationResult) {
	fmt.Fprintf(w, "\nRequests and deliveries (sign in as marracq.admin@%s, operateur@%s or berriztu.tech@%s):\n",
		demoDomain, demoDomain, demoDomain)
	fmt.Fprint(w, "  requests:")
	for i, st := range []allocation.RequestState{allocation.Submitted, allocation.Approved, allocation.PartiallyFulfilled,
		allocation.Fulfilled, allocation.Declined, allocation.Cancelled} {
		if i > 0 {
			fmt.Fprint(w, ",")
		}
		fmt.Fprintf(w, " %d %s", r.Requests[st], st)
	}
	fmt.Fprintf(w, "\n  %d proposals sent: %d devices waiting for the beneficiary's answer until %s, %d accepted\n",
		r.Proposals, r.Reservations[allocation.ReservationReserved], r.Expires.Format(time.DateOnly),
		r.Reservations[allocation.ReservationAccepted])
	fmt.Fprintf(w, "  handovers: %d prepared, %d confirmed (%d devices delivered, %d answers to \"without this donation...\"), %d device returned\n",
		r.Handovers[allocation.HandoverPrepared], r.Handovers[allocation.HandoverConfirmed],
		r.Reservations[allocation.ReservationDelivered], r.Answered, r.Returned)
	fmt.Fprintln(w, "Where to look: /requests, /proposals, /reservations, /catalogue, /handovers (each with its receipt PDF).")
}
