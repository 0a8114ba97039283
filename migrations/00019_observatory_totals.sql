-- Observatory totals (issue 7, docs/observatory.md): maintained aggregates
-- of what the observatory counts, so that any filter and grouping answers
-- without scanning the base tables.
--
-- observatory_facts is the definition: one row per counted fact (a state
-- event, a delivery, a current emission result) with its month and
-- dimensions read from the base tables as they are now. The naive query and
-- the full rebuild read it.
--
-- Writers never touch the totals: statement-level triggers append the
-- facts their statement added or removed, grouped, to observatory_deltas
-- (append-only: no row lock, so no hot row and no deadlock between two
-- deliveries of the same month). A background job folds the deltas into
-- observatory_totals, a cube of grouping sets (gset: which dimensions a
-- row keeps), in one statement that deletes the deltas it folds. Readers sum
-- one cuboid plus the pending deltas in one snapshot: always exact.
--
-- Rare changes of a dimension (an organisation's kind or commune, a
-- device's category, weight or donation, a request's beneficiary or
-- commune, a confirmed handover or delivered reservation changed) bump
-- stale_gen: readers answer from the naive query until the job rebuilds.
--
-- A bulk loader sets berriz.observatory_bulk = 'on' on its connection, so
-- every trigger here returns at once, then rebuilds.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION observatory_month(at timestamptz) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT date_trunc('month', at AT TIME ZONE 'Europe/Paris')::date
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION observatory_bulk() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce(current_setting('berriz.observatory_bulk', true), '') = 'on'
$$;
-- +goose StatementEnd

-- A delivered reservation whose device had no earlier delivery: its weight
-- is diverted from waste once, at the first delivery.
CREATE INDEX reservations_delivered_device ON reservations (device_id) WHERE state = 'delivered';

CREATE VIEW observatory_facts AS
SELECT observatory_month(e.at) AS month, v.category, o.kind AS donor_kind, ''::text AS beneficiary_kind,
    o.commune, ''::text AS set_id, ''::text AS method_version,
    (e.to_state = 'received')::int AS received,
    (e.from_state = 'refurbished' AND e.to_state = 'available')::int AS refurbished,
    0 AS delivered, (e.to_state = 'recycled')::int AS recycled, (e.to_state = 'dismantled')::int AS dismantled,
    0::numeric AS diverted_kg, 0::numeric AS net_kg, 0::numeric AS low_kg, 0::numeric AS high_kg,
    0::numeric AS gross_kg, 0 AS results
FROM device_events e
JOIN devices v ON v.id = e.device_id
JOIN donations d ON d.id = v.donation_id
JOIN organisations o ON o.id = d.donor_org_id
WHERE e.kind = 'state' AND (e.to_state IN ('received', 'recycled', 'dismantled')
    OR (e.from_state = 'refurbished' AND e.to_state = 'available'))
UNION ALL
SELECT observatory_month(h.confirmed_at), v.category, o.kind, b.kind, q.delivery_commune, '', '',
    0, 0, 1, 0, 0,
    CASE WHEN EXISTS (SELECT 1 FROM reservations r2 JOIN handovers h2 ON h2.id = r2.handover_id
        WHERE r2.device_id = r.device_id AND r2.state = 'delivered' AND h2.state = 'confirmed'
          AND (h2.confirmed_at, h2.id) < (h.confirmed_at, h.id)) THEN 0 ELSE v.weight_kg END,
    0, 0, 0, 0, 0
FROM reservations r
JOIN handovers h ON h.id = r.handover_id AND h.state = 'confirmed'
JOIN requests q ON q.id = h.request_id
JOIN organisations b ON b.id = q.beneficiary_org_id
JOIN devices v ON v.id = r.device_id
JOIN donations d ON d.id = v.donation_id
JOIN organisations o ON o.id = d.donor_org_id
WHERE r.state = 'delivered'
UNION ALL
SELECT date_trunc('month', x.delivered_on)::date, v.category, o.kind, coalesce(b.kind, ''),
    coalesce(q.delivery_commune, ''), x.set_id, x.method_version,
    0, 0, 0, 0, 0, 0, x.net_kg, x.low_kg, x.high_kg, x.gross_kg, 1
FROM emission_results x
JOIN devices v ON v.id = x.device_id
JOIN donations d ON d.id = v.donation_id
JOIN organisations o ON o.id = d.donor_org_id
LEFT JOIN handovers h ON h.id = x.handover_id
LEFT JOIN requests q ON q.id = h.request_id
LEFT JOIN organisations b ON b.id = q.beneficiary_org_id
WHERE x.current;

