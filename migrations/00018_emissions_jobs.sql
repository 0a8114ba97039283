-- Avoided emissions, computing results for a newly active factor set
-- (issue 7, docs/emissions.md): choosing a set clears its filled_at; the
-- background job fills the results of every delivered device missing one
-- for the active set, batch by batch, and sets filled_at when none is
-- missing, so later ticks cost one read. Who chose the set and when is
-- kept with it.

-- +goose Up
ALTER TABLE factor_sets
    ADD COLUMN filled_at    timestamptz,
    ADD COLUMN activated_at timestamptz,
    ADD COLUMN activated_by bigint REFERENCES users (id) ON DELETE SET NULL;

