-- Foundation: what every later table relies on.

-- +goose Up
-- +goose StatementBegin
-- set_updated_at keeps updated_at true on every UPDATE, whichever code path
-- (GORM, raw SQL, psql by hand) touched the row.
CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
-- +goose StatementEnd

-- Case-insensitive text for e-mail addresses and tag codes (a trusted
-- extension since PostgreSQL 13: the database owner may create it).
CREATE EXTENSION IF NOT EXISTS citext;
