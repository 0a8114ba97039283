package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/config"
	"github.com/berriz/berriz/internal/donation"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/tag"
)

const demoUsage = `Usage: berriz demo [--if-empty] [--allow-production]

Loads a demo territory (the Pays basque: operator, donors, workshops, schools,
associations, an observatory client) into an empty database, and prints the
demo accounts, their shared password and the observatory's API token.

A database that already holds an organisation is left alone: berriz demo
then fails, berriz demo --if-empty succeeds silently (for make run).
The demo is loaded step by step, not in one transaction: if it fails half
way, load it again into a fresh database.
`

// demoPassword is the password of every demo account. It is public (printed,
// documented), which is why the demo refuses production unless told.
const demoPassword = "berriz-demo-2026"

const demoDomain = "demo.berriz.eus"

// errNotEmpty says the demo would mix with real data.
var errNotEmpty = errors.New("database not empty, demo not loaded")

func cmdDemo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stdout, demoUsage) }
	ifEmpty := fs.Bool("if-empty", false, "succeed silently when the database is not empty")
	allowProduction := fs.Bool("allow-production", false, "load the demo even with BERRIZ_ENV=production (a public demo site)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: %w", fs.Arg(0), errUsage)
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	if cfg.Production() && !*allowProduction {
		return errors.New("refusing to load demo accounts with a public password in production (BERRIZ_ENV=production); add --allow-production for a demo site")
	}
	db, err := openDatabase(ctx, cfg, newLogger(cfg, stderr))
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.CheckSchema(ctx); err != nil {
		return fmt.Errorf("run `berriz migrate up` first: %w", err)
	}
	_, page, err := db.ListOrganisations(ctx, postgres.OrgFilter{})
	if err != nil {
		return err
	}
	if page.Total > 0 {
		if *ifEmpty {
			return nil
		}
		return fmt.Errorf("%w (%d organisations): it loads only into a fresh database", errNotEmpty, page.Total)
	}
	res, err := seedDemo(ctx, db, demoParams{Password: demoPassword, Argon2: argon2Params(cfg)})
	if err != nil {
		return fmt.Errorf("demo: %w (the database now holds part of the demo: load it into a fresh database)", err)
	}
	printDemo(stdout, res, cfg.PublicURL.String())
	return nil
}

func printDemo(w io.Writer, res demoResult, publicURL string) {
	fmt.Fprintf(w, "demo territory loaded: %d organisations, %d users, %d donations (%d devices, %d received and tagged), %d tag batches\n\n",
		len(res.Orgs), len(res.Users), len(res.Donations), res.Devices, res.Received, len(res.TagBatches))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EMAIL\tORGANISATION\tROLE\tADMIN\tLANG")
	for _, u := range res.Users {
		admin := "no"
		if u.OrgAdmin {
			admin = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Email, u.OrgName, u.Role(), admin, u.Lang)
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "\nEvery demo account signs in at %s/login with the password: %s\n", publicURL, res.Password)
	fmt.Fprintf(w, "API token of %q (read-only, shown only now): %s\n", res.Orgs["observatory"].Name, res.ObservatoryToken)
}

// demoParams are what seedDemo needs from the configuration.
type demoParams struct {
	Password string
	Argon2   account.Argon2Params
}

// demoResult is what seedDemo created. Orgs is keyed by demoOrg.Key, so the
// steps that later add donations and devices can find their donors,
// workshops and beneficiaries.
type demoResult struct {
	Orgs             map[string]account.Organisation
	Users            []account.User // in creation order
	Password         string
	ObservatoryToken string                       // plain secret of the observatory's read-only token
	Donations        []postgres.Donation          // in declaration order, in their final state
	Devices          int                          // devices declared
	TagBatches       map[string]postgres.TagBatch // by workshop key
	Received         int                          // devices received at intake, each with a tag
}

type demoOrg struct {
	Key        string
	Kind       account.OrgKind
	Name       string
	Commune    string // INSEE code
	OfficialID string
	Users      []demoUser
}

type demoUser struct {
	Local string // e-mail local part, under demoDomain
	Name  string
	Admin bool
	Lang  string
}

