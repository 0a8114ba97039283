-- Recycling batches and the scan station's action cards (issue 5):
--
-- A workshop has at most one open recycling batch at a time: devices sent
-- to recycling join it (it is created on demand), and two technicians
-- adding devices at once must land in the same batch. The partial unique
-- index makes the database refuse a second open batch, whatever the code
-- does; the store inserts with ON CONFLICT against it.
--
-- The station's last scans say what happened to each device, including
-- why the lifecycle refused a step: the refusal's message is a translation
-- key with placeholders (a state, a count), so the log keeps the values of
-- those placeholders next to the key, and the kind of outcome (done,
-- refused, not found...) that the page shows as success or failure.

-- +goose Up
CREATE UNIQUE INDEX recycling_batches_one_open ON recycling_batches (workshop_org_id) WHERE state = 'open';

ALTER TABLE scan_log
    ADD COLUMN outcome text NOT NULL DEFAULT '' CHECK (outcome IN ('', 'done', 'info', 'refused', 'not_found', 'invalid')),
    -- {"a": {placeholder: value}, "k": {placeholder: translation key}}
    ADD COLUMN args jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(args) = 'object' AND length(args::text) <= 2000);
