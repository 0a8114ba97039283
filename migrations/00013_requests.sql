-- Requests (issue 6): the trace of every change of a request's state —
-- who, when, from which state to which, and why — so the beneficiary and
-- the operator read the same history, and the operators' queue read by
-- state in priority order.

-- +goose Up
CREATE TABLE request_events (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id    bigint NOT NULL REFERENCES requests (id),
    at            timestamptz NOT NULL DEFAULT now(),
    -- NULL: the system (fulfilment follows deliveries), or a user since
    -- deleted; the organisation stays so the history still says who acted
    actor_user_id bigint REFERENCES users (id) ON DELETE SET NULL,
    actor_org_id  bigint REFERENCES organisations (id),
    -- '' for the submission, which has no state before it
    from_state    text NOT NULL DEFAULT '' CHECK (from_state IN ('', 'submitted', 'approved',
                      'partially_fulfilled', 'fulfilled', 'declined', 'cancelled')),
    to_state      text NOT NULL CHECK (to_state IN ('submitted', 'approved', 'partially_fulfilled', 'fulfilled',
                      'declined', 'cancelled')),
    reason        text NOT NULL DEFAULT '' CHECK (length(reason) <= 1000),
    CHECK (from_state <> to_state)
);
CREATE INDEX request_events_request ON request_events (request_id, id);

-- The operators' list of one state, in priority order then waiting time.
CREATE INDEX requests_by_state ON requests (state, priority DESC, submitted_at, id);