CREATE TABLE observatory_deltas (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    month            date NOT NULL,
    category         text NOT NULL,
    donor_kind       text NOT NULL,
    beneficiary_kind text NOT NULL,
    commune          text NOT NULL,
    set_id           text NOT NULL,
    method_version   text NOT NULL,
    received         bigint NOT NULL,
    refurbished      bigint NOT NULL,
    delivered        bigint NOT NULL,
    recycled         bigint NOT NULL,
    dismantled       bigint NOT NULL,
    diverted_kg      numeric NOT NULL,
    net_kg           numeric NOT NULL,
    low_kg           numeric NOT NULL,
    high_kg          numeric NOT NULL,
    gross_kg         numeric NOT NULL,
    results          bigint NOT NULL
);

-- gset: the dimensions a row keeps, as bits (1 month, 2 category, 4 donor
-- kind, 8 beneficiary kind, 16 commune); the others hold '' (month:
-- 0001-01-01). set_id '' holds the counts, a set's id its emissions.
CREATE TABLE observatory_totals (
    gset             smallint NOT NULL CHECK (gset BETWEEN 0 AND 31),
    month            date NOT NULL,
    category         text NOT NULL,
    donor_kind       text NOT NULL,
    beneficiary_kind text NOT NULL,
    commune          text NOT NULL,
    set_id           text NOT NULL,
    method_version   text NOT NULL,
    received         bigint NOT NULL,
    refurbished      bigint NOT NULL,
    delivered        bigint NOT NULL,
    recycled         bigint NOT NULL,
    dismantled       bigint NOT NULL,
    diverted_kg      numeric NOT NULL,
    net_kg           numeric NOT NULL,
    low_kg           numeric NOT NULL,
    high_kg          numeric NOT NULL,
    gross_kg         numeric NOT NULL,
    results          bigint NOT NULL,
    -- The commune first: a commune's rows of a cuboid are one key range.
    PRIMARY KEY (gset, commune, month, category, donor_kind, beneficiary_kind, set_id, method_version)
) WITH (fillfactor = 80);
-- The rebuild writes the cube in key order, so that a cuboid, or a
-- commune's part of it, is a run of contiguous pages; the fold's updates
-- touch no indexed column, so with room left on each page (fillfactor)
-- they stay HOT, on the row's own page, and keep that order.

