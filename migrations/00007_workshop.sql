-- The workshop's refurbishment workflow (issue 5): the lifecycle's
-- bookkeeping on devices, the hash-chained event log, diagnoses, certified
-- erasures and their certificates, repairs, fitted parts and the spare
-- parts stock, recycling batches, shelf locations, and the idempotency keys
-- of the scan station's offline replay.
--
-- A device's "cycle" counts its passes through the workshop: it grows when
-- a delivered device comes back (returned), and diagnoses, erasures,
-- repairs and fitted parts belong to one cycle. Only the current cycle's
-- records count for the lifecycle's rules, so a returned device is
-- diagnosed and wiped again.

-- +goose Up
ALTER TABLE devices
    -- grows with every change of the device's state or grade: clients send
    -- the version they saw, and a stale one is refused as a conflict
    ADD COLUMN version         integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    ADD COLUMN cycle           integer NOT NULL DEFAULT 1 CHECK (cycle >= 1),
    ADD COLUMN state_since     timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN location        text NOT NULL DEFAULT '' CHECK (length(location) <= 100),
    ADD COLUMN grade           text CHECK (grade IN ('A', 'B', 'C')),
    ADD COLUMN grade_suggested text CHECK (grade_suggested IN ('A', 'B', 'C')),
    -- why the technician gave another grade than the suggested one
    ADD COLUMN grade_reason    text NOT NULL DEFAULT '' CHECK (length(grade_reason) <= 500),
    ADD COLUMN graded_by       bigint REFERENCES users (id) ON DELETE SET NULL,
    ADD COLUMN graded_at       timestamptz,
    -- the event chain's head: how many events the device has and the hash
    -- of the last one, so that removing the last event is detected too
    ADD COLUMN event_seq       integer NOT NULL DEFAULT 0 CHECK (event_seq >= 0),
    ADD COLUMN event_head      bytea CHECK (event_head IS NULL OR length(event_head) = 32);

UPDATE devices v SET state_since = coalesce((SELECT max(e.at) FROM device_events e WHERE e.device_id = v.id), v.created_at);
CREATE INDEX devices_waiting ON devices (state, state_since);

-- The event log becomes a hash chain per device: each event carries its
-- number in the device's chain, the hash of the previous event and its own
-- hash over its content (internal/postgres: eventHash). The actor is kept
-- as recorded (actor_id), since the foreign key becomes NULL when a user
-- is deleted.
ALTER TABLE device_events
    ADD COLUMN seq       integer,
    ADD COLUMN kind      text NOT NULL DEFAULT 'state' CHECK (kind ~ '^[a-z][a-z_]{0,39}$'),
    ADD COLUMN actor_id  bigint,
    ADD COLUMN detail    text NOT NULL DEFAULT '' CHECK (length(detail) <= 4000),
    ADD COLUMN prev_hash bytea,
    ADD COLUMN hash      bytea;

-- +goose StatementBegin
-- device_event_hash is the chain's hash in SQL, the twin of the Go
-- function that hashes every new event; the backfill below uses it and a
-- test holds the two to the same result.
CREATE FUNCTION device_event_hash(prev bytea, device_id bigint, seq integer, at timestamptz, actor_id bigint,
    kind text, from_state text, to_state text, place text, note text, detail text) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT sha256(convert_to(
        'berriz/device-event/v1' || E'\n' || encode(prev, 'hex') || E'\n' || device_id || E'\n' || seq || E'\n' ||
        (extract(epoch FROM at) * 1000000)::bigint || E'\n' || actor_id || E'\n' ||
        octet_length(kind) || ':' || kind || E'\n' || octet_length(from_state) || ':' || from_state || E'\n' ||
        octet_length(to_state) || ':' || to_state || E'\n' || octet_length(place) || ':' || place || E'\n' ||
        octet_length(note) || ':' || note || E'\n' || octet_length(detail) || ':' || detail || E'\n', 'UTF8'))
$$;
-- +goose StatementEnd

-- +goose StatementBegin
DO $$
DECLARE
    e record;
    prev bytea;
    cur bigint := 0;
    n integer := 0;
    h bytea;
