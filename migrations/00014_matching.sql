-- Matching and reservations (issue 6, docs/matching.md), on top of the
-- reservations of 00012:
--
-- Sending a proposal reserves each of its devices that is still free and
-- drops the others (reserved from the catalogue meanwhile, sent to
-- recycling, their request cancelled or their line filled). A dropped
-- device keeps its row, still 'proposed' (it never held the device), with
-- the reason, so that the proposal tells later what was not sent and why.
--
-- Before a reservation expires, the beneficiary is reminded once that it
-- waits for an answer: reminded_at records it, so that neither a later run
-- of the job nor another instance reminds again.
--
-- The expiry job reads the reservations due, oldest expiry first
-- (reservations_expiry of 00012); a beneficiary's page reads its live
-- reservations through its request lines (reservations_line).

-- +goose Up
ALTER TABLE reservations
    ADD COLUMN dropped_reason text CHECK (dropped_reason IN ('device_taken', 'request_closed', 'line_full')),
    ADD CONSTRAINT reservations_dropped_proposed CHECK (dropped_reason IS NULL OR state = 'proposed'),
    ADD COLUMN reminded_at timestamptz;
