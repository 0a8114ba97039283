package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/config"
	"github.com/berriz/berriz/internal/postgres"
)

const userUsage = `Usage:
  berriz user create --operator --email EMAIL --name NAME [--password-file FILE]
                     [--org-name NAME] [--commune INSEE] [--lang fr|eu|en]
  berriz user create --org-id N --email EMAIL --name NAME [--admin] [--password-file FILE] [--lang fr|eu|en]

--operator bootstraps an operator: the user joins the operator organisation as
its admin, and the organisation is created first when there is none.
--org-id adds a user to an existing organisation.

The password is the first line of --password-file, else the first line of
standard input when it is a pipe or a file, else (a terminal, /dev/null, an
empty input) a random one, printed once.
`

// generatedPasswordChars is a 32-character alphabet without look-alikes
// (0/o, 1/l/i), so that a byte masked to 5 bits picks a character without
// bias and a person can copy it from a terminal without mistakes.
const generatedPasswordChars = "abcdefghjkmnpqrstuvwxyz23456789-"

func cmdUser(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		fmt.Fprint(stdout, userUsage)
		return nil
	}
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprint(stderr, userUsage)
		return errUsage
	}
	fs := flag.NewFlagSet("user create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stdout, userUsage) }
	operator := fs.Bool("operator", false, "create an operator (and the operator organisation when there is none)")
	orgID := fs.Int64("org-id", 0, "add the user to this existing organisation")
	admin := fs.Bool("admin", false, "make the user an admin of its organisation (always true with --operator)")
	email := fs.String("email", "", "e-mail address, used to sign in")
	name := fs.String("name", "", "full name")
	passwordFile := fs.String("password-file", "", "read the password from the first line of this file")
	lang := fs.String("lang", "fr", "language of the user: fr, eu or en")
	orgName := fs.String("org-name", "Opérateur berriz", "name of the operator organisation, when it has to be created")
	commune := fs.String("commune", "64102", "INSEE commune code of the operator organisation, when it has to be created")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: %w", fs.Arg(0), errUsage)
	}
	if *operator == (*orgID != 0) {
		fmt.Fprint(stderr, userUsage)
		return fmt.Errorf("give either --operator or --org-id: %w", errUsage)
	}

	// Everything the user typed is checked before touching the database, so
	// a mistake never leaves an operator organisation without members.
	addr, err := account.NormalizeEmail(*email)
	if err != nil {
		return fmt.Errorf("invalid e-mail address %q", *email)
	}
	fullName, err := cleanName(*name)
	if err != nil {
		return err
	}
	if *lang != "fr" && *lang != "eu" && *lang != "en" {
		return fmt.Errorf("invalid language %q: fr, eu or en", *lang)
	}
	var newOrg account.Organisation
	if *operator {
		newOrg, err = account.OrgInput{Kind: string(account.KindOperator), Name: *orgName, Commune: *commune}.Validate()
		if err != nil {
			return fmt.Errorf("operator organisation: %s", describe(err))
		}
	}
	password, generated, err := readPassword(*passwordFile, stdin)
	if err != nil {
		return err
	}
	if err := account.CheckPasswordPolicy(password, addr); err != nil {
		return fmt.Errorf("password refused: %s", describe(err))
	}

	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	hash, err := account.HashPassword(password, argon2Params(cfg))
	if err != nil {
		return err
	}
	db, err := openDatabase(ctx, cfg, newLogger(cfg, stderr))
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.CheckSchema(ctx); err != nil {
		return fmt.Errorf("run `berriz migrate up` first: %w", err)
	}
	if _, err := db.UserByEmail(ctx, addr); err == nil {
		return fmt.Errorf("a user with e-mail %s already exists", addr)
	} else if berriz.KindOf(err) != berriz.NotFound {
		return err
	}

	var org account.Organisation
	if *operator {
		org, err = operatorOrganisation(ctx, db, newOrg, stdout)
		*admin = true
	} else {
		org, err = db.Organisation(ctx, *orgID)
		if berriz.KindOf(err) == berriz.NotFound {
			return fmt.Errorf("no organisation with id %d", *orgID)
		}
	}
	if err != nil {
		return err
	}
	u, err := db.CreateUser(ctx, postgres.NewUser{OrgID: org.ID, Email: addr, Name: fullName, PasswordHash: hash,
		OrgAdmin: *admin, Lang: *lang}, nil, "")
	if berriz.KindOf(err) == berriz.Conflict {
		return fmt.Errorf("a user with e-mail %s already exists", addr)
	}
	if err != nil {
		return err
	}
	adminNote := ""
	if u.OrgAdmin {
		adminNote = ", organisation admin"
	}
	fmt.Fprintf(stdout, "created user #%d %s (%s, lang %s) in organisation #%d %q: role %s%s\n",
		u.ID, u.Email, u.Name, u.Lang, org.ID, org.Name, org.Role(), adminNote)
	if generated {
		fmt.Fprintf(stdout, "generated password: %s\n", password)
		fmt.Fprintln(stderr, "warning: this password is shown only once; sign in and change it now")
	}
	return nil
}

