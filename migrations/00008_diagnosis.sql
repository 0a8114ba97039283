-- Diagnosis (issue 5): a diagnosis keeps the battery health its suggested
-- grade read from the device's specs when it was recorded, so the
-- suggestion and its reasons can be shown and checked again later even
-- after the specs change (docs/grading.md).

-- +goose Up
ALTER TABLE diagnoses
    ADD COLUMN battery_health_pct smallint CHECK (battery_health_pct BETWEEN 0 AND 100);
