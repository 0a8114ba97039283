-- Donations: a donor organisation's declared lot and its devices, one row
-- per physical device (a quantity of identical items expands into rows).

-- +goose Up
CREATE TABLE donations (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    donor_org_id    bigint NOT NULL REFERENCES organisations (id),
    workshop_org_id bigint REFERENCES organisations (id),
    state           text NOT NULL DEFAULT 'declared'
                        CHECK (state IN ('declared', 'collected', 'received', 'closed')),
    title           text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    notes           text NOT NULL DEFAULT '' CHECK (length(notes) <= 2000),
    declared_by     bigint REFERENCES users (id) ON DELETE SET NULL,
    -- version grows with every change, for optimistic checks by API
    -- clients; state changes also take a row lock.
    version         integer NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    -- A lot is collected by a workshop: past declared, one is assigned.
    CHECK (state = 'declared' OR workshop_org_id IS NOT NULL)
);
CREATE INDEX donations_donor ON donations (donor_org_id, id DESC);
CREATE INDEX donations_workshop ON donations (workshop_org_id, id DESC) WHERE workshop_org_id IS NOT NULL;
CREATE INDEX donations_state ON donations (state, id DESC);
CREATE TRIGGER donations_updated_at BEFORE UPDATE ON donations
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE devices (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    donation_id    bigint NOT NULL REFERENCES donations (id),
    line           integer NOT NULL CHECK (line >= 1), -- the declaration line it came from
    category       text NOT NULL CHECK (category ~ '^[a-z][a-z0-9_]{0,39}$'),
    brand          text NOT NULL DEFAULT '' CHECK (length(brand) <= 100),
    model          text NOT NULL DEFAULT '' CHECK (length(model) <= 100),
    serial         text NOT NULL DEFAULT '' CHECK (length(serial) <= 100),
    year           smallint CHECK (year BETWEEN 1990 AND 2100),
    storage_drives smallint NOT NULL DEFAULT 0 CHECK (storage_drives BETWEEN 0 AND 16),
    weight_kg      numeric(6, 3) NOT NULL CHECK (weight_kg > 0 AND weight_kg <= 200),
    notes          text NOT NULL DEFAULT '' CHECK (length(notes) <= 500),
    -- The device lifecycle of DOMAIN.md.
    state          text NOT NULL DEFAULT 'declared' CHECK (state IN ('declared', 'received', 'diagnosed', 'wiped',
                       'refurbished', 'available', 'reserved', 'delivered', 'returned', 'recycled', 'dismantled')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX devices_donation ON devices (donation_id, id);
CREATE INDEX devices_state ON devices (state, category);
CREATE INDEX devices_serial ON devices (serial) WHERE serial <> '';
CREATE TRIGGER devices_updated_at BEFORE UPDATE ON devices
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- 00003 created tags before devices existed: one tag, one device, for life.
ALTER TABLE tags ADD CONSTRAINT tags_device FOREIGN KEY (device_id) REFERENCES devices (id);

-- What happened to a donation, who did it and when: append-only.
CREATE TABLE donation_events (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    donation_id   bigint NOT NULL REFERENCES donations (id),
    at            timestamptz NOT NULL DEFAULT now(),
    actor_user_id bigint REFERENCES users (id) ON DELETE SET NULL,
    kind          text NOT NULL CHECK (kind IN ('declared', 'assigned', 'state_changed')),
    from_state    text NOT NULL DEFAULT '',
    to_state      text NOT NULL DEFAULT '',
    detail        text NOT NULL DEFAULT ''
);
CREATE INDEX donation_events_donation ON donation_events (donation_id, id);
