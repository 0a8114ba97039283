package postgres

import (
	"fmt"

	"github.com/jackc/pgx/v5"
)

// bulkCopy copies rows into a big table the way bulk loads are fast in
// PostgreSQL: in one transaction, its foreign keys and secondary indexes
// are dropped, the rows copied, then the indexes built and the foreign keys
// added back with their own definitions (pg_get_indexdef,
// pg_get_constraintdef), each checked by one join instead of one lookup
// per row. A failure rolls the whole table back, definitions included.
// The table is locked for the duration: fine for a demo database, which is
// why only LoadScale does it.
func (l *scaleLoader) bulkCopy(table string, cols []string, next func() []any) (int, error) {
	var n int
	err := pgx.BeginFunc(l.ctx, l.c, func(tx pgx.Tx) error {
		type def struct{ name, sql string }
		read := func(q string) ([]def, error) {
			rows, err := tx.Query(l.ctx, q, table)
			if err != nil {
				return nil, err
			}
			return pgx.CollectRows(rows, func(r pgx.CollectableRow) (def, error) {
				var d def
				return d, r.Scan(&d.name, &d.sql)
			})
		}
		fks, err := read(`SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
			WHERE conrelid = $1::regclass AND contype = 'f' ORDER BY conname`)
		if err != nil {
			return err
		}
		// indexes that back no constraint (primary key and unique
		// constraints stay: the data is checked against them as it comes)
		idx, err := read(`SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
			WHERE i.indrelid = $1::regclass AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
			ORDER BY c.relname`)
		if err != nil {
			return err
		}
		for _, fk := range fks {
			if _, err := tx.Exec(l.ctx, `ALTER TABLE `+table+` DROP CONSTRAINT `+pgx.Identifier{fk.name}.Sanitize()); err != nil {
				return err
			}
		}
		for _, ix := range idx {
			if _, err := tx.Exec(l.ctx, `DROP INDEX `+pgx.Identifier{ix.name}.Sanitize()); err != nil {
				return err
			}
		}
		c, err := tx.CopyFrom(l.ctx, pgx.Identifier{table}, cols, pgx.CopyFromFunc(func() ([]any, error) {
			row := next()
			if row == nil {
				return nil, nil
			}
			return row, nil
		}))
		if err != nil {
			return err
		}
		n = int(c)
		for _, ix := range idx {
			if _, err := tx.Exec(l.ctx, ix.sql); err != nil {
				return fmt.Errorf("index %s again: %w", ix.name, err)
			}
		}
		for _, fk := range fks {
			if _, err := tx.Exec(l.ctx, `ALTER TABLE `+table+` ADD CONSTRAINT `+pgx.Identifier{fk.name}.Sanitize()+` `+fk.sql); err != nil {
				return fmt.Errorf("foreign key %s again: %w", fk.name, err)
			}
		}
		return nil
	})
	return n, err
}
