-- Observatory totals read a page at a time (docs/observatory.md): the cube
-- now keeps all 32 combinations of dimensions (internal/postgres
-- cuboids), so any grouping reads a cuboid with one row per group, in key
-- order, and a page is a range of the primary key; and, for each
-- combination with the month, a cuboid of years (gset bit 32: the month
-- column holds the year's first day), so that a range of months without
-- grouping by month reads a row per whole year.
--
-- The key's text columns compare byte by byte (COLLATE "C"), whatever the
-- database's collation: the server merges the pending deltas into a page
-- and compares cursors in that order, and it must be the index's.
--
-- A cube built before this migration lacks the new cuboids: marked stale,
-- it is answered from the base tables until the job rebuilds it (the first
-- tick after the upgrade). An empty cube (a new database) needs nothing.

-- +goose Up
ALTER TABLE observatory_totals DROP CONSTRAINT observatory_totals_gset_check,
    ADD CONSTRAINT observatory_totals_gset_check CHECK (gset BETWEEN 0 AND 63);
ALTER TABLE observatory_totals
    ALTER COLUMN category TYPE text COLLATE "C",
    ALTER COLUMN donor_kind TYPE text COLLATE "C",
    ALTER COLUMN beneficiary_kind TYPE text COLLATE "C",
    ALTER COLUMN commune TYPE text COLLATE "C",
    ALTER COLUMN set_id TYPE text COLLATE "C",
    ALTER COLUMN method_version TYPE text COLLATE "C";
UPDATE observatory_state SET stale_gen = stale_gen + 1 WHERE EXISTS (SELECT 1 FROM observatory_totals);

-- +goose Down
DELETE FROM observatory_totals WHERE gset >= 32;
ALTER TABLE observatory_totals DROP CONSTRAINT observatory_totals_gset_check,
    ADD CONSTRAINT observatory_totals_gset_check CHECK (gset BETWEEN 0 AND 31);
ALTER TABLE observatory_totals
    ALTER COLUMN category TYPE text COLLATE "default",
    ALTER COLUMN donor_kind TYPE text COLLATE "default",
    ALTER COLUMN beneficiary_kind TYPE text COLLATE "default",
    ALTER COLUMN commune TYPE text COLLATE "default",
    ALTER COLUMN set_id TYPE text COLLATE "default",
    ALTER COLUMN method_version TYPE text COLLATE "default";
UPDATE observatory_state SET stale_gen = stale_gen + 1 WHERE EXISTS (SELECT 1 FROM observatory_totals);
