package main

import (
	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/donation"
)

// The demo's content: the territory's organisations and people, and the
// lots their donors declared (demo.go loads them, demo_workshop.go works
// on the devices received).

// demoOrg is an organisation of the territory with its users.
type demoOrg struct {
	Key        string
	Kind       account.OrgKind
	Name       string
	Commune    string // INSEE code
	OfficialID string
	Users      []demoUser
}

// demoUser is a user of a demo organisation.
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

// demoDonation is one lot of the demo: declared by a user of the donor,
// then, when Workshop is set, assigned to it by the operator and, when
// Collected, picked up.
type demoDonation struct {
	Key              string // names the lot for the workshop script (demo_workshop.go)
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
		{Key: "bayonne-postes", Donor: "bayonne", Declarant: "bayonne.agent", Title: "Renouvellement des postes de la mairie annexe",
			Notes: "Postes remplacés en 2025, disques encore en place.", Workshop: "berriztu", Collected: true, Intake: 8,
			Lines: []donation.Line{
				{Category: "laptop", Brand: "Lenovo", Model: "ThinkPad T470", Year: 2018, Quantity: 6, StorageDrives: 1, WeightKg: 1.6},
				{Category: "desktop", Brand: "HP", Model: "ProDesk 600 G3", Year: 2017, Quantity: 4, StorageDrives: 1, WeightKg: 5.5},
				{Category: "monitor_24", Brand: "Dell", Model: "P2419H", Year: 2019, Quantity: 6, WeightKg: 5.2},
			}},
		{Key: "bayonne-tablettes", Donor: "bayonne", Declarant: "bayonne.admin", Title: "Tablettes des écoles maternelles",
			Lines: []donation.Line{
				{Category: "tablet", Brand: "Apple", Model: "iPad (6e génération)", Year: 2018, Quantity: 8, StorageDrives: 1, WeightKg: 0.47, Notes: "Coques de protection fournies"},
				{Category: "laptop_charger", Brand: "Apple", Model: "USB 12 W", Quantity: 8, WeightKg: 0.1},
			}},
		{Key: "bayonne-imprimantes", Donor: "bayonne", Declarant: "bayonne.agent", Title: "Imprimantes du service urbanisme", Workshop: "hendaye",
			Lines: []donation.Line{
				{Category: "printer_laser", Brand: "HP", Model: "LaserJet Pro M402dn", Year: 2017, Quantity: 3, WeightKg: 8.6},
				{Category: "printer_mfp_a3", Brand: "Ricoh", Model: "MP C3004", Serial: "E174M930211", Year: 2016, Quantity: 1, StorageDrives: 1, WeightKg: 95, Notes: "Disque interne à effacer"},
			}},
		{Key: "anglet-mediatheque", Donor: "anglet", Declarant: "anglet.agent", Title: "Parc informatique de la médiathèque",
			Notes: "Postes publics, comptes locaux seulement.", Workshop: "hendaye", Collected: true, Intake: 9,
			Lines: []donation.Line{
				{Category: "all_in_one", Brand: "Lenovo", Model: "ThinkCentre M820z", Year: 2019, Quantity: 5, StorageDrives: 1, WeightKg: 9.3},
				{Category: "desktop", Brand: "Dell", Model: "OptiPlex 3060", Year: 2018, Quantity: 3, StorageDrives: 1, WeightKg: 5.3},
				{Category: "monitor_22", Brand: "Iiyama", Model: "ProLite E2283HS", Year: 2018, Quantity: 3, WeightKg: 3.4},
				{Category: "keyboard", Brand: "Logitech", Model: "K120", Quantity: 8, WeightKg: 0.55},
			}},
		{Key: "anglet-smartphones", Donor: "anglet", Declarant: "anglet.admin", Title: "Smartphones de la police municipale", Workshop: "berriztu",
			Lines: []donation.Line{
				{Category: "smartphone", Brand: "Samsung", Model: "Galaxy A40", Year: 2019, Quantity: 12, StorageDrives: 1, WeightKg: 0.15},
			}},
		{Key: "itsasoa-portables", Donor: "itsasoa", Declarant: "itsasoa.it", Title: "Fin de location des portables 2019",
			Notes: "BIOS sans mot de passe.", Workshop: "berriztu", Collected: true, Intake: 4,
			Lines: []donation.Line{
				{Category: "laptop", Brand: "Dell", Model: "Latitude 5490", Serial: "7XKQ2R2", Year: 2019, Quantity: 1, StorageDrives: 1, WeightKg: 1.8},
				{Category: "laptop", Brand: "Dell", Model: "Latitude 5490", Serial: "8BMQ2R2", Year: 2019, Quantity: 1, StorageDrives: 1, WeightKg: 1.8},
				{Category: "laptop", Brand: "Dell", Model: "Latitude 5490", Serial: "9CLQ2R2", Year: 2019, Quantity: 1, StorageDrives: 1, WeightKg: 1.8},
				{Category: "laptop", Brand: "Apple", Model: "MacBook Pro 13\" 2019", Serial: "C02ZK1ABLVDL", Year: 2019, Quantity: 1, StorageDrives: 1, WeightKg: 1.4},
				{Category: "docking_station", Brand: "Dell", Model: "WD19", Year: 2020, Quantity: 4, WeightKg: 0.6},
			}},
		{Key: "itsasoa-siege", Donor: "itsasoa", Declarant: "itsasoa.admin", Title: "Écrans et téléphones du siège",
			Lines: []donation.Line{
				{Category: "monitor_27", Brand: "LG", Model: "27UL500", Year: 2020, Quantity: 4, WeightKg: 5.8},
				{Category: "smartphone", Brand: "Apple", Model: "iPhone 8", Year: 2018, Quantity: 3, StorageDrives: 1, WeightKg: 0.15},
				{Category: "projector", Brand: "Epson", Model: "EB-W49", Year: 2020, Quantity: 1, WeightKg: 2.5},
			}},
	}
}
