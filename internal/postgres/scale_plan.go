package postgres

import (
	"math/rand/v2"
	"slices"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/co2"
	"github.com/berriz/berriz/internal/lifecycle"
)

// The plan of a territory at scale (`berriz demo --devices N`): every
// organisation, donation, device with the times of each of its changes of
// state, handover and request, drawn in memory from a seeded generator
// before anything is written, so that the ids, the events' hash chains and
// the emission results can be computed in Go and copied in bulk
// (scale_load.go). The same seed gives the same territory.

// ScaleOptions say what to load.
type ScaleOptions struct {
	Devices int
	Seed    uint64
	// Now is the end of the five years the dates spread over; zero takes
	// time.Now().
	Now time.Time
	// PasswordHash is given to every user of the loaded organisations (one
	// hash for hundreds of accounts: argon2 per account would cost minutes).
	PasswordHash string
	// Progress, when set, is told of each step as it ends.
	Progress func(step string, rows int, took time.Duration)
}

// scaleMonths is how far back the dates go.
const scaleMonths = 60

type scaleOrg struct {
	id       int64
	kind     account.OrgKind
	name     string
	commune  string
	official string // "" for none
	user     int64  // its one user
}

type scaleDonation struct {
	id         int64
	donor      int // index in plan.orgs
	workshop   int
	at         time.Time
	devices    []int // indexes in plan.devices
	lines      int
	state      string
	receivedAt time.Time // the last intake, when every device is in
}

type scaleDevice struct {
	id       int64
	donation int
	line     int
	category string
	brand    string
	model    string
	serial   string
	year     int
	drives   int
	weight   float64
	state    lifecycle.State
	grade    string
	// chain is the device's changes of state, in order, from received
	// (the intake) on; times[i] is when chain[i] happened.
	chain    []lifecycle.State
	times    []time.Time
	handover int // index in plan.handovers, -1 for none
	res      int64
	line2    int // request line index
	reqs     int // request index of a reservation, -1 for none
	tag      string
}

type scaleHandover struct {
	id, request int64
	number      string
	workshop    int
	beneficiary int
	createdAt   time.Time
	confirmedAt time.Time
	answer      string // "" for none
	devices     []int
}

type scaleRequest struct {
	id          int64
	beneficiary int
	state       string
	submitted   time.Time
	decided     time.Time
	fulfilled   time.Time // zero unless fulfilled
	lines       []scaleLine
}

type scaleLine struct {
	id       int64
	category string
	quantity int
}

type scalePlan struct {
	now       time.Time
	orgs      []scaleOrg
	byKind    map[account.OrgKind][]int
	donations []scaleDonation
	devices   []scaleDevice
	handovers []scaleHandover
	requests  []scaleRequest
	operator  int
}

// scaleStates is the share of each final state in the plan. The states of
// the workshop's pipeline go to the newest devices (a device waits weeks in
// a workshop, not years); the others are spread over the five years.
var scaleStates = []struct {
	state    lifecycle.State
	perMille int
}{
	{lifecycle.Declared, 20}, {lifecycle.Received, 40}, {lifecycle.Diagnosed, 30}, {lifecycle.Wiped, 30},
	{lifecycle.Refurbished, 30}, {lifecycle.Available, 50}, {lifecycle.Reserved, 20},
	{lifecycle.Delivered, 300}, {lifecycle.Returned, 10}, {lifecycle.Recycled, 300}, {lifecycle.Dismantled, 170},
}

// pipeline says whether a state is one a device waits in at a workshop.
func pipeline(s lifecycle.State) bool {
	switch s {
	case lifecycle.Delivered, lifecycle.Returned, lifecycle.Recycled, lifecycle.Dismantled:
		return false
	}
	return true
}

