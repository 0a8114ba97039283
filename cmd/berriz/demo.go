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
	"github.com/berriz/berriz/storage"
)

const demoUsage = `Usage: berriz demo [--if-empty] [--allow-production] [--devices N [--add] [--seed S]]

Loads a demo territory (the Pays basque: operator, donors, workshops, schools,
associations, an observatory client) into an empty database, and prints the
demo accounts, their shared password and the observatory's API token. The
workshops' devices stand in every state of the workshop workflow (diagnosed,
wiped, refurbished, published, recycled, dismantled...), with the erasure
logs and the recycler's certificate stored in the configured file storage.
The schools' and associations' requests stand in every state, with proposals
sent and answered, handovers prepared and confirmed (receipts stored) and a
device returned.

A database that already holds an organisation is left alone: berriz demo
then fails, berriz demo --if-empty succeeds silently (for make run).
The demo is loaded step by step, not in one transaction: if it fails half
way, load it again into a fresh database.
` + demoScaleUsage

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
	scale := demoScaleFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := scale.check(); err != nil {
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
		if scale.add {
			return scale.load(ctx, db, cfg, stdout)
		}
		if *ifEmpty {
			return nil
		}
		return fmt.Errorf("%w (%d organisations): it loads only into a fresh database", errNotEmpty, page.Total)
	}
	files, err := openStorage(ctx, cfg)
	if err != nil {
		return err
	}
	res, err := seedDemo(ctx, db, demoParams{Password: demoPassword, Argon2: argon2Params(cfg), Files: files, Config: cfg})
	if err != nil {
		return fmt.Errorf("demo: %w (the database now holds part of the demo: load it into a fresh database)", err)
	}
	printDemo(stdout, res, cfg.PublicURL.String())
	if scale.devices > 0 {
		return scale.load(ctx, db, cfg, stdout)
	}
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
	printDemoWorkshop(w, res.Workshop)
	printDemoAllocation(w, res.Allocation)
}

// demoParams are what seedDemo needs from the configuration.
type demoParams struct {
	Password string
	Argon2   account.Argon2Params
	Files    storage.Store // where the erasure logs and the recycler's certificate go
	Config   config.Config // the public URL of certificates and receipts, how long proposals hold devices
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
	// Intake lists the devices received of each donation, by demoDonation.Key,
	// in intake order: the workshops' work starts from them.
	Intake     map[string][]int64
	Workshop   demoWorkshopResult
	Allocation demoAllocationResult
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
	if err := seedDemoAllocation(ctx, db, p, &res); err != nil {
		return res, err
	}
	if err := seedDemoWorkshops(ctx, db, p.Files, &res); err != nil {
		return res, err
	}
	return res, nil
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

	res.TagBatches, res.Intake = map[string]postgres.TagBatch{}, map[string][]int64{}
	codes := map[string][]tag.Code{}
	for _, key := range []string{"berriztu", "hendaye"} {
		b, cs, err := db.CreateTagBatch(ctx, res.Orgs[key].ID, shopActors[key].UserID, demoTagBatch,
			func() (tag.Code, error) { return tag.Generate(rand.Reader) })
		if err != nil {
			return fmt.Errorf("tag batch of %s: %w", key, err)
		}
		res.TagBatches[key], codes[key] = b, cs
	}

	for _, dd := range append(demoDonations(), demoAllocationLot()) {
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
				res.Intake[dd.Key] = append(res.Intake[dd.Key], v.ID)
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
