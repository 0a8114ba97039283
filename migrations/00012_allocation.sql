-- Requests and allocation (issue 6): beneficiaries' requests and their
-- lines, the operator's matching proposals, reservations of devices for
-- request lines, handovers with their receipts and the beneficiaries'
-- answer to the emissions method's question, and the notifications sent
-- as a daily digest.

-- +goose Up
CREATE TABLE requests (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    beneficiary_org_id bigint NOT NULL REFERENCES organisations (id),
    state              text NOT NULL DEFAULT 'submitted' CHECK (state IN ('submitted', 'approved',
                           'partially_fulfilled', 'fulfilled', 'declined', 'cancelled')),
    purpose            text NOT NULL CHECK (length(purpose) BETWEEN 1 AND 2000),
    -- INSEE code of the commune where the devices go
    delivery_commune   text NOT NULL CHECK (delivery_commune ~ '^([0-9]{2}|2A|2B)[0-9]{3}$'),
    -- priority criteria (internal/allocation), and the priority they give
    criteria           text[] NOT NULL DEFAULT '{}' CHECK (criteria <@ ARRAY['rep', 'rep_plus', 'qpv', 'zrr',
                           'social', 'disability', 'digital_inclusion']::text[]),
    priority           integer NOT NULL DEFAULT 0 CHECK (priority >= 0),
    submitted_by       bigint REFERENCES users (id) ON DELETE SET NULL,
    submitted_at       timestamptz NOT NULL DEFAULT now(),
    -- the operator's decision, with the reason of a decline
    decided_by         bigint REFERENCES users (id) ON DELETE SET NULL,
    decided_at         timestamptz,
    decision_reason    text NOT NULL DEFAULT '' CHECK (length(decision_reason) <= 1000),
    version            integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CHECK (state <> 'declined' OR decision_reason <> '')
);
CREATE INDEX requests_beneficiary ON requests (beneficiary_org_id, id DESC);
-- Matching reads approved requests by priority, then waiting time.
CREATE INDEX requests_queue ON requests (priority DESC, submitted_at, id) WHERE state IN ('approved', 'partially_fulfilled');
CREATE TRIGGER requests_updated_at BEFORE UPDATE ON requests
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE request_lines (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id        bigint NOT NULL REFERENCES requests (id),
    line              integer NOT NULL CHECK (line >= 1),
    category          text NOT NULL CHECK (category ~ '^[a-z][a-z0-9_]{0,39}$'),
    quantity          integer NOT NULL CHECK (quantity BETWEEN 1 AND 500),
    -- minimum specs; NULL: no minimum
    min_ram_gb        integer CHECK (min_ram_gb BETWEEN 1 AND 4096),
    min_storage_gb    integer CHECK (min_storage_gb BETWEEN 1 AND 1000000),
    min_screen_inches numeric(4, 1) CHECK (min_screen_inches > 0 AND min_screen_inches <= 120),
    min_grade         text CHECK (min_grade IN ('A', 'B', 'C')),
    notes             text NOT NULL DEFAULT '' CHECK (length(notes) <= 500),
    UNIQUE (request_id, line)
);

-- A proposal is the operator's matching run: drafted (devices assigned to
-- lines, nothing reserved yet), edited, then sent, which reserves its
-- devices until expires_at.
CREATE TABLE proposals (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    state      text NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'sent', 'discarded')),
    created_by bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_by    bigint REFERENCES users (id) ON DELETE SET NULL,
    sent_at    timestamptz,
    expires_at timestamptz,
    CHECK ((state = 'sent') = (sent_at IS NOT NULL AND expires_at IS NOT NULL))
);
-- One draft at a time: matching runs against what is free now.
CREATE UNIQUE INDEX proposals_one_draft ON proposals ((true)) WHERE state = 'draft';

-- Handovers: the devices of a request that a workshop hands to the
-- beneficiary, with the receipt PDF; confirmed by the beneficiary, who may
-- answer the question of co2/METHOD.md.
CREATE TABLE handovers (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id      bigint NOT NULL REFERENCES requests (id),
    workshop_org_id bigint NOT NULL REFERENCES organisations (id),
    state           text NOT NULL DEFAULT 'prepared' CHECK (state IN ('prepared', 'confirmed', 'cancelled')),
    number          text NOT NULL UNIQUE CHECK (length(number) BETWEEN 1 AND 40),
    receipt_key     text UNIQUE CHECK (length(receipt_key) BETWEEN 1 AND 512),
    receipt_size    bigint CHECK (receipt_size > 0),
    receipt_sha256  text CHECK (receipt_sha256 ~ '^[0-9a-f]{64}$'),
    created_by      bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    confirmed_by    bigint REFERENCES users (id) ON DELETE SET NULL,
    confirmed_at    timestamptz,
    -- "Without this donation, what would you have done?" (optional)
    answer          text CHECK (answer IN ('bought_new', 'bought_second_hand', 'gone_without', 'dont_know')),
    CHECK ((state = 'confirmed') = (confirmed_at IS NOT NULL))
);
CREATE INDEX handovers_request ON handovers (request_id, id);
CREATE SEQUENCE handover_numbers;

-- Reservations: a device promised to a request line. In a draft proposal
-- it is only 'proposed'; a sent proposal makes it 'reserved' until the
-- beneficiary accepts or declines it, or it expires; a beneficiary
-- reserving from the catalogue makes it 'accepted' at once; a confirmed
-- handover makes it 'delivered'.
CREATE TABLE reservations (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id       bigint NOT NULL REFERENCES devices (id),
    request_line_id bigint NOT NULL REFERENCES request_lines (id),
    proposal_id     bigint REFERENCES proposals (id),
    state           text NOT NULL CHECK (state IN ('proposed', 'reserved', 'accepted', 'declined', 'expired',
                        'released', 'delivered')),
    expires_at      timestamptz,
    handover_id     bigint REFERENCES handovers (id),
    created_by      bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    answered_by     bigint REFERENCES users (id) ON DELETE SET NULL,
    answered_at     timestamptz,
    CHECK (state <> 'reserved' OR expires_at IS NOT NULL),
    CHECK (state <> 'proposed' OR proposal_id IS NOT NULL)
);
-- Never a device reserved twice, whatever the code path: at most one live
-- reservation per device.
CREATE UNIQUE INDEX reservations_one_live ON reservations (device_id) WHERE state IN ('reserved', 'accepted');
-- Nor twice in one proposal.
CREATE UNIQUE INDEX reservations_once_per_proposal ON reservations (proposal_id, device_id) WHERE proposal_id IS NOT NULL;
CREATE INDEX reservations_line ON reservations (request_line_id, state);
CREATE INDEX reservations_expiry ON reservations (expires_at) WHERE state = 'reserved';
CREATE INDEX reservations_handover ON reservations (handover_id) WHERE handover_id IS NOT NULL;

-- Notifications: what happened that a user should know, gathered in at
-- most one e-mail digest a day; each user may switch them off.
ALTER TABLE users
    ADD COLUMN notify_email   boolean NOT NULL DEFAULT true,
    ADD COLUMN last_digest_at timestamptz;

CREATE TABLE notifications (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- a translation key family (internal/allocation, notification kinds)
    kind       text NOT NULL CHECK (kind ~ '^[a-z][a-z_.]{0,79}$'),
    -- placeholder values of the message, and the page it points to
    args       jsonb NOT NULL DEFAULT '{}',
    link       text NOT NULL DEFAULT '' CHECK (length(link) <= 500),
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at    timestamptz
);
CREATE INDEX notifications_pending ON notifications (user_id, id) WHERE sent_at IS NULL;