BEGIN
    FOR e IN SELECT * FROM device_events ORDER BY device_id, id LOOP
        IF e.device_id <> cur THEN
            IF cur <> 0 THEN
                UPDATE devices SET event_seq = n, event_head = prev WHERE id = cur;
            END IF;
            cur := e.device_id;
            prev := decode(repeat('00', 32), 'hex');
            n := 0;
        END IF;
        n := n + 1;
        h := device_event_hash(prev, e.device_id, n, e.at, coalesce(e.actor_user_id, 0), e.kind, e.from_state,
            e.to_state, e.place, e.note, e.detail);
        UPDATE device_events SET seq = n, actor_id = coalesce(e.actor_user_id, 0), prev_hash = prev, hash = h
            WHERE id = e.id;
        prev := h;
    END LOOP;
    IF cur <> 0 THEN
        UPDATE devices SET event_seq = n, event_head = prev WHERE id = cur;
    END IF;
END;
$$;
-- +goose StatementEnd

ALTER TABLE device_events
    ALTER COLUMN seq SET NOT NULL,
    ALTER COLUMN actor_id SET NOT NULL,
    ALTER COLUMN prev_hash SET NOT NULL,
    ALTER COLUMN hash SET NOT NULL,
    ADD CONSTRAINT device_events_seq UNIQUE (device_id, seq),
    ADD CHECK (seq >= 1 AND length(prev_hash) = 32 AND length(hash) = 32);

-- The workshop dashboard counts state changes per week.
CREATE INDEX device_events_state_at ON device_events (at, to_state) WHERE kind = 'state';

-- Written once, never changed nor deleted: only the actor's foreign key
-- may become NULL when the user is deleted (actor_id keeps who it was).
DROP TRIGGER device_events_no_change ON device_events;
CREATE TRIGGER device_events_no_change BEFORE UPDATE OF id, device_id, at, from_state, to_state, place, note,
    seq, kind, actor_id, detail, prev_hash, hash OR DELETE ON device_events
    FOR EACH ROW EXECUTE FUNCTION device_events_append_only();

