-- Observatory push (issue 7, docs/observatory-push.md): an observatory
-- organisation's URLs that berriz POSTs each closed month's totals to,
-- signed with HMAC-SHA256; one delivery per subscription and month (the
-- unique constraint makes the month-close job idempotent across instances),
-- and every attempt logged.
--
-- The secret is kept in clear because berriz must sign with it; it is shown
-- once, at creation, and never again (the API and the pages show its
-- prefix only). It only authenticates berriz to the receiver: the figures
-- it signs are public aggregates.

-- +goose Up
CREATE TABLE push_subscriptions (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id bigint NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    url             text NOT NULL CHECK (length(url) BETWEEN 10 AND 2000 AND url ~ '^https?://'),
    secret          text NOT NULL CHECK (length(secret) BETWEEN 32 AND 100),
    active          boolean NOT NULL DEFAULT true,
    created_by      bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    deactivated_at  timestamptz,
    CHECK (active = (deactivated_at IS NULL))
);
CREATE INDEX push_subscriptions_org ON push_subscriptions (organisation_id, id DESC);

CREATE TABLE push_deliveries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subscription_id bigint NOT NULL REFERENCES push_subscriptions (id) ON DELETE CASCADE,
    month           date NOT NULL CHECK (extract(day FROM month) = 1),
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- When a pending delivery is due; while an instance is sending, it is
    -- pushed forward by a lease so that no other instance sends it too.
    next_attempt_at timestamptz,
    last_status     integer CHECK (last_status BETWEEN 100 AND 599),
    last_error      text NOT NULL DEFAULT '' CHECK (length(last_error) <= 500),
    delivered_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (subscription_id, month),
    CHECK ((status = 'pending') = (next_attempt_at IS NOT NULL)),
    CHECK ((status = 'delivered') = (delivered_at IS NOT NULL))
);
CREATE INDEX push_deliveries_due ON push_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX push_deliveries_recent ON push_deliveries (id DESC);

CREATE TABLE push_attempts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id bigint NOT NULL REFERENCES push_deliveries (id) ON DELETE CASCADE,
    attempt     integer NOT NULL CHECK (attempt >= 1),
    at          timestamptz NOT NULL,
    duration_ms integer NOT NULL CHECK (duration_ms >= 0),
    http_status integer CHECK (http_status BETWEEN 100 AND 599),
    error       text NOT NULL DEFAULT '' CHECK (length(error) <= 500),
    UNIQUE (delivery_id, attempt)
);
