package main

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/co2"
	"github.com/berriz/berriz/internal/donation"
	"github.com/berriz/berriz/internal/postgres"
)

// The demo's content is checked without a database: it must validate as a
// form would, and the shared password must be accepted for every account.
func TestDemoTerritory(t *testing.T) {
	keys, emails := map[string]bool{}, map[string]bool{}
	for _, d := range demoTerritory() {
		if keys[d.Key] {
			t.Errorf("key %s twice", d.Key)
		}
		keys[d.Key] = true
		if _, err := (account.OrgInput{Kind: string(d.Kind), Name: d.Name, Commune: d.Commune, OfficialID: d.OfficialID}).Validate(); err != nil {
			t.Errorf("%s: %v", d.Name, err)
		}
		for _, u := range d.Users {
			email := u.Local + "@" + demoDomain
			if _, err := account.NormalizeEmail(email); err != nil || emails[email] {
				t.Errorf("%s: bad or repeated e-mail (%v)", email, err)
			}
			emails[email] = true
			if err := account.CheckPasswordPolicy(demoPassword, email); err != nil {
				t.Errorf("demo password refused for %s: %v", email, err)
			}
		}
	}
	if !keys["observatory"] || !keys["operator"] {
		t.Error("the demo needs an operator and an observatory")
	}
}

// The demo's donations validate as the form would, use the categories of
// the emission factors, and belong to the donors and workshops of the
// territory.
func TestDemoDonations(t *testing.T) {
	orgs, emails := map[string]account.OrgKind{}, map[string]string{}
	for _, d := range demoTerritory() {
		orgs[d.Key] = d.Kind
		for _, u := range d.Users {
			emails[u.Local] = d.Key
		}
	}
	perDonor, categories, keys := map[string]int{}, map[string]bool{}, map[string]bool{}
	for _, dd := range demoDonations() {
		perDonor[dd.Donor]++
		if dd.Key == "" || keys[dd.Key] {
			t.Errorf("%q: key %q empty or repeated", dd.Title, dd.Key)
		}
		keys[dd.Key] = true
		if orgs[dd.Donor].Role() != account.RoleDonor || emails[dd.Declarant] != dd.Donor {
			t.Errorf("%q: donor %s, declarant %s", dd.Title, dd.Donor, dd.Declarant)
		}
		if dd.Workshop != "" && orgs[dd.Workshop] != account.KindWorkshop {
			t.Errorf("%q: workshop %s", dd.Title, dd.Workshop)
		}
		if (dd.Collected || dd.Intake > 0) && dd.Workshop == "" || dd.Intake > 0 && !dd.Collected {
			t.Errorf("%q: collected or received without a workshop", dd.Title)
		}
		if _, fe := donation.ParseHeader(dd.Title, dd.Notes); fe != nil {
			t.Errorf("%q: %v", dd.Title, fe)
		}
		for i, l := range dd.Lines {
			if err := l.Validate(time.Now()); err != nil {
				t.Errorf("%q line %d: %v", dd.Title, i+1, err)
			}
			if _, ok := co2.CategoryByID(l.Category); !ok {
				t.Errorf("%q line %d: category %s", dd.Title, i+1, l.Category)
			}
			categories[l.Category] = true
		}
	}
	for _, k := range []string{"bayonne", "anglet", "itsasoa"} {
		if perDonor[k] < 2 || perDonor[k] > 3 {
			t.Errorf("%s has %d donations, want 2 or 3", k, perDonor[k])
		}
	}
	for _, c := range []string{"laptop", "desktop", "smartphone", "tablet", "printer_laser"} {
		if !categories[c] {
			t.Errorf("no %s in the demo", c)
		}
	}
}

func TestOfficialIDHelpers(t *testing.T) {
	// 732 829 320 00074: a SIRET whose key is its last digit.
	if got := account.LuhnComplete("7328293200007"); got != "73282932000074" {
		t.Errorf("luhnComplete = %s", got)
	}
	for _, stem := range []string{"0000000", "1234567", "4242424", "9999999"} {
		if s := account.LuhnComplete(stem + "000000"); len(s) != 14 {
			t.Errorf("account.LuhnComplete(%s) = %s", stem, s)
		} else if _, err := account.NormalizeSIRET(s); err != nil {
			t.Errorf("account.LuhnComplete(%s) = %s: %v", stem, s, err)
		}
		if _, err := account.NormalizeUAI(demoUAI(stem)); err != nil {
			t.Errorf("demoUAI(%s) = %s: %v", stem, demoUAI(stem), err)
		}
	}
	// The SIREN inside a demo SIRET carries its own key too.
	s := demoSIRET("21649910", "0001")
	if !strings.HasPrefix(s, account.LuhnComplete("21649910")) {
		t.Errorf("demoSIRET = %s", s)
	}
}

