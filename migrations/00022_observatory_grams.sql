-- The cube's kilograms as integer grams (thousandths of a kilogram): every
-- kilogram berriz records has three decimals (numeric(…, 3)), so the sums
-- are exact either way, and a read of thousands of cube rows no longer
-- converts five numerics per row (a third of a wide month range's time in
-- the database, docs/benchmarks.md). The deltas keep their numeric
-- kilograms: the fold and the rebuild convert their sums.

-- +goose Up
ALTER TABLE observatory_totals
    ALTER COLUMN diverted_kg TYPE bigint USING (diverted_kg * 1000)::bigint,
    ALTER COLUMN net_kg TYPE bigint USING (net_kg * 1000)::bigint,
    ALTER COLUMN low_kg TYPE bigint USING (low_kg * 1000)::bigint,
    ALTER COLUMN high_kg TYPE bigint USING (high_kg * 1000)::bigint,
    ALTER COLUMN gross_kg TYPE bigint USING (gross_kg * 1000)::bigint;
ALTER TABLE observatory_totals RENAME COLUMN diverted_kg TO diverted_g;
ALTER TABLE observatory_totals RENAME COLUMN net_kg TO net_g;
ALTER TABLE observatory_totals RENAME COLUMN low_kg TO low_g;
ALTER TABLE observatory_totals RENAME COLUMN high_kg TO high_g;
ALTER TABLE observatory_totals RENAME COLUMN gross_kg TO gross_g;
ANALYZE observatory_totals;

-- +goose Down
ALTER TABLE observatory_totals RENAME COLUMN diverted_g TO diverted_kg;
ALTER TABLE observatory_totals RENAME COLUMN net_g TO net_kg;
ALTER TABLE observatory_totals RENAME COLUMN low_g TO low_kg;
ALTER TABLE observatory_totals RENAME COLUMN high_g TO high_kg;
ALTER TABLE observatory_totals RENAME COLUMN gross_g TO gross_kg;
ALTER TABLE observatory_totals
    ALTER COLUMN diverted_kg TYPE numeric USING round(diverted_kg / 1000.0, 3),
    ALTER COLUMN net_kg TYPE numeric USING round(net_kg / 1000.0, 3),
    ALTER COLUMN low_kg TYPE numeric USING round(low_kg / 1000.0, 3),
    ALTER COLUMN high_kg TYPE numeric USING round(high_kg / 1000.0, 3),
    ALTER COLUMN gross_kg TYPE numeric USING round(gross_kg / 1000.0, 3);