// INSEE codes of the communes the demo uses.
const (
	inseeBayonne    = "64102"
	inseeAnglet     = "64024"
	inseeBiarritz   = "64122"
	inseeHendaye    = "64260"
	inseeStJeanLuz  = "64483"
	inseeUstaritz   = "64547"
	inseeMauleon    = "64371"
	inseeStJeanPied = "64485"
)

// demoTerritory is the demo's content. The people, numbers and most
// organisations are fictional; the official ids have valid check keys.
func demoTerritory() []demoOrg {
	return []demoOrg{
		{Key: "operator", Kind: account.KindOperator, Name: "Agence numérique du Pays basque", Commune: inseeBayonne,
			OfficialID: demoSIRET("20009871", "0001"),
			Users:      []demoUser{{"operateur", "Maite Etxeberria", true, "fr"}}},

		{Key: "bayonne", Kind: account.KindCommune, Name: "Ville de Bayonne", Commune: inseeBayonne,
			OfficialID: demoSIRET("21649910", "0001"),
			Users:      []demoUser{{"bayonne.admin", "Philippe Laborde", true, "fr"}, {"bayonne.agent", "Sophie Harriet", false, "fr"}}},
		{Key: "anglet", Kind: account.KindCommune, Name: "Ville d'Anglet", Commune: inseeAnglet,
			OfficialID: demoSIRET("21649920", "0001"),
			Users:      []demoUser{{"anglet.admin", "Isabelle Darrigrand", true, "fr"}, {"anglet.agent", "Julien Lafitte", false, "fr"}}},
		{Key: "itsasoa", Kind: account.KindCompany, Name: "Itsasoa Conseil", Commune: inseeBiarritz,
			OfficialID: demoSIRET("84312759", "0002"),
			Users:      []demoUser{{"itsasoa.admin", "Marc Duhalde", true, "fr"}, {"itsasoa.it", "Emma Wilson", false, "en"}}},

		{Key: "berriztu", Kind: account.KindWorkshop, Name: "Atelier Berriztu (Ustaritz)", Commune: inseeUstaritz,
			OfficialID: "W643004127",
			Users:      []demoUser{{"berriztu.admin", "Peio Irigoyen", true, "fr"}, {"berriztu.tech", "Ander Garat", false, "fr"}}},
		{Key: "hendaye", Kind: account.KindWorkshop, Name: "Insertion numérique Hendaye", Commune: inseeHendaye,
			OfficialID: demoSIRET("89047512", "0001"),
			Users:      []demoUser{{"hendaye.admin", "Nadia Benali", true, "fr"}, {"hendaye.tech", "Kevin Olhagaray", false, "fr"}}},

		{Key: "marracq", Kind: account.KindSchool, Name: "Collège Marracq", Commune: inseeBayonne,
			OfficialID: demoUAI("0649001"),
			Users:      []demoUser{{"marracq.admin", "Anne Lissarrague", true, "fr"}}},
		{Key: "garazi", Kind: account.KindSchool, Name: "Ikastola Garazi", Commune: inseeStJeanPied,
			OfficialID: demoUAI("0649017"),
			Users:      []demoUser{{"garazi.admin", "Miren Arrieta", true, "eu"}}},
		{Key: "ramiro-arrue", Kind: account.KindSchool, Name: "Lycée Ramiro Arrue", Commune: inseeStJeanLuz,
			OfficialID: demoUAI("0649023"),
			Users:      []demoUser{{"ramiro-arrue.admin", "Xabi Elissalde", true, "eu"}}},
		{Key: "reemploi", Kind: account.KindAssociation, Name: "Compagnons du réemploi Adour", Commune: inseeAnglet,
			OfficialID: demoSIRET("42213906", "0003"),
			Users:      []demoUser{{"reemploi.admin", "Bernard Castaings", true, "fr"}}},
		{Key: "xiberoa", Kind: account.KindAssociation, Name: "Xiberoa Numérique", Commune: inseeMauleon,
			OfficialID: "W642001358",
			Users:      []demoUser{{"xiberoa.admin", "Ainhoa Etchebarne", true, "fr"}}},

		{Key: "observatory", Kind: account.KindObservatory, Name: "Observatoire du numérique responsable", Commune: inseeBayonne,
			OfficialID: demoSIRET("13003145", "0001")},
	}
}

