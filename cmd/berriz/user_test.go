package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/postgres/pgtest"
)

// fastArgon2 matches BERRIZ_ARGON2_* in the test environment.
var fastArgon2 = account.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}

// mustCommandEnv returns the environment of a command run against a fresh
// migrated database and a temporary file storage (berriz demo stores
// blobs), with cheap password hashing, and the database's URL.
func mustCommandEnv(t *testing.T) (func(string) string, string) {
	t.Helper()
	url := pgtest.MustURL(t)
	return envOf(map[string]string{
		"BERRIZ_DATABASE_URL":      url,
		"BERRIZ_STORAGE_DIR":       t.TempDir(),
		"BERRIZ_ARGON2_MEMORY_KIB": "64",
		"BERRIZ_ARGON2_TIME":       "1",
		"BERRIZ_LOG_LEVEL":         "warn",
	}), url
}

func mustOpen(t *testing.T, url string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), postgres.Options{URL: url, ConnectTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func mustPasswordFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// userCreate runs `berriz user create args...` with stdin as standard input.
func userCreate(env func(string) string, stdin string, args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	err = cmdUser(context.Background(), append([]string{"create"}, args...), env, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

func mustVerify(t *testing.T, db *postgres.DB, email, password string) account.User {
	t.Helper()
	u, err := db.UserByEmail(context.Background(), email)
	if err != nil {
		t.Fatalf("user %s: %v", email, err)
	}
	ok, _, err := account.VerifyPassword(password, u.PasswordHash, fastArgon2)
	if err != nil || !ok {
		t.Fatalf("password of %s does not verify: %v", email, err)
	}
	return u
}

func TestUserCreateOperatorBootstrap(t *testing.T) {
	env, url := mustCommandEnv(t)
	db := mustOpen(t, url)
	pwFile := mustPasswordFile(t, "première phrase de passe\nignored second line\n")

	// Through run, as the binary does.
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"user", "create", "--operator", "--email", "Maite@Example.EUS",
		"--name", "  Maite   Etxeberria ", "--password-file", pwFile}, env, &out, &errOut)
	if err != nil {
		t.Fatalf("first operator: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), `created organisation #`) || !strings.Contains(out.String(), `"Opérateur berriz" (operator, commune 64102)`) {
		t.Errorf("first operator output:\n%s", out.String())
	}
	if strings.Contains(out.String()+errOut.String(), "argon2") {
		t.Errorf("output shows the hash:\n%s%s", out.String(), errOut.String())
	}
	first := mustVerify(t, db, "Maite@example.eus", "première phrase de passe")
	if first.Name != "Maite Etxeberria" || !first.OrgAdmin || first.Role() != account.RoleOperator || first.Lang != "fr" {
		t.Errorf("first operator: %+v", first)
	}

	stdout, stderr, err := userCreate(env, "", "--operator", "--email", "jon@example.eus", "--name", "Jon",
		"--org-name", "Another name", "--lang", "eu", "--password-file", pwFile)
	if err != nil {
		t.Fatalf("second operator: %v\n%s", err, stderr)
	}
	if strings.Contains(stdout, "created organisation") {
		t.Errorf("second operator created an organisation:\n%s", stdout)
	}
	second := mustVerify(t, db, "jon@example.eus", "première phrase de passe")
	if second.OrgID != first.OrgID || !second.OrgAdmin || second.Lang != "eu" {
		t.Errorf("second operator: %+v, first in org %d", second, first.OrgID)
	}
	orgs, _, err := db.ListOrganisations(context.Background(), postgres.OrgFilter{Kind: account.KindOperator})
	if err != nil || len(orgs) != 1 {
		t.Fatalf("operator organisations: %v %v", orgs, err)
	}
}

func TestUserCreatePasswordSources(t *testing.T) {
	env, url := mustCommandEnv(t)
	db := mustOpen(t, url)

	t.Run("generated", func(t *testing.T) {
		stdout, stderr, err := userCreate(env, "", "--operator", "--email", "gen@example.eus", "--name", "Gen")
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		m := regexp.MustCompile(`generated password: (\S+)\n`).FindStringSubmatch(stdout)
		if m == nil || len(m[1]) != 20 {
			t.Fatalf("no 20-character generated password in:\n%s", stdout)
		}
		if !strings.Contains(stderr, "change it") {
			t.Errorf("no warning to change the password: %q", stderr)
		}
		mustVerify(t, db, "gen@example.eus", m[1])
	})
	t.Run("stdin", func(t *testing.T) {
		stdout, stderr, err := userCreate(env, "from standard input\r\n", "--operator", "--email", "pipe@example.eus", "--name", "Pipe")
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		if strings.Contains(stdout, "generated password") {
			t.Errorf("generated a password despite stdin:\n%s", stdout)
		}
		mustVerify(t, db, "pipe@example.eus", "from standard input")
	})
}

func TestUserCreateRefusals(t *testing.T) {
	env, url := mustCommandEnv(t)
	db := mustOpen(t, url)
	good := mustPasswordFile(t, "a long enough passphrase\n")
	if _, stderr, err := userCreate(env, "", "--operator", "--email", "taken@example.eus", "--name", "Taken", "--password-file", good); err != nil {
		t.Fatalf("setup: %v\n%s", err, stderr)
	}
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		want  string // in the error
		usage bool
	}{
		{"invalid e-mail", "", []string{"--operator", "--email", "not an address", "--name", "X", "--password-file", good}, "invalid e-mail", false},
		{"short password", "", []string{"--operator", "--email", "a@example.eus", "--name", "X", "--password-file", mustPasswordFile(t, "short\n")}, "shorter than 12", false},
		{"common password", "azertyuiop123\n", []string{"--operator", "--email", "a@example.eus", "--name", "X"}, "most common", false},
		{"password is the e-mail", "longlocalpart@example.eus\n", []string{"--operator", "--email", "longlocalpart@example.eus", "--name", "X"}, "same as the e-mail", false},
		{"empty password file", "", []string{"--operator", "--email", "a@example.eus", "--name", "X", "--password-file", mustPasswordFile(t, "\n")}, "empty", false},
		{"missing password file", "", []string{"--operator", "--email", "a@example.eus", "--name", "X", "--password-file", "/nonexistent/pw"}, "password file", false},
		{"duplicate", "", []string{"--operator", "--email", "TAKEN@example.eus", "--name", "X", "--password-file", good}, "already exists", false},
		{"no name", "", []string{"--operator", "--email", "a@example.eus", "--password-file", good}, "--name is required", false},
		{"bad language", "", []string{"--operator", "--email", "a@example.eus", "--name", "X", "--lang", "de", "--password-file", good}, "language", false},
		{"bad operator commune", "", []string{"--operator", "--email", "a@example.eus", "--name", "X", "--commune", "20001", "--password-file", good}, "commune", false},
		{"unknown organisation", "", []string{"--org-id", "999999", "--email", "a@example.eus", "--name", "X", "--password-file", good}, "no organisation with id 999999", false},
		{"neither operator nor org", "", []string{"--email", "a@example.eus", "--name", "X"}, "either", true},
		{"both operator and org", "", []string{"--operator", "--org-id", "1", "--email", "a@example.eus", "--name", "X"}, "either", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := userCreate(env, tc.stdin, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if errors.Is(err, errUsage) != tc.usage {
				t.Errorf("usage error: %v, want %v", errors.Is(err, errUsage), tc.usage)
			}
		})
	}
	_, page, err := db.ListUsers(context.Background(), postgres.UserFilter{})
	if err != nil || page.Total != 1 {
		t.Errorf("refusals created users: %d %v", page.Total, err)
	}
	_, orgs, err := db.ListOrganisations(context.Background(), postgres.OrgFilter{})
	if err != nil || orgs.Total != 1 {
		t.Errorf("refusals created organisations: %d %v", orgs.Total, err)
	}
}

func TestUserCreateInOrganisation(t *testing.T) {
	env, url := mustCommandEnv(t)
	db := mustOpen(t, url)
	o, err := account.OrgInput{Kind: "school", Name: "Collège Test", Commune: "64024"}.Validate()
	if err != nil {
		t.Fatal(err)
	}
	if o, err = db.CreateOrganisation(context.Background(), o, nil, ""); err != nil {
		t.Fatal(err)
	}
	pw := mustPasswordFile(t, "a long enough passphrase")
	id := strconv.FormatInt(o.ID, 10)
	for _, tc := range []struct {
		email string
		admin bool
	}{{"head@example.eus", true}, {"teacher@example.eus", false}} {
		args := []string{"--org-id", id, "--email", tc.email, "--name", "Someone", "--password-file", pw}
		if tc.admin {
			args = append(args, "--admin")
		}
		stdout, stderr, err := userCreate(env, "", args...)
		if err != nil {
			t.Fatalf("%s: %v\n%s", tc.email, err, stderr)
		}
		if !strings.Contains(stdout, `"Collège Test": role beneficiary`) {
			t.Errorf("%s output:\n%s", tc.email, stdout)
		}
		u := mustVerify(t, db, tc.email, "a long enough passphrase")
		if u.OrgID != o.ID || u.OrgAdmin != tc.admin {
			t.Errorf("%s: %+v", tc.email, u)
		}
	}
	orgs, _, _ := db.ListOrganisations(context.Background(), postgres.OrgFilter{Kind: account.KindOperator})
	if len(orgs) != 0 {
		t.Errorf("--org-id created an operator organisation")
	}
}

func TestUserUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"user"}, envOf(nil), &out, &errOut); !errors.Is(err, errUsage) {
		t.Errorf("user: %v", err)
	}
	if err := run(context.Background(), []string{"user", "--help"}, envOf(nil), &out, &errOut); err != nil || !strings.Contains(out.String(), "--operator") {
		t.Errorf("user --help: %v %q", err, out.String())
	}
}

func TestGeneratePassword(t *testing.T) {
	if len(generatedPasswordChars) != 32 {
		t.Fatalf("the alphabet has %d characters; 32 keeps the draw unbiased", len(generatedPasswordChars))
	}
	seen := map[string]bool{}
	for range 100 {
		p := generatePassword(20)
		if len(p) != 20 || seen[p] || account.CheckPasswordPolicy(p, "x@example.eus") != nil {
			t.Fatalf("bad or repeated password %q", p)
		}
		seen[p] = true
	}
}