-- One row: version grows with every fold and rebuild (with the count of
-- pending deltas it tells readers' caches whether anything changed);
-- stale_gen grows with every rare change the triggers do not follow, and
-- clean_gen is the stale_gen the last rebuild saw.
CREATE TABLE observatory_state (
    one       boolean PRIMARY KEY DEFAULT true CHECK (one),
    version   bigint NOT NULL DEFAULT 0,
    stale_gen bigint NOT NULL DEFAULT 0,
    clean_gen bigint NOT NULL DEFAULT 0,
    built_at  timestamptz
);
INSERT INTO observatory_state DEFAULT VALUES;

-- +goose StatementBegin
CREATE FUNCTION observatory_mark_stale() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT observatory_bulk() THEN
        UPDATE observatory_state SET stale_gen = stale_gen + 1;
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- State events: received, published (refurbished), recycled, dismantled.
-- +goose StatementBegin
CREATE FUNCTION observatory_events_added() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF observatory_bulk() THEN
        RETURN NULL;
    END IF;
    INSERT INTO observatory_deltas (month, category, donor_kind, beneficiary_kind, commune, set_id, method_version,
        received, refurbished, delivered, recycled, dismantled, diverted_kg, net_kg, low_kg, high_kg, gross_kg, results)
    SELECT observatory_month(e.at), v.category, o.kind, '', o.commune, '', '',
        count(*) FILTER (WHERE e.to_state = 'received'),
        count(*) FILTER (WHERE e.from_state = 'refurbished' AND e.to_state = 'available'),
        0, count(*) FILTER (WHERE e.to_state = 'recycled'), count(*) FILTER (WHERE e.to_state = 'dismantled'),
        0, 0, 0, 0, 0, 0
    FROM new_events e
    JOIN devices v ON v.id = e.device_id
    JOIN donations d ON d.id = v.donation_id
    JOIN organisations o ON o.id = d.donor_org_id
    WHERE e.kind = 'state' AND (e.to_state IN ('received', 'recycled', 'dismantled')
        OR (e.from_state = 'refurbished' AND e.to_state = 'available'))
    GROUP BY 1, 2, 3, 5;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER observatory_events AFTER INSERT ON device_events
    REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION observatory_events_added();

-- Deliveries: a handover becomes confirmed (its reservations are already
-- delivered, in the same transaction). Any other change of a confirmed
-- handover, or of a handover's request, is a rare change: stale.
-- +goose StatementBegin
CREATE FUNCTION observatory_handovers_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF observatory_bulk() THEN
        RETURN NULL;
    END IF;
    IF EXISTS (SELECT 1 FROM old_handovers o JOIN new_handovers n ON n.id = o.id
            WHERE n.request_id <> o.request_id
               OR (o.state = 'confirmed' AND (n.state, n.confirmed_at) IS DISTINCT FROM (o.state, o.confirmed_at))) THEN
        UPDATE observatory_state SET stale_gen = stale_gen + 1;
    END IF;
    INSERT INTO observatory_deltas (month, category, donor_kind, beneficiary_kind, commune, set_id, method_version,
        received, refurbished, delivered, recycled, dismantled, diverted_kg, net_kg, low_kg, high_kg, gross_kg, results)
    SELECT observatory_month(h.confirmed_at), v.category, o.kind, b.kind, q.delivery_commune, '', '',
        0, 0, count(*), 0, 0,
        coalesce(sum(v.weight_kg) FILTER (WHERE NOT EXISTS (SELECT 1 FROM reservations r2
            JOIN handovers h2 ON h2.id = r2.handover_id
            WHERE r2.device_id = r.device_id AND r2.state = 'delivered' AND h2.state = 'confirmed'
              AND (h2.confirmed_at, h2.id) < (h.confirmed_at, h.id))), 0),
        0, 0, 0, 0, 0
    FROM old_handovers ho
    JOIN new_handovers h ON h.id = ho.id AND h.state = 'confirmed' AND ho.state <> 'confirmed'
    JOIN reservations r ON r.handover_id = h.id AND r.state = 'delivered'
    JOIN requests q ON q.id = h.request_id
    JOIN organisations b ON b.id = q.beneficiary_org_id
    JOIN devices v ON v.id = r.device_id
    JOIN donations d ON d.id = v.donation_id
    JOIN organisations o ON o.id = d.donor_org_id
    GROUP BY 1, 2, 3, 4, 5;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER observatory_handovers AFTER UPDATE ON handovers
    REFERENCING OLD TABLE AS old_handovers NEW TABLE AS new_handovers
    FOR EACH STATEMENT EXECUTE FUNCTION observatory_handovers_changed();

-- A delivered reservation of a confirmed handover never changes in berriz;
-- if one does, or one is written so at once, the totals are stale.
-- +goose StatementBegin
CREATE FUNCTION observatory_reservations_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF observatory_bulk() THEN
        RETURN NULL;
    END IF;
    IF (TG_OP <> 'INSERT' AND OLD.state = 'delivered'
            AND EXISTS (SELECT 1 FROM handovers h WHERE h.id = OLD.handover_id AND h.state = 'confirmed'))
       OR (TG_OP <> 'DELETE' AND NEW.state = 'delivered'
            AND EXISTS (SELECT 1 FROM handovers h WHERE h.id = NEW.handover_id AND h.state = 'confirmed')) THEN
        UPDATE observatory_state SET stale_gen = stale_gen + 1;
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER observatory_reservations_insert AFTER INSERT ON reservations
    FOR EACH ROW WHEN (NEW.state = 'delivered') EXECUTE FUNCTION observatory_reservations_changed();
CREATE TRIGGER observatory_reservations_update AFTER UPDATE ON reservations
    FOR EACH ROW WHEN ((OLD.state = 'delivered' OR NEW.state = 'delivered')
        AND (OLD.state, OLD.handover_id, OLD.device_id) IS DISTINCT FROM (NEW.state, NEW.handover_id, NEW.device_id))
    EXECUTE FUNCTION observatory_reservations_changed();
CREATE TRIGGER observatory_reservations_delete AFTER DELETE ON reservations
    FOR EACH ROW WHEN (OLD.state = 'delivered') EXECUTE FUNCTION observatory_reservations_changed();

-- Emission results: added when current, removed when superseded (current
-- true -> false) or deleted; each with the dimensions of its delivery.
-- +goose StatementBegin
CREATE FUNCTION observatory_results_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF observatory_bulk() THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO observatory_deltas (month, category, donor_kind, beneficiary_kind, commune, set_id, method_version,
            received, refurbished, delivered, recycled, dismantled, diverted_kg, net_kg, low_kg, high_kg, gross_kg, results)
        SELECT date_trunc('month', x.delivered_on)::date, v.category, o.kind, coalesce(b.kind, ''),
            coalesce(q.delivery_commune, ''), x.set_id, x.method_version,
            0, 0, 0, 0, 0, 0, -sum(x.net_kg), -sum(x.low_kg), -sum(x.high_kg), -sum(x.gross_kg), -count(*)
        FROM old_results x
        JOIN devices v ON v.id = x.device_id
        JOIN donations d ON d.id = v.donation_id
        JOIN organisations o ON o.id = d.donor_org_id
        LEFT JOIN handovers h ON h.id = x.handover_id
        LEFT JOIN requests q ON q.id = h.request_id
        LEFT JOIN organisations b ON b.id = q.beneficiary_org_id
        WHERE x.current
        GROUP BY 1, 2, 3, 4, 5, 6, 7;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO observatory_deltas (month, category, donor_kind, beneficiary_kind, commune, set_id, method_version,
            received, refurbished, delivered, recycled, dismantled, diverted_kg, net_kg, low_kg, high_kg, gross_kg, results)
        SELECT date_trunc('month', x.delivered_on)::date, v.category, o.kind, coalesce(b.kind, ''),
            coalesce(q.delivery_commune, ''), x.set_id, x.method_version,
            0, 0, 0, 0, 0, 0, sum(x.net_kg), sum(x.low_kg), sum(x.high_kg), sum(x.gross_kg), count(*)
        FROM new_results x
        JOIN devices v ON v.id = x.device_id
        JOIN donations d ON d.id = v.donation_id
        JOIN organisations o ON o.id = d.donor_org_id
        LEFT JOIN handovers h ON h.id = x.handover_id
        LEFT JOIN requests q ON q.id = h.request_id
        LEFT JOIN organisations b ON b.id = q.beneficiary_org_id
        WHERE x.current
        GROUP BY 1, 2, 3, 4, 5, 6, 7;
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER observatory_results_insert AFTER INSERT ON emission_results
    REFERENCING NEW TABLE AS new_results FOR EACH STATEMENT EXECUTE FUNCTION observatory_results_changed();
CREATE TRIGGER observatory_results_update AFTER UPDATE ON emission_results
    REFERENCING OLD TABLE AS old_results NEW TABLE AS new_results
    FOR EACH STATEMENT EXECUTE FUNCTION observatory_results_changed();
CREATE TRIGGER observatory_results_delete AFTER DELETE ON emission_results
    REFERENCING OLD TABLE AS old_results FOR EACH STATEMENT EXECUTE FUNCTION observatory_results_changed();

-- The rare changes of a dimension.
CREATE TRIGGER observatory_org_dims AFTER UPDATE OF kind, commune ON organisations
    FOR EACH ROW WHEN ((OLD.kind, OLD.commune) IS DISTINCT FROM (NEW.kind, NEW.commune))
    EXECUTE FUNCTION observatory_mark_stale();
CREATE TRIGGER observatory_device_dims AFTER UPDATE OF category, weight_kg, donation_id ON devices
    FOR EACH ROW WHEN ((OLD.category, OLD.weight_kg, OLD.donation_id) IS DISTINCT FROM (NEW.category, NEW.weight_kg, NEW.donation_id))
    EXECUTE FUNCTION observatory_mark_stale();
CREATE TRIGGER observatory_donation_dims AFTER UPDATE OF donor_org_id ON donations
    FOR EACH ROW WHEN (OLD.donor_org_id IS DISTINCT FROM NEW.donor_org_id)
    EXECUTE FUNCTION observatory_mark_stale();
CREATE TRIGGER observatory_request_dims AFTER UPDATE OF beneficiary_org_id, delivery_commune ON requests
    FOR EACH ROW WHEN ((OLD.beneficiary_org_id, OLD.delivery_commune) IS DISTINCT FROM (NEW.beneficiary_org_id, NEW.delivery_commune))
    EXECUTE FUNCTION observatory_mark_stale();