// seedDemo loads the demo territory into db, which should be empty. Each
// store call is its own transaction, so a failure leaves what was created
// before it.
func seedDemo(ctx context.Context, db *postgres.DB, p demoParams) (demoResult, error) {
	res := demoResult{Orgs: map[string]account.Organisation{}, Password: p.Password}
	for _, d := range demoTerritory() {
		o, err := account.OrgInput{Kind: string(d.Kind), Name: d.Name, Commune: d.Commune, OfficialID: d.OfficialID}.Validate()
		if err != nil {
			return res, fmt.Errorf("organisation %s: %w", d.Name, err)
		}
		if o, err = db.CreateOrganisation(ctx, o, nil, ""); err != nil {
			return res, err
		}
		res.Orgs[d.Key] = o
		for _, du := range d.Users {
			email := du.Local + "@" + demoDomain
			if err := account.CheckPasswordPolicy(p.Password, email); err != nil {
				return res, fmt.Errorf("demo password for %s: %w", email, err)
			}
			// One hash per user, each with its own salt, as real accounts have.
			hash, err := account.HashPassword(p.Password, p.Argon2)
			if err != nil {
				return res, err
			}
			u, err := db.CreateUser(ctx, postgres.NewUser{OrgID: o.ID, Email: email, Name: du.Name, PasswordHash: hash,
				OrgAdmin: du.Admin, Lang: du.Lang}, nil, "")
			if err != nil {
				return res, err
			}
			res.Users = append(res.Users, u)
		}
	}

	plain, _ := account.NewToken()
	plain = "brz_" + plain
	obs := res.Orgs["observatory"]
	if _, err := db.CreateToken(ctx, postgres.NewToken{OrgID: obs.ID, Name: "Démo (lecture seule)", Scope: "read",
		Prefix: plain[:12], Hash: account.HashToken(plain)}, nil, ""); err != nil {
		return res, err
	}
	res.ObservatoryToken = plain
	if err := seedDemoInventory(ctx, db, &res); err != nil {
		return res, err
	}
	return res, nil
}

// demoDonation is one lot of the demo: declared by a user of the donor,
// then, when Workshop is set, assigned to it by the operator and, when
// Collected, picked up.
type demoDonation struct {
	Donor, Declarant string // organisation key, e-mail local part
	Title, Notes     string
	Lines            []donation.Line
	Workshop         string // workshop key, "" for not assigned yet
	Collected        bool
	Intake           int // devices the workshop receives and tags (collected lots only)
}

