package postgres

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/co2"
	"gorm.io/gorm"
)

// Factor sets as data (migrations 00017, 00018): an operator imports a new
// set from the two CSV files of ../shared/co2 (all or nothing, every
// problem reported with its line and column) and chooses which set is
// active. A set is immutable once imported; choosing it clears its
// filled_at so that the background job computes the results it lacks
// (emissions_backfill.go).

// FactorSetInfo describes a factor set.
type FactorSetInfo struct {
	ID          string     `json:"id"`
	Version     string     `json:"version"`
	ReleasedOn  string     `json:"released_on,omitempty"` // YYYY-MM-DD
	Description string     `json:"description"`
	Active      bool       `json:"active"`
	Categories  int        `json:"categories"`
	Parts       int        `json:"parts"`
	CreatedBy   string     `json:"created_by,omitempty"` // the user's name, while the account exists
	CreatedAt   time.Time  `json:"created_at"`
	ActivatedAt *time.Time `json:"activated_at,omitempty"`
	FilledAt    *time.Time `json:"filled_at,omitempty"` // every delivered device has its result (active set)
}

// FactorSetDetail is a set with its rows.
type FactorSetDetail struct {
	FactorSetInfo
	CategoryRows []CategoryRow `json:"category_rows"`
	PartRows     []PartRow     `json:"part_rows"`
}

// CategoryRow is a category of a set, named as the CSV file's columns.
type CategoryRow struct {
	Category        string  `json:"category"`
	CentralKg       float64 `json:"central_kg"`
	LowKg           float64 `json:"low_kg"`
	HighKg          float64 `json:"high_kg"`
	RefLifeYears    float64 `json:"ref_life_years"`
	SecondLifeYears float64 `json:"second_life_years"`
	BaseRefurbKg    float64 `json:"base_refurb_kg"`
	TypicalWeightKg float64 `json:"typical_weight_kg"`
	Quality         string  `json:"quality"`
	Source          string  `json:"source"`
}

// PartRow is a part kind of a set, named as the CSV file's columns.
type PartRow struct {
	Part   string  `json:"part"`
	KgNew  float64 `json:"kg_new"`
	Source string  `json:"source"`
}

const factorSetColumns = `s.id, s.version, coalesce(to_char(s.released_on, 'YYYY-MM-DD'), ''), s.description, s.active,
	(SELECT count(*) FROM factor_set_categories c WHERE c.set_id = s.id), (SELECT count(*) FROM factor_set_parts p WHERE p.set_id = s.id),
	coalesce(u.name, ''), s.created_at, s.activated_at, s.filled_at
	FROM factor_sets s LEFT JOIN users u ON u.id = s.created_by`

func scanFactorSet(row interface{ Scan(...any) error }) (FactorSetInfo, error) {
	var s FactorSetInfo
	err := row.Scan(&s.ID, &s.Version, &s.ReleasedOn, &s.Description, &s.Active, &s.Categories, &s.Parts, &s.CreatedBy,
		&s.CreatedAt, &s.ActivatedAt, &s.FilledAt)
	return s, err
}

