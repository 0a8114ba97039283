-- The spare-parts stock keeps who threw a part away, when and why: a part
-- leaves the stock either fitted to a device (device_parts says by whom)
-- or discarded, and the workshop must be able to account for both. A part
-- fitted as a storage drive names the drive it became on the device.

-- +goose Up
ALTER TABLE stock_parts
    ADD COLUMN discarded_at   timestamptz,
    ADD COLUMN discarded_by   bigint REFERENCES users (id) ON DELETE SET NULL,
    ADD COLUMN discard_reason text NOT NULL DEFAULT '' CHECK (length(discard_reason) <= 200),
    ADD CONSTRAINT stock_parts_discarded CHECK ((state = 'discarded') = (discarded_at IS NOT NULL)
        AND (state = 'discarded') = (discard_reason <> ''));

ALTER TABLE device_parts ADD COLUMN drive_position smallint CHECK (drive_position BETWEEN 1 AND 16);
