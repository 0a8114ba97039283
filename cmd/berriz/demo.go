package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/config"
	"github.com/berriz/berriz/internal/postgres"
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
	fmt.Fprintf(w, "demo territory loaded: %d organisations, %d users\n\n", len(res.Orgs), len(res.Users))
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
	ObservatoryToken string // plain secret of the observatory's read-only token
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
	return res, nil
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