// scaleCategories weighs the categories of the embedded factor set as
// donors give them: mostly laptops, towers, screens and phones.
var scaleCategories = map[string]int{
	"laptop": 300, "desktop": 150, "all_in_one": 20, "monitor_22": 60, "monitor_24": 90, "monitor_27": 30,
	"monitor_32": 5, "monitor_xl": 2, "smartphone": 100, "tablet": 50, "printer_inkjet": 10, "printer_laser": 15,
	"printer_mfp_a3": 3, "printer_mfp_large": 1, "server": 5, "network_box": 10, "network_small": 10,
	"network_rack": 2, "keyboard": 50, "mouse": 40, "docking_station": 15, "laptop_charger": 20, "projector": 5,
	"thin_client": 10, "tv": 3, "external_hdd": 5,
}

var scaleBrands = []string{"Dell", "HP", "Lenovo", "Apple", "Acer", "Asus", "Samsung", "Fujitsu", "Toshiba", "Microsoft"}

// newScalePlan draws the territory.
func newScalePlan(o ScaleOptions) *scalePlan {
	r := rand.New(rand.NewPCG(o.Seed, 0x6265727269))
	p := &scalePlan{now: o.Now.UTC().Truncate(time.Second), byKind: map[account.OrgKind][]int{}}
	p.planOrgs(r, o.Seed)
	p.planDonations(r, o.Devices)
	p.planStates(r)
	p.planDeliveries(r)
	return p
}

// planOrgs places organisations of every kind across the communes: a town
// hall per commune, companies, schools and associations in proportion.
func (p *scalePlan) planOrgs(r *rand.Rand, seed uint64) {
	stem := 50000000 + int(seed%1000)*40000 // SIREN stems of their own, apart from the small demo's
	uai, rna := 0, 0
	add := func(kind account.OrgKind, name, commune string) {
		var official string
		switch {
		case kind == account.KindSchool:
			// 064 and four digits, below the small demo's 0649xxx
			uai++
			n := 1000 + int(seed%40)*200 + uai
			digits := "064" + pad(n, 4)
			official = digits + string("ABCDEFGHJKLMNPRSTUVWXYZ"[(640000+n)%23])
		case kind == account.KindObservatory:
			// none
		case (kind == account.KindAssociation || kind == account.KindSocialStructure) && len(p.byKind[kind])%2 == 0:
			rna++ // half the associations are known by their RNA number, the others by a SIRET
			official = "W649" + itoa6(rna+int(seed%1000)*1000)
		default:
			stem++
			official = account.LuhnComplete(account.LuhnComplete(itoa8(stem)) + "0001")
		}
		p.byKind[kind] = append(p.byKind[kind], len(p.orgs))
		p.orgs = append(p.orgs, scaleOrg{kind: kind, name: name, commune: commune, official: official})
	}
	add(account.KindOperator, "Agence numérique (territoire de charge)", "64102")
	p.operator = 0
	add(account.KindIntercommunality, "Communauté d'agglomération (charge)", "64102")
	add(account.KindIntercommunality, "Syndicat numérique Iparralde (charge)", "64024")
	add(account.KindObservatory, "Observatoire du réemploi (charge)", "64102")
	add(account.KindObservatory, "Observatoire régional des déchets (charge)", "64122")
	for i, c := range scaleCommunes {
		add(account.KindCommune, "Mairie "+c, c)
		if i%3 == 0 {
			add(account.KindSchool, "École publique "+c, c)
		}
		if i%4 == 0 {
			add(account.KindAssociation, "Association numérique "+c, c)
		}
	}
	big := scaleCommunes[:12] // the coast and Bayonne hold most firms, schools and services
	for i := range 150 {
		add(account.KindCompany, "Entreprise "+itoa(i+1)+" (charge)", pick(r, big, scaleCommunes))
	}
	for i := range 20 {
		add(account.KindAdministration, "Administration "+itoa(i+1)+" (charge)", pick(r, big, scaleCommunes))
		add(account.KindDonorOther, "Donateur "+itoa(i+1)+" (charge)", pick(r, big, scaleCommunes))
	}
	for i := range 12 {
		add(account.KindWorkshop, "Atelier "+itoa(i+1)+" (charge)", scaleCommunes[(i*11)%len(scaleCommunes)])
	}
	for i := range 60 {
		add(account.KindSchool, "Collège "+itoa(i+1)+" (charge)", pick(r, big, scaleCommunes))
	}
	for i := range 40 {
		add(account.KindSocialStructure, "Structure sociale "+itoa(i+1)+" (charge)", pick(r, big, scaleCommunes))
	}
}

