-- Handovers and returns (issue 6, docs/handover.md), on top of the
-- handovers table of 00012:
--
-- A prepared handover may be cancelled before the beneficiary confirms
-- it; who did so and when is kept with it, as its confirmation is.
--
-- A workshop lists its handovers, newest first.
--
-- A beneficiary may ask for a delivered device to be taken back: the
-- request (why, who, when) waits until the workshop records the device
-- back, which moves it to returned through the lifecycle. The return
-- itself is recorded by that step's event in the device's hash-chained log
-- (who, when, the reason as its note), the one record of every change of
-- state; this table only holds the beneficiary's side, which changes no
-- state. A request belongs to the device's cycle it was delivered in: once
-- the device is returned (a new cycle starts), the request is settled, so
-- no second write has to close it. One request per device and cycle.

-- +goose Up
ALTER TABLE handovers
    ADD COLUMN cancelled_by bigint REFERENCES users (id) ON DELETE SET NULL,
    ADD COLUMN cancelled_at timestamptz,
    ADD CHECK ((state = 'cancelled') = (cancelled_at IS NOT NULL));

CREATE INDEX handovers_workshop ON handovers (workshop_org_id, id DESC);

CREATE TABLE return_requests (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id    bigint NOT NULL REFERENCES devices (id),
    cycle        integer NOT NULL CHECK (cycle >= 1),
    handover_id  bigint NOT NULL REFERENCES handovers (id),
    reason       text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    requested_by bigint REFERENCES users (id) ON DELETE SET NULL,
    requested_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (device_id, cycle)
);
CREATE INDEX return_requests_handover ON return_requests (handover_id, id);
