-- Intake and scanning: the device lifecycle's events (who, when, from, to,
-- where, note), append-only, and each user's recent scans at the scan
-- station (kept in the database, not in server memory, so any instance
-- shows them). Issue 5 adds hash chaining to device_events.

-- +goose Up
CREATE TABLE device_events (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id     bigint NOT NULL REFERENCES devices (id),
    at            timestamptz NOT NULL DEFAULT now(),
    actor_user_id bigint REFERENCES users (id) ON DELETE SET NULL,
    from_state    text NOT NULL DEFAULT '',
    to_state      text NOT NULL,
    place         text NOT NULL DEFAULT '' CHECK (length(place) <= 200),
    note          text NOT NULL DEFAULT '' CHECK (length(note) <= 500)
);
CREATE INDEX device_events_device ON device_events (device_id, id);

-- +goose StatementBegin
CREATE FUNCTION device_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'device_events is append-only';
END;
$$;
-- +goose StatementEnd
-- Only the actor may change, to NULL, when a user is deleted (the foreign
-- key's SET NULL); everything else is written once.
CREATE TRIGGER device_events_no_change BEFORE UPDATE OF id, device_id, at, from_state, to_state, place, note OR DELETE ON device_events
    FOR EACH ROW EXECUTE FUNCTION device_events_append_only();

-- The last scans of each user at the scan station; older rows are trimmed
-- as new ones come in.
CREATE TABLE scan_log (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id   bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    at        timestamptz NOT NULL DEFAULT now(),
    -- the canonical tag code, or what was typed (cut) when it was no code
    code      text NOT NULL CHECK (length(code) <= 40),
    -- a translation key saying what happened
    result    text NOT NULL CHECK (result ~ '^[a-z_.]{1,80}$'),
    device_id bigint REFERENCES devices (id)
);
CREATE INDEX scan_log_user ON scan_log (user_id, id DESC);
