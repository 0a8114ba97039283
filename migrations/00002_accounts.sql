-- Accounts: organisations, users, sessions, invitations, password resets,
-- API tokens, login throttling and the security event log.

-- +goose Up
CREATE TABLE organisations (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('operator', 'commune', 'intercommunality', 'company',
                    'administration', 'donor_other', 'workshop', 'school', 'association',
                    'social_structure', 'observatory')),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    commune     text NOT NULL CHECK (commune ~ '^([0-9]{2}|2A|2B)[0-9]{3}$'),
    official_id text CHECK (official_id ~ '^([0-9]{14}|[0-9]{7}[A-Z]|W[0-9][0-9AB][0-9]{7})$'),
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX organisations_official_id ON organisations (official_id) WHERE official_id IS NOT NULL;
CREATE INDEX organisations_kind ON organisations (kind, name);
CREATE TRIGGER organisations_updated_at BEFORE UPDATE ON organisations
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE users (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id bigint NOT NULL REFERENCES organisations (id),
    email           citext NOT NULL UNIQUE CHECK (length(email) BETWEEN 3 AND 254),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    password_hash   text NOT NULL,
    org_admin       boolean NOT NULL DEFAULT false,
    lang            text NOT NULL DEFAULT 'fr' CHECK (lang IN ('fr', 'eu', 'en')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    last_login_at   timestamptz
);
CREATE INDEX users_organisation ON users (organisation_id);
CREATE TRIGGER users_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Sessions live here, not in process memory, so any instance serves any
-- request. Only the SHA-256 of the cookie value is stored.
CREATE TABLE sessions (
    token_hash   bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    ip           text NOT NULL DEFAULT '',
    user_agent   text NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE invitations (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash      bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    organisation_id bigint NOT NULL REFERENCES organisations (id),
    email           citext NOT NULL,
    org_admin       boolean NOT NULL DEFAULT false,
    lang            text NOT NULL DEFAULT 'fr' CHECK (lang IN ('fr', 'eu', 'en')),
    invited_by      bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    accepted_at     timestamptz,
    revoked_at      timestamptz,
    CHECK (accepted_at IS NULL OR revoked_at IS NULL)
);
-- One pending invitation per address: inviting again replaces it.
CREATE UNIQUE INDEX invitations_pending_email ON invitations (email)
    WHERE accepted_at IS NULL AND revoked_at IS NULL;
CREATE INDEX invitations_organisation ON invitations (organisation_id);

CREATE TABLE password_resets (
    token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX password_resets_user ON password_resets (user_id);

-- API tokens belong to a user (acting for itself) or, for observatory
-- clients, to an organisation only (user_id NULL).
CREATE TABLE api_tokens (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id bigint NOT NULL REFERENCES organisations (id),
    user_id         bigint REFERENCES users (id) ON DELETE CASCADE,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    scope           text NOT NULL CHECK (scope IN ('read', 'write')),
    prefix          text NOT NULL,
    token_hash      bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_by      bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_used_at    timestamptz,
    revoked_at      timestamptz
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);
CREATE INDEX api_tokens_organisation ON api_tokens (organisation_id);

-- Failed sign-ins per key ("email:<address>" or "ip:<address>"), so that
-- throttling holds across instances.
CREATE TABLE login_throttle (
    key             text PRIMARY KEY,
    failures        integer NOT NULL,
    last_failure_at timestamptz NOT NULL,
    locked_until    timestamptz
);

CREATE TABLE security_events (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    kind            text NOT NULL,
    actor_user_id   bigint,
    actor_email     text NOT NULL DEFAULT '',
    subject_user_id bigint,
    subject_org_id  bigint,
    ip              text NOT NULL DEFAULT '',
    detail          text NOT NULL DEFAULT ''
);
CREATE INDEX security_events_at ON security_events (at DESC);

-- Secrets shared by every instance (CSRF keys), created by the first
-- instance that needs them.
CREATE TABLE app_secrets (
    name  text PRIMARY KEY,
    value bytea NOT NULL CHECK (length(value) >= 32)
);
