package postgres_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/postgres/pgtest"
)

func mustOrg(t *testing.T, db *postgres.DB, kind account.OrgKind, name string) account.Organisation {
	t.Helper()
	o, err := account.OrgInput{Kind: string(kind), Name: name, Commune: "64102"}.Validate()
	if err != nil {
		t.Fatal(err)
	}
	if o, err = db.CreateOrganisation(context.Background(), o, nil, ""); err != nil {
		t.Fatal(err)
	}
	return o
}

func mustUser(t *testing.T, db *postgres.DB, orgID int64, email string, admin bool) account.User {
	t.Helper()
	u, err := db.CreateUser(context.Background(), postgres.NewUser{OrgID: orgID, Email: email, Name: email, PasswordHash: "x", OrgAdmin: admin}, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// Two partial updates at once: each lands, neither overwrites the other.
func TestConcurrentPatchesBothLand(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustDB(t)
	o := mustOrg(t, db, account.KindCommune, "Ville")
	var wg sync.WaitGroup
	for _, change := range []func(*account.OrgInput){
		func(in *account.OrgInput) { in.Name = "Ville de Bayonne" },
		func(in *account.OrgInput) { in.Commune = "64024" },
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := db.PatchOrganisation(ctx, o.ID, func(cur account.Organisation) (account.Organisation, error) {
				in := account.OrgInput{Kind: string(cur.Kind), Name: cur.Name, Commune: cur.Commune}
				change(&in)
				time.Sleep(50 * time.Millisecond) // widen the race window
				return in.Validate()
			}, nil, "")
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, err := db.Organisation(ctx, o.ID)
	if err != nil || got.Name != "Ville de Bayonne" || got.Commune != "64024" {
		t.Fatalf("after both patches: %+v %v", got, err)
	}
}

func TestOfficialIDUniqueAsFieldError(t *testing.T) {
	db := pgtest.MustDB(t)
	in := account.OrgInput{Kind: "company", Name: "A", Commune: "64102", OfficialID: "73282932000074"}
	o, err := in.Validate()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateOrganisation(context.Background(), o, nil, ""); err != nil {
		t.Fatal(err)
	}
	o.Name = "B"
	_, err = db.CreateOrganisation(context.Background(), o, nil, "")
	if e := berriz.As(err); e.Kind != berriz.Conflict || e.Fields["official_id"] != "error.official_id_taken" {
		t.Fatalf("duplicate official id: %v", err)
	}
}

func TestSomeoneStaysInCharge(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustDB(t)
	op := mustOrg(t, db, account.KindOperator, "Opérateur")
	only := mustUser(t, db, op.ID, "op@example.org", true)
	if err := db.DeleteUser(ctx, only.ID, 0, nil, ""); berriz.KindOf(err) != berriz.Conflict {
		t.Fatalf("deleting the last operator: %v", err)
	}
	school := mustOrg(t, db, account.KindSchool, "École")
	admin := mustUser(t, db, school.ID, "admin@example.org", true)
	member := mustUser(t, db, school.ID, "member@example.org", false)
	if err := db.SetOrgAdmin(ctx, admin.ID, school.ID, false, nil, ""); berriz.KindOf(err) != berriz.Conflict {
		t.Fatalf("removing the last admin of an organisation with members: %v", err)
	}
	if err := db.SetOrgAdmin(ctx, member.ID, school.ID, true, nil, ""); err != nil {
		t.Fatal(err)
	}
	if err := db.SetOrgAdmin(ctx, admin.ID, school.ID, false, nil, ""); err != nil {
		t.Fatalf("with another admin: %v", err)
	}
	// Scoped to another organisation, the user is not found.
	if err := db.DeleteUser(ctx, member.ID, op.ID, nil, ""); berriz.KindOf(err) != berriz.NotFound {
		t.Fatalf("out of scope: %v", err)
	}
}

func TestThrottleSchedule(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustDB(t)
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	keys := []string{"email:a@example.org", "ip:192.0.2.1"}
	var locks []time.Duration
	for i := 0; i < 12; i++ {
		d, err := db.RecordLoginFailure(ctx, keys, now, postgres.DefaultThrottle)
		if err != nil {
			t.Fatal(err)
		}
		locks = append(locks, d)
	}
	want := "[0s 0s 0s 0s 0s 1s 2s 4s 8s 16s 32s 1m4s]"
	if fmt.Sprint(locks) != want {
		t.Fatalf("locks %v, want %s", locks, want)
	}
	if d, _ := db.LoginLockedFor(ctx, keys[:1], now.Add(30*time.Second)); d != 34*time.Second {
		t.Fatalf("locked for %v", d)
	}
	// A day without failure forgets the count.
	d, err := db.RecordLoginFailure(ctx, keys, now.Add(25*time.Hour), postgres.DefaultThrottle)
	if err != nil || d != 0 {
		t.Fatalf("after a quiet day: %v %v", d, err)
	}
	for i := 0; i < 40; i++ {
		d, _ = db.RecordLoginFailure(ctx, keys, now.Add(26*time.Hour), postgres.DefaultThrottle)
	}
	if d != 15*time.Minute {
		t.Fatalf("cap: %v", d)
	}
}

func TestTokenPrincipals(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustDB(t)
	obs := mustOrg(t, db, account.KindObservatory, "Observatoire")
	plain, hash := account.NewToken()
	_ = plain
	tok, err := db.CreateToken(ctx, postgres.NewToken{OrgID: obs.ID, Name: "client", Scope: "write", Prefix: "brz_x", Hash: hash}, nil, "")
	if err != nil || tok.Scope != "read" {
		t.Fatalf("observatory token scope %q (%v): always read", tok.Scope, err)
	}
	p, err := db.TokenPrincipal(ctx, hash, time.Now())
	if err != nil || !p.ReadOnly || p.UserID != 0 || p.OrgID != obs.ID {
		t.Fatalf("principal %+v %v", p, err)
	}
	school := mustOrg(t, db, account.KindSchool, "École")
	_, h2 := account.NewToken()
	_, err = db.CreateToken(ctx, postgres.NewToken{OrgID: school.ID, Name: "x", Scope: "read", Prefix: "brz_y", Hash: h2}, nil, "")
	if e := berriz.As(err); e.Kind != berriz.Invalid || e.Fields["organisation_id"] == "" {
		t.Fatalf("organisation token for a school: %v", err)
	}
	if err := db.RevokeToken(ctx, tok.ID, 0, true, nil, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := db.TokenPrincipal(ctx, hash, time.Now()); berriz.KindOf(err) != berriz.Unauthorized {
		t.Fatalf("revoked: %v", err)
	}
}

func TestSecretSharedByInstances(t *testing.T) {
	url := pgtest.MustURL(t)
	var got [][]byte
	for i := 0; i < 3; i++ {
		db, err := postgres.Open(context.Background(), postgres.Options{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		s, err := db.Secret(context.Background(), "csrf")
		db.Close()
		if err != nil || len(s) != 32 {
			t.Fatalf("secret: %v", err)
		}
		got = append(got, s)
	}
	if !bytes.Equal(got[0], got[1]) || !bytes.Equal(got[1], got[2]) {
		t.Fatal("instances got different secrets")
	}
}
