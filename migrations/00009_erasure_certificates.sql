-- Erasure certificates (issue 5): a certificate keeps what it certified,
-- is issued once per device and workshop cycle, and is numbered from a
-- sequence of its own.
--
-- content is the certificate's facts as issued (internal/erasure's
-- Certificate: device, donation, workshop, each drive with its erasure),
-- so the public check page shows what was certified even after the
-- device's specs or drives changed. The unique (device_id, cycle) makes a
-- second certificate of the same cycle impossible, whatever two requests
-- do at once. Numbers (BRZ-E-<year>-<sequence>) come from the sequence.

-- +goose Up
ALTER TABLE erasure_certificates
    ADD COLUMN content jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(content) = 'object'),
    ADD CONSTRAINT erasure_certificates_cycle UNIQUE (device_id, cycle);

CREATE SEQUENCE erasure_certificate_numbers;