// FactorSets lists every factor set, the active one first, then newest
// first (a territory keeps a handful).
func (db *DB) FactorSets(ctx context.Context) ([]FactorSetInfo, error) {
	rows, err := db.gorm.WithContext(ctx).Raw(`SELECT ` + factorSetColumns + ` ORDER BY s.active DESC, s.created_at DESC, s.id LIMIT 200`).Rows()
	if err != nil {
		return nil, fmt.Errorf("factor sets: %w", err)
	}
	defer rows.Close()
	out := []FactorSetInfo{}
	for rows.Next() {
		s, err := scanFactorSet(rows)
		if err != nil {
			return nil, fmt.Errorf("factor sets: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// FactorSet returns one set with its category and part rows.
func (db *DB) FactorSet(ctx context.Context, id string) (FactorSetDetail, error) {
	g := db.gorm.WithContext(ctx)
	info, err := scanFactorSet(g.Raw(`SELECT `+factorSetColumns+` WHERE s.id = ?`, id).Row())
	if err != nil {
		return FactorSetDetail{}, fmt.Errorf("factor set %s: %w", id, notFound(err, "emissions.error.set_not_found"))
	}
	set, err := loadFactorSet(g, id)
	if err != nil {
		return FactorSetDetail{}, fmt.Errorf("factor set %s: %w", id, err)
	}
	out := FactorSetDetail{FactorSetInfo: info, CategoryRows: []CategoryRow{}, PartRows: []PartRow{}}
	for _, c := range set.Categories {
		out.CategoryRows = append(out.CategoryRows, CategoryRow{Category: c.ID, CentralKg: c.CentralKg, LowKg: c.LowKg,
			HighKg: c.HighKg, RefLifeYears: c.RefLifeYears, SecondLifeYears: c.SecondLifeYears, BaseRefurbKg: c.BaseRefurbKg,
			TypicalWeightKg: c.TypicalWeightKg, Quality: c.Quality, Source: c.Source})
	}
	for _, p := range set.Parts {
		if p.ID != co2.OtherPart { // not a row: the method's kind for parts without a figure
			out.PartRows = append(out.PartRows, PartRow{Part: p.ID, KgNew: p.KgNew, Source: p.Source})
		}
	}
	return out, nil
}

// Fields of the import form and body.
const (
	FieldSetID          = "id"
	FieldSetVersion     = "version"
	FieldSetReleasedOn  = "released_on"
	FieldSetDescription = "description"
	FieldSetCategories  = "categories"
	FieldSetParts       = "parts"
)

// NewFactorSetImport is an operator's import: the set's identity and its
// two CSV files.
type NewFactorSetImport struct {
	ID, Version, ReleasedOn, Description string
	Categories, Parts                    []byte
}

// ImportProblem is one line error of an imported file.
type ImportProblem struct {
	File string `json:"file"` // categories or parts
	co2.LineError
}

var setIDRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,59}$`)

// checkImport checks the form's fields and both files; every problem is
// reported at once: the fields as field errors, the files' lines as the
// "problems" detail ([]ImportProblem).
func checkImport(in *NewFactorSetImport) ([]co2.Category, []co2.Part, error) {
	fe := berriz.FieldErrors{}
	in.ID, in.Version = strings.TrimSpace(in.ID), strings.TrimSpace(in.Version)
	in.ReleasedOn, in.Description = strings.TrimSpace(in.ReleasedOn), strings.TrimSpace(in.Description)
	if !setIDRE.MatchString(in.ID) {
		fe.Add(FieldSetID, "emissions.error.id")
	}
	// berriz.Text: an API client's bytes that a text column refuses are a
	// field error, not a database error.
	if in.Version = berriz.Text(fe, FieldSetVersion, in.Version, 40, false, "emissions.error.version"); in.Version == "" {
		fe.Add(FieldSetVersion, "emissions.error.version")
	}
	if in.ReleasedOn != "" {
		if _, err := time.Parse(time.DateOnly, in.ReleasedOn); err != nil {
			fe.Add(FieldSetReleasedOn, "emissions.error.released_on")
		}
	}
	in.Description = berriz.Text(fe, FieldSetDescription, in.Description, 2000, true, "emissions.error.description")
	var problems []ImportProblem
	cats, lerrs := co2.ParseCategoriesCSV(in.Categories)
	for _, le := range lerrs {
		problems = append(problems, ImportProblem{File: FieldSetCategories, LineError: le})
	}
	if len(lerrs) > 0 {
		fe.Add(FieldSetCategories, "emissions.error.file")
	}
	parts, lerrs := co2.ParsePartsCSV(in.Parts)
	for _, le := range lerrs {
		problems = append(problems, ImportProblem{File: FieldSetParts, LineError: le})
	}
	if len(lerrs) > 0 {
		fe.Add(FieldSetParts, "emissions.error.file")
	}
	if err := fe.Err(); err != nil {
		be := berriz.As(err)
		if len(problems) > 0 {
			be = be.WithDetail("problems", problems)
		}
		return nil, nil, be
	}
	return cats, parts, nil
}

// ImportFactorSet checks and stores a new, inactive factor set: all or
// nothing, one transaction. An id already taken is a field error.
func (db *DB) ImportFactorSet(ctx context.Context, in NewFactorSetImport, actor *account.Principal) (FactorSetInfo, error) {
	cats, parts, err := checkImport(&in)
	if err != nil {
		return FactorSetInfo{}, err
	}
	err = db.Tx(ctx, func(tx *gorm.DB) error {
		res := tx.Exec(`INSERT INTO factor_sets (id, version, released_on, description, created_by)
			VALUES (?, ?, nullif(?, '')::date, ?, nullif(?, 0)) ON CONFLICT (id) DO NOTHING`,
			in.ID, in.Version, in.ReleasedOn, in.Description, actorID(actor))
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return berriz.FieldErrors{FieldSetID: "emissions.error.id_taken"}.Err()
		}
		for _, c := range cats {
			if err := tx.Exec(`INSERT INTO factor_set_categories (set_id, category, central_kg, low_kg, high_kg, ref_life_years,
				second_life_years, base_refurb_kg, typical_weight_kg, quality, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				in.ID, c.ID, c.CentralKg, c.LowKg, c.HighKg, c.RefLifeYears, c.SecondLifeYears, c.BaseRefurbKg,
				c.TypicalWeightKg, c.Quality, c.Source).Error; err != nil {
				return fmt.Errorf("category %s: %w", c.ID, err)
			}
		}
		for _, p := range parts {
			if err := tx.Exec(`INSERT INTO factor_set_parts (set_id, part, kg_new, source) VALUES (?, ?, ?, ?)`,
				in.ID, p.ID, p.KgNew, p.Source).Error; err != nil {
				return fmt.Errorf("part %s: %w", p.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return FactorSetInfo{}, fmt.Errorf("import factor set %s: %w", in.ID, err)
	}
	d, err := db.FactorSet(ctx, in.ID)
	return d.FactorSetInfo, err
}

// ActivateFactorSet makes a set the active one, in one transaction (the
// previous one stops being active; confirmations computing with it finish
// first), and clears its filled_at: the background job computes the
// results of delivered devices that lack one of this set. Choosing the
// active set again is a no-op that still restarts the fill.
func (db *DB) ActivateFactorSet(ctx context.Context, id string, actor *account.Principal) (FactorSetInfo, error) {
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		// Every set, in id order: two choices at once queue here, and the
		// second sees the first's outcome.
		var ids []string
		if err := tx.Raw(`SELECT id FROM factor_sets ORDER BY id FOR UPDATE`).Scan(&ids).Error; err != nil {
			return err
		}
		if !slices.Contains(ids, id) {
			return berriz.E(berriz.NotFound, "emissions.error.set_not_found")
		}
		if err := tx.Exec(`UPDATE factor_sets SET active = false WHERE active AND id <> ?`, id).Error; err != nil {
			return err
		}
		return tx.Exec(`UPDATE factor_sets SET active = true, filled_at = NULL, activated_at = now(), activated_by = nullif(?, 0)
			WHERE id = ?`, actorID(actor), id).Error
	})
	if err != nil {
		return FactorSetInfo{}, fmt.Errorf("activate factor set %s: %w", id, err)
	}
	d, err := db.FactorSet(ctx, id)
	return d.FactorSetInfo, err
}