-- Diagnoses: one row each time a technician records the tests of the
-- category's checklist (internal/diagnosis); the latest of the current
-- cycle counts. Results are one row per checklist item.
CREATE TABLE diagnoses (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id       bigint NOT NULL REFERENCES devices (id),
    cycle           integer NOT NULL CHECK (cycle >= 1),
    checklist       text NOT NULL CHECK (checklist ~ '^[a-z0-9_/.-]{1,60}$'), -- id and version of the checklist used
    complete        boolean NOT NULL, -- every item of the checklist answered
    cosmetic        text CHECK (cosmetic IN ('A', 'B', 'C')),
    suggested_grade text CHECK (suggested_grade IN ('A', 'B', 'C')), -- NULL: not reusable as it is
    notes           text NOT NULL DEFAULT '' CHECK (length(notes) <= 2000),
    created_by      bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX diagnoses_device ON diagnoses (device_id, cycle, id DESC);

CREATE TABLE diagnosis_results (
    diagnosis_id bigint NOT NULL REFERENCES diagnoses (id),
    item         text NOT NULL CHECK (item ~ '^[a-z][a-z0-9_]{0,39}$'),
    result       text NOT NULL CHECK (result IN ('pass', 'fail', 'na')),
    note         text NOT NULL DEFAULT '' CHECK (length(note) <= 200),
    PRIMARY KEY (diagnosis_id, item)
);

-- Erasures: one record per storage drive and attempt, in NIST SP 800-88
-- terms. The drive is described as it was erased (a snapshot): a drive
-- counts as erased only while a drive with the same position and serial is
-- on the device. The tool's own log or report is stored through storage/.
CREATE TABLE erasures (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id         bigint NOT NULL REFERENCES devices (id),
    cycle             integer NOT NULL CHECK (cycle >= 1),
    drive_position    smallint NOT NULL CHECK (drive_position BETWEEN 1 AND 16),
    drive_type        text NOT NULL CHECK (drive_type IN ('hdd', 'ssd', 'nvme', 'emmc', 'other')),
    drive_capacity_gb integer NOT NULL CHECK (drive_capacity_gb BETWEEN 1 AND 1000000),
    drive_serial      text NOT NULL DEFAULT '' CHECK (length(drive_serial) <= 100),
    method            text NOT NULL CHECK (method IN ('clear', 'purge_crypto_erase', 'purge_block_erase',
                          'purge_overwrite', 'destroy')),
    tool              text NOT NULL CHECK (tool ~ '^[a-z][a-z0-9_]{0,39}$'),
    tool_version      text NOT NULL DEFAULT '' CHECK (length(tool_version) <= 100),
    passes            smallint NOT NULL CHECK (passes BETWEEN 0 AND 99),
    verification      text NOT NULL CHECK (verification IN ('passed', 'failed')),
    started_at        timestamptz NOT NULL,
    ended_at          timestamptz NOT NULL CHECK (ended_at >= started_at),
    technician_id     bigint REFERENCES users (id) ON DELETE SET NULL,
    technician_name   text NOT NULL CHECK (length(technician_name) BETWEEN 1 AND 200), -- as printed on the certificate
    notes             text NOT NULL DEFAULT '' CHECK (length(notes) <= 500),
    log_key           text UNIQUE CHECK (length(log_key) BETWEEN 1 AND 512),
    log_name          text NOT NULL DEFAULT '' CHECK (length(log_name) <= 255),
    log_content_type  text,
    log_size          bigint CHECK (log_size > 0),
    log_sha256        text CHECK (log_sha256 ~ '^[0-9a-f]{64}$'),
    created_at        timestamptz NOT NULL DEFAULT now(),
    CHECK ((log_key IS NULL) = (log_sha256 IS NULL) AND (log_key IS NULL) = (log_size IS NULL))
);
CREATE INDEX erasures_device ON erasures (device_id, cycle, drive_position, id DESC);

-- The erasure certificate of a device, kept as issued: its number is
-- printed on it, its token is in the URL where anyone holding it can check
-- it, and its bytes are in storage/ with their checksum.
CREATE TABLE erasure_certificates (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id    bigint NOT NULL REFERENCES devices (id),
    cycle        integer NOT NULL CHECK (cycle >= 1),
    number       text NOT NULL UNIQUE CHECK (length(number) BETWEEN 1 AND 40),
    verify_token text NOT NULL UNIQUE CHECK (verify_token ~ '^[A-Za-z0-9_-]{16,64}$'),
    storage_key  text NOT NULL UNIQUE CHECK (length(storage_key) BETWEEN 1 AND 512),
    size         bigint NOT NULL CHECK (size > 0),
    sha256       text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    created_by   bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX erasure_certificates_device ON erasure_certificates (device_id, id DESC);

-- Repairs and other operations on a device (minutes spent for the
-- workshop's own accounting).
CREATE TABLE repairs (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id   bigint NOT NULL REFERENCES devices (id),
    cycle       integer NOT NULL CHECK (cycle >= 1),
    kind        text NOT NULL CHECK (kind IN ('repair', 'part', 'os_install', 'cleaning', 'other')),
    description text NOT NULL CHECK (length(description) BETWEEN 1 AND 500),
    minutes     integer NOT NULL CHECK (minutes BETWEEN 0 AND 10000),
    created_by  bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX repairs_device ON repairs (device_id, id);

-- The spare parts stock of each workshop: parts harvested from dismantled
-- devices (second-hand) or bought (new). A storage part carries the drive's
-- description and the verified erasure it went through on its first
-- device; a drive with data never goes back into stock.
CREATE TABLE stock_parts (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workshop_org_id  bigint NOT NULL REFERENCES organisations (id),
    kind             text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]{0,39}$'), -- a part of the factor set, or other
    description      text NOT NULL DEFAULT '' CHECK (length(description) <= 200),
    condition        text NOT NULL CHECK (condition IN ('new', 'second_hand')),
    source_device_id bigint REFERENCES devices (id),
    drive_type       text CHECK (drive_type IN ('hdd', 'ssd', 'nvme', 'emmc', 'other')),
    capacity_gb      integer CHECK (capacity_gb BETWEEN 1 AND 1000000),
    serial           text NOT NULL DEFAULT '' CHECK (length(serial) <= 100),
    erasure_id       bigint REFERENCES erasures (id),
    state            text NOT NULL DEFAULT 'in_stock' CHECK (state IN ('in_stock', 'fitted', 'discarded')),
    fitted_device_id bigint REFERENCES devices (id),
    fitted_at        timestamptz,
    created_by       bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CHECK ((state = 'fitted') = (fitted_device_id IS NOT NULL)),
    CHECK ((drive_type IS NULL) = (capacity_gb IS NULL))
);
CREATE INDEX stock_parts_workshop ON stock_parts (workshop_org_id, state, kind, id);

-- Parts fitted to a device, new or second-hand (from the stock or not):
-- they feed the refurbishment burden R of the emissions method.
CREATE TABLE device_parts (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id     bigint NOT NULL REFERENCES devices (id),
    cycle         integer NOT NULL CHECK (cycle >= 1),
    kind          text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]{0,39}$'),
    condition     text NOT NULL CHECK (condition IN ('new', 'second_hand')),
    description   text NOT NULL DEFAULT '' CHECK (length(description) <= 200),
    stock_part_id bigint UNIQUE REFERENCES stock_parts (id),
    repair_id     bigint REFERENCES repairs (id),
    created_by    bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX device_parts_device ON device_parts (device_id, id);

-- Recycling batches: devices a workshop hands to a WEEE channel. A device
-- waits in an open batch (and nothing else happens to it) until the batch
-- is handed over with the recycler's certificate; then it is recycled.
CREATE TABLE recycling_batches (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workshop_org_id      bigint NOT NULL REFERENCES organisations (id),
    state                text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'handed_over')),
    recycler             text NOT NULL DEFAULT '' CHECK (length(recycler) <= 200),
    handed_over_on       date,
    total_weight_kg      numeric(9, 3) CHECK (total_weight_kg > 0),
    certificate_ref      text NOT NULL DEFAULT '' CHECK (length(certificate_ref) <= 100),
    certificate_key      text UNIQUE CHECK (length(certificate_key) BETWEEN 1 AND 512),
    certificate_name     text NOT NULL DEFAULT '' CHECK (length(certificate_name) <= 255),
    certificate_size     bigint CHECK (certificate_size > 0),
    certificate_sha256   text CHECK (certificate_sha256 ~ '^[0-9a-f]{64}$'),
    created_by           bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    handed_over_by       bigint REFERENCES users (id) ON DELETE SET NULL,
    handed_over_at       timestamptz,
    CHECK (state = 'open' OR (recycler <> '' AND handed_over_on IS NOT NULL AND total_weight_kg IS NOT NULL
        AND certificate_ref <> '' AND certificate_key IS NOT NULL AND handed_over_at IS NOT NULL))
);
CREATE INDEX recycling_batches_workshop ON recycling_batches (workshop_org_id, state, id DESC);

ALTER TABLE devices ADD COLUMN recycling_batch_id bigint REFERENCES recycling_batches (id);
CREATE INDEX devices_recycling_batch ON devices (recycling_batch_id) WHERE recycling_batch_id IS NOT NULL;

-- Shelves and other places of a workshop, for the "move" action cards.
CREATE TABLE locations (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workshop_org_id bigint NOT NULL REFERENCES organisations (id),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workshop_org_id, name)
);

-- The scan station's offline replay: each queued action carries a key made
-- by the browser; the first answer is kept, so a replayed action is applied
-- once and answered the same way again.
CREATE TABLE scan_replays (
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key          text NOT NULL CHECK (key ~ '^[A-Za-z0-9_-]{8,64}$'),
    request_hash text NOT NULL CHECK (request_hash ~ '^[0-9a-f]{64}$'),
    status       integer NOT NULL,
    response     jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
CREATE INDEX scan_replays_created ON scan_replays (created_at);