// pick takes a commune of the coast twice as often as any other.
func pick(r *rand.Rand, big, all []string) string {
	if r.IntN(3) < 2 {
		return big[r.IntN(len(big))]
	}
	return all[r.IntN(len(all))]
}

// planDonations draws donations of 1 to 60 devices, each month busier
// than the one before, until n devices are declared.
func (p *scalePlan) planDonations(r *rand.Rand, n int) {
	var donors []int
	for _, k := range []account.OrgKind{account.KindCommune, account.KindIntercommunality, account.KindCompany,
		account.KindAdministration, account.KindDonorOther} {
		donors = append(donors, p.byKind[k]...)
	}
	workshops := p.byKind[account.KindWorkshop]
	var cats []string
	var weights []int
	total := 0
	for _, c := range co2.Categories() {
		if w := scaleCategories[c.ID]; w > 0 {
			cats, weights, total = append(cats, c.ID), append(weights, w), total+w
		}
	}
	drawCat := func() string {
		x := r.IntN(total)
		for i, w := range weights {
			if x < w {
				return cats[i]
			}
			x -= w
		}
		return cats[0]
	}
	start := p.now.AddDate(0, -scaleMonths, 0)
	span := p.now.Sub(start).Hours() - 24*30 // the last donations are a month old at most
	p.devices = make([]scaleDevice, 0, n)
	for len(p.devices) < n {
		size := min(1+r.IntN(12)+r.IntN(12)*r.IntN(5), n-len(p.devices))
		// sqrt of a uniform: more donations as the years go by
		at := start.Add(time.Duration(span*sqrtF(r.Float64())) * time.Hour).Truncate(time.Minute)
		d := scaleDonation{donor: donors[r.IntN(len(donors))], workshop: workshops[r.IntN(len(workshops))], at: at}
		line, left := 0, size
		for left > 0 {
			line++
			q := min(left, 1+r.IntN(size))
			cat := drawCat()
			c, _ := co2.CategoryByID(cat)
			brand := scaleBrands[r.IntN(len(scaleBrands))]
			model := brand[:1] + "-" + itoa(100+r.IntN(900))
			year := p.now.Year() - 3 - r.IntN(10)
			for range q {
				d.devices = append(d.devices, len(p.devices))
				p.devices = append(p.devices, scaleDevice{donation: len(p.donations), line: line, category: cat, brand: brand,
					model: model, serial: serialOf(r), year: year, drives: drivesOf(cat),
					weight: float64(int(c.TypicalWeightKg*(0.8+0.4*r.Float64())*1000)) / 1000, handover: -1, reqs: -1})
			}
			left -= q
		}
		d.lines = line
		p.donations = append(p.donations, d)
	}
	// donations in date order, so that the newest devices are the last ones
	slices.SortStableFunc(p.donations, func(a, b scaleDonation) int { return a.at.Compare(b.at) })
	for i := range p.donations {
		for _, v := range p.donations[i].devices {
			p.devices[v].donation = i
		}
	}
}

func drivesOf(cat string) int {
	switch cat {
	case "laptop", "desktop", "all_in_one", "server", "thin_client", "smartphone", "tablet", "external_hdd":
		return 1
	}
	return 0
}

func serialOf(r *rand.Rand) string {
	const abc = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
	b := make([]byte, 10)
	for i := range b {
		b[i] = abc[r.IntN(len(abc))]
	}
	return string(b)
}