// demoDonations are the lots of the two communes and the company, with
// categories of internal/co2 and plausible models, years and weights.
func demoDonations() []demoDonation {
	return []demoDonation{
		{Donor: "bayonne", Declarant: "bayonne.agent", Title: "Renouvellement des postes de la mairie annexe",
			Notes: "Postes remplacés en 2025, disques encore en place.", Workshop: "berriztu", Collected: true, Intake: 6,
			Lines: []donation.Line{
				{Category: "laptop", Brand: "Lenovo", Model: "ThinkPad T470", Year: 2018, Quantity: 6, StorageDrives: 1, WeightKg: 1.6},
				{Category: "desktop", Brand: "HP", Model: "ProDesk 600 G3", Year: 2017, Quantity: 4, StorageDrives: 1, WeightKg: 5.5},
				{Category: "monitor_24", Brand: "Dell", Model: "P2419H", Year: 2019, Quantity: 6, WeightKg: 5.2},
			}},
		{Donor: "bayonne", Declarant: "bayonne.admin", Title: "Tablettes des écoles maternelles",
			Lines: []donation.Line{
				{Category: "tablet", Brand: "Apple", Model: "iPad (6e génération)", Year: 2018, Quantity: 8, StorageDrives: 1, WeightKg: 0.47, Notes: "Coques de protection fournies"},
				{Category: "laptop_charger", Brand: "Apple", Model: "USB 12 W", Quantity: 8, WeightKg: 0.1},
			}},
		{Donor: "bayonne", Declarant: "bayonne.agent", Title: "Imprimantes du service urbanisme", Workshop: "hendaye",
			Lines: []donation.Line{
				{Category: "printer_laser", Brand: "HP", Model: "LaserJet Pro M402dn", Year: 2017, Quantity: 3, WeightKg: 8.6},
				{Category: "printer_mfp_a3", Brand: "Ricoh", Model: "MP C3004", Serial: "E174M930211", Year: 2016, Quantity: 1, StorageDrives: 1, WeightKg: 95, Notes: "Disque interne à effacer"},
			}},
		{Donor: "anglet", Declarant: "anglet.agent", Title: "Parc informatique de la médiathèque",
			Notes: "Postes publics, comptes locaux seulement.", Workshop: "hendaye", Collected: true, Intake: 6,
			Lines: []donation.Line{
				{Category: "all_in_one", Brand: "Lenovo", Model: "ThinkCentre M820z", Year: 2019, Quantity: 5, StorageDrives: 1, WeightKg: 9.3},
				{Category: "desktop", Brand: "Dell", Model: "OptiPlex 3060", Year: 2018, Quantity: 3, StorageDrives: 1, WeightKg: 5.3},
				{Category: "monitor_22", Brand: "Iiyama", Model: "ProLite E2283HS", Year: 2018, Quantity: 3, WeightKg: 3.4},
				{Category: "keyboard", Brand: "Logitech", Model: "K120", Quantity: 8, WeightKg: 0.55},
			}},
		{Donor: "anglet", Declarant: "anglet.admin", Title: "Smartphones de la police municipale", Workshop: "berriztu",
			Lines: []donation.Line{
				{Category: "smartphone", Brand: "Samsung", Model: "Galaxy A40", Year: 2019, Quantity: 12, StorageDrives: 1, WeightKg: 0.15},
			}},
		{Donor: "itsasoa", Declarant: "itsasoa.it", Title: "Fin de location des portables 2019",
			Notes: "BIOS sans mot de passe.", Workshop: "berriztu", Collected: true,
			Lines: []donation.Line{
				{Category: "laptop", Brand: "Dell", Model: "Latitude 5490", Serial: "7XKQ2R2", Year: 2019, Quantity: 1, StorageDrives: 1, WeightKg: 1.8},
				{Category: "laptop", Brand: "Dell", Model: "Latitude 5490", Serial: "8BMQ2R2", Year: 2019, Quantity: 1, StorageDrives: 1, WeightKg: 1.8},
				{Category: "laptop", Brand: "Dell", Model: "Latitude 5490", Serial: "9CLQ2R2", Year: 2019, Quantity: 1, StorageDrives: 1, WeightKg: 1.8},
				{Category: "laptop", Brand: "Apple", Model: "MacBook Pro 13\" 2019", Serial: "C02ZK1ABLVDL", Year: 2019, Quantity: 1, StorageDrives: 1, WeightKg: 1.4},
				{Category: "docking_station", Brand: "Dell", Model: "WD19", Year: 2020, Quantity: 4, WeightKg: 0.6},
			}},
		{Donor: "itsasoa", Declarant: "itsasoa.admin", Title: "Écrans et téléphones du siège",
			Lines: []donation.Line{
				{Category: "monitor_27", Brand: "LG", Model: "27UL500", Year: 2020, Quantity: 4, WeightKg: 5.8},
				{Category: "smartphone", Brand: "Apple", Model: "iPhone 8", Year: 2018, Quantity: 3, StorageDrives: 1, WeightKg: 0.15},
				{Category: "projector", Brand: "Epson", Model: "EB-W49", Year: 2020, Quantity: 1, WeightKg: 2.5},
			}},
	}
}

// demoTagBatch is how many blank tags each workshop has printed.
const demoTagBatch = 60

