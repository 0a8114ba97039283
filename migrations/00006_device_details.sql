-- Device details: the specs recorded at diagnosis, the storage drives one
-- by one (each will need its own erasure record), and the photos and
-- documents of a device, whose bytes live in storage/ under the keys
-- recorded here.

-- +goose Up
ALTER TABLE devices
    ADD COLUMN cpu                text NOT NULL DEFAULT '' CHECK (length(cpu) <= 100),
    ADD COLUMN ram_gb             integer CHECK (ram_gb BETWEEN 0 AND 4096),
    ADD COLUMN screen_inches      numeric(4, 1) CHECK (screen_inches > 0 AND screen_inches <= 120),
    ADD COLUMN battery_health_pct smallint CHECK (battery_health_pct BETWEEN 0 AND 100),
    ADD COLUMN os                 text NOT NULL DEFAULT '' CHECK (length(os) <= 100),
    ADD COLUMN condition_notes    text NOT NULL DEFAULT '' CHECK (length(condition_notes) <= 2000);

CREATE INDEX devices_category ON devices (category, id);

CREATE TABLE device_drives (
    device_id   bigint NOT NULL REFERENCES devices (id),
    position    smallint NOT NULL CHECK (position BETWEEN 1 AND 16),
    type        text NOT NULL CHECK (type IN ('hdd', 'ssd', 'nvme', 'emmc', 'other')),
    capacity_gb integer NOT NULL CHECK (capacity_gb BETWEEN 1 AND 1000000),
    serial      text NOT NULL DEFAULT '' CHECK (length(serial) <= 100),
    PRIMARY KEY (device_id, position)
);

CREATE TABLE device_files (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id     bigint NOT NULL REFERENCES devices (id),
    kind          text NOT NULL CHECK (kind IN ('photo', 'document')),
    storage_key   text NOT NULL UNIQUE CHECK (length(storage_key) BETWEEN 1 AND 512),
    -- Photos have a thumbnail; documents have none.
    thumb_key     text UNIQUE CHECK ((kind = 'photo') = (thumb_key IS NOT NULL)),
    content_type  text NOT NULL CHECK (content_type IN ('image/jpeg', 'application/pdf')),
    size          bigint NOT NULL CHECK (size > 0),
    sha256        text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    original_name text NOT NULL DEFAULT '' CHECK (length(original_name) <= 255),
    created_by    bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX device_files_device ON device_files (device_id, kind, id);