var tokenRE = regexp.MustCompile(`brz_[A-Za-z0-9_-]{43}`)

func TestDemoLoadsIntoEmptyDatabaseOnce(t *testing.T) {
	env, url := mustCommandEnv(t)
	db := mustOpen(t, url)
	ctx := context.Background()

	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"demo"}, env, &out, &errOut); err != nil {
		t.Fatalf("demo: %v\n%s", err, errOut.String())
	}
	stdout := out.String()

	kinds := map[string]int{}
	rows, err := db.SQL().QueryContext(ctx, `SELECT kind, coalesce(official_id, '') FROM organisations`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var kind, id string
		if err := rows.Scan(&kind, &id); err != nil {
			t.Fatal(err)
		}
		kinds[kind]++
		if _, _, err := account.DetectOfficialID(id); err != nil {
			t.Errorf("%s official id %q: %v", kind, id, err)
		}
	}
	rows.Close()
	want := map[string]int{"operator": 1, "commune": 2, "company": 1, "workshop": 2, "school": 3, "association": 2, "observatory": 1}
	if len(kinds) != len(want) {
		t.Errorf("kinds: %v, want %v", kinds, want)
	}
	for k, n := range want {
		if kinds[k] != n {
			t.Errorf("%d organisations of kind %s, want %d", kinds[k], k, n)
		}
	}

	users, page, err := db.ListUsers(ctx, postgres.UserFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 16 || len(users) != 16 {
		t.Fatalf("%d users, want 16", page.Total)
	}
	perRole, admins, langs := map[account.Role]int{}, map[int64]int{}, map[string]int{}
	for _, u := range users {
		if !strings.HasSuffix(u.Email, "@demo.berriz.eus") {
			t.Errorf("e-mail %s outside the demo domain", u.Email)
		}
		if ok, _, err := account.VerifyPassword(demoPassword, u.PasswordHash, fastArgon2); !ok || err != nil {
			t.Errorf("demo password does not open %s (%v)", u.Email, err)
		}
		if !strings.Contains(stdout, u.Email) {
			t.Errorf("accounts table lacks %s", u.Email)
		}
		perRole[u.Role()]++
		langs[u.Lang]++
		if u.OrgAdmin {
			admins[u.OrgID]++
		}
	}
	wantRoles := map[account.Role]int{account.RoleOperator: 1, account.RoleDonor: 6, account.RoleTechnician: 4, account.RoleBeneficiary: 5}
	if len(perRole) != len(wantRoles) {
		t.Errorf("users per role: %v, want %v", perRole, wantRoles)
	}
	for r, n := range wantRoles {
		if perRole[r] != n {
			t.Errorf("%d users of role %s, want %d", perRole[r], r, n)
		}
	}
	if len(admins) != 11 {
		t.Errorf("organisations with an admin: %d, want 11 (all but the observatory)", len(admins))
	}
	if langs["eu"] != 2 || langs["en"] != 1 || langs["fr"] != 13 {
		t.Errorf("languages: %v", langs)
	}
	if !strings.Contains(stdout, demoPassword) {
		t.Errorf("output lacks the demo password:\n%s", stdout)
	}
	if strings.Contains(stdout, "$argon2id$") {
		t.Errorf("output shows a hash")
	}

	token := tokenRE.FindString(stdout)
	if token == "" {
		t.Fatalf("no observatory token in:\n%s", stdout)
	}
	p, err := db.TokenPrincipal(ctx, account.HashToken(token), time.Now())
	if err != nil {
		t.Fatalf("observatory token: %v", err)
	}
	if p.OrgKind != account.KindObservatory || !p.ReadOnly || p.UserID != 0 {
		t.Errorf("observatory token principal: %+v", p)
	}
	var scope string
	if err := db.SQL().QueryRowContext(ctx, `SELECT scope FROM api_tokens WHERE organisation_id = $1`, p.OrgID).Scan(&scope); err != nil || scope != "read" {
		t.Errorf("observatory token scope %q (%v)", scope, err)
	}

	checkDemoInventory(t, db, stdout)
	checkDemoWorkshops(t, db, env, stdout)
	checkDemoAllocation(t, db, env, stdout)

	// Every record went through the store: each device's chain verifies.
	out.Reset()
	if err := run(ctx, []string{"audit", "verify"}, env, &out, &errOut); err != nil {
		t.Fatalf("audit after the demo: %v\n%s", err, out.String())
	}
	if !regexp.MustCompile(`^\d{3} events of 32 devices checked; 0 broken chains;`).MatchString(out.String()) {
		t.Errorf("audit after the demo: %q", out.String())
	}

	// Again: --if-empty is a silent success, a plain demo refuses.
	out.Reset()
	if err := run(ctx, []string{"demo", "--if-empty"}, env, &out, &errOut); err != nil || out.Len() != 0 {
		t.Errorf("demo --if-empty on a loaded database: %v %q", err, out.String())
	}
	if err := run(ctx, []string{"demo"}, env, &out, &errOut); !errors.Is(err, errNotEmpty) ||
		!strings.Contains(err.Error(), "database not empty, demo not loaded") {
		t.Errorf("demo on a loaded database: %v", err)
	}
	var orgs int
	if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM organisations`).Scan(&orgs); err != nil || orgs != 12 {
		t.Errorf("organisations after the second runs: %d (%v)", orgs, err)
	}
}

// checkDemoInventory checks the donations, tags and intakes the demo loaded.
func checkDemoInventory(t *testing.T, db *postgres.DB, stdout string) {
	t.Helper()
	wantDevices, wantReceived := 0, 0
	wantStates := map[string]int{}
	for _, dd := range append(demoDonations(), demoAllocationLot()) {
		wantDevices += donation.Devices(dd.Lines)
		wantReceived += dd.Intake
		switch {
		case dd.Intake == donation.Devices(dd.Lines):
			wantStates["received"]++
		case dd.Collected:
			wantStates["collected"]++
		default:
			wantStates["declared"]++
		}
	}
	if wantDevices != 94 || wantReceived != 32 || len(demoDonations()) != 7 {
		t.Errorf("demo content: %d devices, %d received, %d donations", wantDevices, wantReceived, len(demoDonations()))
	}
	q := sqlCount(t, db)
	if n := q(`SELECT count(*) FROM donations`); n != 8 {
		t.Errorf("%d donations, want 8", n)
	}
	for st, n := range wantStates {
		if got := q(`SELECT count(*) FROM donations WHERE state = $1`, st); got != n {
			t.Errorf("%d donations %s, want %d", got, st, n)
		}
	}
	if n := q(`SELECT count(*) FROM donations WHERE workshop_org_id IS NOT NULL`); n != 6 {
		t.Errorf("%d donations assigned, want 6", n)
	}
	if n := q(`SELECT count(*) FROM donations WHERE declared_by IS NULL`); n != 0 {
		t.Errorf("%d donations without a declarant", n)
	}
	if n := q(`SELECT count(*) FROM devices`); n != wantDevices {
		t.Errorf("%d devices, want %d", n, wantDevices)
	}
	if n := q(`SELECT count(DISTINCT d.donor_org_id) FROM donations d JOIN organisations o ON o.id = d.donor_org_id
		WHERE o.kind IN ('commune', 'company')`); n != 3 {
		t.Errorf("donations from %d donors, want 3", n)
	}
	if n := q(`SELECT count(*) FROM tag_batches b JOIN organisations o ON o.id = b.organisation_id
		WHERE o.kind = 'workshop' AND b.count = 60 AND (SELECT count(*) FROM tags t WHERE t.batch_id = b.id) = 60`); n != 2 {
		t.Errorf("%d workshops with a batch of 60 tags, want 2", n)
	}
	if n := q(`SELECT count(*) FROM devices v JOIN tags t ON t.device_id = v.id WHERE v.state <> 'declared'`); n != 32 {
		t.Errorf("%d devices past intake with a tag, want 32", n)
	}
	if n := q(`SELECT count(*) FROM tags WHERE device_id IS NOT NULL`); n != 32 {
		t.Errorf("%d tags linked, want 32", n)
	}
	// Every tag linked at a workshop is one of its own batch, on a device
	// of a donation assigned to it.
	if n := q(`SELECT count(*) FROM tags t JOIN tag_batches b ON b.id = t.batch_id JOIN devices v ON v.id = t.device_id
		JOIN donations d ON d.id = v.donation_id WHERE d.workshop_org_id <> b.organisation_id`); n != 0 {
		t.Errorf("%d tags linked across workshops", n)
	}
	if !strings.Contains(stdout, "8 donations (94 devices, 32 received and tagged), 2 tag batches") {
		t.Errorf("summary missing:\n%s", stdout)
	}
}

func TestDemoRefusesProduction(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"demo"}, envOf(map[string]string{"BERRIZ_ENV": "production"}), &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "--allow-production") {
		t.Errorf("demo in production: %v", err)
	}
}