// seedDemoInventory declares the demo's donations, assigns and collects
// some, generates a batch of tags per workshop and receives a few devices
// with their tags, through the same store calls as the pages.
func seedDemoInventory(ctx context.Context, db *postgres.DB, res *demoResult) error {
	users := map[string]account.User{}
	for _, u := range res.Users {
		users[u.Email] = u
	}
	actor := func(orgKey, local string) *account.Principal {
		o, u := res.Orgs[orgKey], users[local+"@"+demoDomain]
		return &account.Principal{UserID: u.ID, OrgID: o.ID, OrgKind: o.Kind, OrgName: o.Name, OrgAdmin: u.OrgAdmin, Email: u.Email, Name: u.Name}
	}
	operator := actor("operator", "operateur")
	shopActors := map[string]*account.Principal{"berriztu": actor("berriztu", "berriztu.tech"), "hendaye": actor("hendaye", "hendaye.tech")}
	now := time.Now()

	res.TagBatches = map[string]postgres.TagBatch{}
	codes := map[string][]tag.Code{}
	for _, key := range []string{"berriztu", "hendaye"} {
		b, cs, err := db.CreateTagBatch(ctx, res.Orgs[key].ID, shopActors[key].UserID, demoTagBatch,
			func() (tag.Code, error) { return tag.Generate(rand.Reader) })
		if err != nil {
			return fmt.Errorf("tag batch of %s: %w", key, err)
		}
		res.TagBatches[key], codes[key] = b, cs
	}

	for _, dd := range demoDonations() {
		for i, l := range dd.Lines {
			if err := l.Validate(now); err != nil {
				return fmt.Errorf("donation %q, line %d: %w", dd.Title, i+1, err)
			}
		}
		h, fe := donation.ParseHeader(dd.Title, dd.Notes)
		if fe != nil {
			return fmt.Errorf("donation %q: %w", dd.Title, fe.Err())
		}
		d, err := db.CreateDonation(ctx, res.Orgs[dd.Donor].ID, actor(dd.Donor, dd.Declarant), h.Title, h.Notes, dd.Lines)
		if err != nil {
			return fmt.Errorf("donation %q: %w", dd.Title, err)
		}
		res.Devices += d.Devices
		if dd.Workshop != "" {
			if d, err = db.AssignWorkshop(ctx, d.ID, res.Orgs[dd.Workshop].ID, operator); err != nil {
				return fmt.Errorf("assign %q: %w", dd.Title, err)
			}
		}
		if dd.Collected {
			shop := shopActors[dd.Workshop]
			if d, err = db.SetDonationState(ctx, d.ID, postgres.DonationScope{WorkshopOrgID: shop.OrgID}, donation.Declared, donation.Collected, shop); err != nil {
				return fmt.Errorf("collect %q: %w", dd.Title, err)
			}
		}
		if dd.Intake > 0 {
			devs, _, err := db.DonationDevices(ctx, d.ID, postgres.DonationScope{}, 1)
			if err != nil {
				return err
			}
			shop := shopActors[dd.Workshop]
			for _, v := range devs[:min(dd.Intake, len(devs))] {
				code := codes[dd.Workshop][0]
				codes[dd.Workshop] = codes[dd.Workshop][1:]
				r, err := db.IntakeDevice(ctx, code, v.ID, shop.OrgID, shop, now)
				if err != nil {
					return fmt.Errorf("intake of device %d of %q: %w", v.ID, dd.Title, err)
				}
				d = r.Donation
				res.Received++
			}
		}
		res.Donations = append(res.Donations, d)
	}
	return nil
}

// demoSIRET builds a SIRET from an 8-digit SIREN stem and a 4-digit
// establishment number stem: the SIREN gets its Luhn key, then the whole
// 14 digits get theirs, as INSEE numbers them.
func demoSIRET(siren8, nic4 string) string {
	return account.LuhnComplete(account.LuhnComplete(siren8) + nic4)
}

// demoUAI appends the check letter to the seven digits of a UAI.
func demoUAI(digits7 string) string {
	n, _ := strconv.Atoi(digits7)
	return digits7 + string("ABCDEFGHJKLMNPRSTUVWXYZ"[n%23])
}