// operatorOrganisation returns the oldest operator organisation, creating o
// when there is none, so that every bootstrapped operator shares it.
func operatorOrganisation(ctx context.Context, db *postgres.DB, o account.Organisation, stdout io.Writer) (account.Organisation, error) {
	orgs, _, err := db.ListOrganisations(ctx, postgres.OrgFilter{Kind: account.KindOperator})
	if err != nil {
		return account.Organisation{}, err
	}
	if len(orgs) > 0 {
		oldest := orgs[0]
		for _, x := range orgs[1:] {
			if x.ID < oldest.ID {
				oldest = x
			}
		}
		return oldest, nil
	}
	created, err := db.CreateOrganisation(ctx, o, nil, "")
	if err != nil {
		return account.Organisation{}, err
	}
	fmt.Fprintf(stdout, "created organisation #%d %q (%s, commune %s)\n", created.ID, created.Name, created.Kind, created.Commune)
	return created, nil
}

// readPassword returns the password from the first line of file, else of
// stdin when it is a pipe or a file, else a generated one (generated is
// then true). An empty stdin (</dev/null, a closed pipe) also generates one.
func readPassword(file string, stdin io.Reader) (password string, generated bool, err error) {
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return "", false, fmt.Errorf("password file: %w", err)
		}
		defer f.Close()
		pw, err := firstLine(f)
		if err != nil {
			return "", false, fmt.Errorf("password file %s: %w", file, err)
		}
		if pw == "" {
			return "", false, fmt.Errorf("password file %s: the first line is empty", file)
		}
		return pw, false, nil
	}
	if stdin != nil && !isTerminal(stdin) {
		pw, err := firstLine(stdin)
		if err != nil {
			return "", false, fmt.Errorf("password from standard input: %w", err)
		}
		if pw != "" {
			return pw, false, nil
		}
	}
	return generatePassword(20), true, nil
}

// firstLine reads up to the first newline, without it (nor a \r before it).
// Reading is capped well above the password policy's 256 bytes so that a
// wrong file given by mistake is not read whole.
func firstLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"), nil
}

// isTerminal reports whether r is a character device: a terminal, or
// /dev/null, which has nothing to read either.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err != nil || st.Mode()&os.ModeCharDevice != 0
}

func generatePassword(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails: crypto/rand crashes the program instead
	for i := range b {
		b[i] = generatedPasswordChars[b[i]&31]
	}
	return string(b)
}

func cleanName(s string) (string, error) {
	name := strings.Join(strings.Fields(s), " ")
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		return "", errors.New("--name is required")
	case n > 200:
		return "", errors.New("--name is longer than 200 characters")
	}
	return name, nil
}

func argon2Params(cfg config.Config) account.Argon2Params {
	return account.Argon2Params{MemoryKiB: uint32(cfg.Argon2MemoryKiB), Time: uint32(cfg.Argon2Time), Threads: uint8(cfg.Argon2Threads)}
}

// cliMessages renders the validators' translation keys for the command line,
// which speaks English only (it is an administrator's tool).
var cliMessages = map[string]string{
	"error.password_too_short":  "shorter than 12 characters",
	"error.password_too_long":   "longer than 256 bytes",
	"error.password_is_email":   "the same as the e-mail address",
	"error.password_too_common": "one of the most common passwords",
	"error.commune_format":      "not an INSEE commune code (5 characters, e.g. 64102)",
	"error.required":            "required",
	"error.too_long":            "too long",
}

// describe turns a vocabulary error into English: its fields, or its message.
func describe(err error) string {
	e := berriz.As(err)
	if e.Kind == berriz.Internal {
		return err.Error()
	}
	say := func(key string) string {
		if m, ok := cliMessages[key]; ok {
			return m
		}
		return key
	}
	if len(e.Fields) == 0 {
		return say(e.Message)
	}
	var parts []string
	for _, f := range []string{"kind", "name", "commune", "official_id", "email"} {
		if k, ok := e.Fields[f]; ok {
			parts = append(parts, f+": "+say(k))
		}
	}
	return strings.Join(parts, "; ")
}
