-- Avoided emissions (issue 7): factor sets as versioned data (the embedded
-- fr-ademe-2025 set, copied here from internal/co2's CSV files — a test
-- holds them equal — and the sets an operator imports), the operator's
-- choice of the active set, and each delivered device's results: computed
-- at handover (estimated), recomputed when the second life ends
-- (consolidated), and computed again for every new factor set — a result is
-- never overwritten, a newer one supersedes it (current).

-- +goose Up
CREATE TABLE factor_sets (
    id          text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9._-]{1,59}$'),
    version     text NOT NULL CHECK (length(version) BETWEEN 1 AND 40),
    released_on date,
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    active      boolean NOT NULL DEFAULT false,
    created_by  bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
-- Exactly one set is active at a time (the migration makes the embedded
-- set active; choosing another one switches in one transaction).
CREATE UNIQUE INDEX factor_sets_one_active ON factor_sets ((true)) WHERE active;

CREATE TABLE factor_set_categories (
    set_id            text NOT NULL REFERENCES factor_sets (id),
    category          text NOT NULL CHECK (category ~ '^[a-z][a-z0-9_]{0,39}$'),
    central_kg        numeric(10, 3) NOT NULL CHECK (central_kg >= 0),
    low_kg            numeric(10, 3) NOT NULL CHECK (low_kg >= 0),
    high_kg           numeric(10, 3) NOT NULL CHECK (high_kg >= 0),
    ref_life_years    numeric(5, 2) NOT NULL CHECK (ref_life_years > 0),
    second_life_years numeric(5, 2) NOT NULL CHECK (second_life_years >= 0),
    base_refurb_kg    numeric(10, 3) NOT NULL CHECK (base_refurb_kg >= 0),
    typical_weight_kg numeric(7, 3) NOT NULL CHECK (typical_weight_kg > 0),
    quality           text NOT NULL CHECK (quality IN ('A', 'B', 'C', 'D')),
    source            text NOT NULL CHECK (length(source) BETWEEN 1 AND 1000),
    PRIMARY KEY (set_id, category),
    CHECK (low_kg <= central_kg AND central_kg <= high_kg)
);

CREATE TABLE factor_set_parts (
    set_id text NOT NULL REFERENCES factor_sets (id),
    part   text NOT NULL CHECK (part ~ '^[a-z][a-z0-9_]{0,39}$'),
    kg_new numeric(10, 3) NOT NULL CHECK (kg_new >= 0),
    source text NOT NULL CHECK (length(source) BETWEEN 1 AND 1000),
    PRIMARY KEY (set_id, part)
);

INSERT INTO factor_sets (id, version, released_on, description, active) VALUES
    ('fr-ademe-2025', '1', '2025-12-01', 'ADEME Base IMPACTS v2.0 / ADEME-Arcep 2025 digital factors, EcoInfo, Boavizta and IVL/PAIA (../shared/co2/METHOD.md)', true);
INSERT INTO factor_set_categories (set_id, category, central_kg, low_kg, high_kg, ref_life_years, second_life_years,
    base_refurb_kg, typical_weight_kg, quality, source) VALUES
    ('fr-ademe-2025', 'laptop', 182.3, 156, 339, 5, 3, 3, 2.0, 'A', 'ADEME Base IMPACTS v2.0 / ADEME-Arcep 2025: fabrication 170 + distribution 12.3 (publicodes-acv-numerique v2.2.0, acv . ordinateur portable)'),
    ('fr-ademe-2025', 'desktop', 204.9, 169, 452, 6, 4, 5, 7.5, 'A', 'ADEME Base IMPACTS v2.0 / ADEME-Arcep 2025, professional desktop tower without screen: fabrication 203 + distribution 1.85'),
    ('fr-ademe-2025', 'all_in_one', 270.7, 241, 591, 6, 4, 5, 9.0, 'D', 'estimate: ADEME 2025 desktop (204.9) + ADEME 2025 24-inch monitor (65.9); manufacturer footprints median 379'),
    ('fr-ademe-2025', 'monitor_22', 59.3, 53, 350, 6, 4, 5, 3.5, 'D', 'estimate: ADEME 2025 24-inch monitor x 0.90 (size ratio from ADEME 2018 and manufacturer medians)'),
    ('fr-ademe-2025', 'monitor_24', 65.9, 58, 430, 6, 4, 5, 4.5, 'A', 'ADEME Base IMPACTS v2.0 / ADEME-Arcep 2025 monitor (24-inch average): fabrication 64.6 + distribution 1.29'),
    ('fr-ademe-2025', 'monitor_27', 75.8, 66, 430, 6, 4, 5, 6.0, 'D', 'estimate: ADEME 2025 24-inch monitor x 1.15'),
    ('fr-ademe-2025', 'monitor_32', 85.7, 75, 590, 6, 4, 5, 8.0, 'D', 'estimate: ADEME 2025 24-inch monitor x 1.30'),
    ('fr-ademe-2025', 'monitor_xl', 102.1, 90, 600, 6, 4, 5, 11.0, 'D', 'estimate: ADEME 2025 24-inch monitor x 1.55'),
    ('fr-ademe-2025', 'smartphone', 79.3, 39, 85, 2.5, 2, 3, 0.2, 'A', 'ADEME Base IMPACTS v2.0 / ADEME-Arcep 2025: fabrication 77 + distribution 2.27'),
    ('fr-ademe-2025', 'tablet', 83.9, 41, 121, 3, 2.5, 3, 0.5, 'A', 'ADEME Base IMPACTS v2.0 / ADEME-Arcep 2025: fabrication 80.5 + distribution 3.43'),
    ('fr-ademe-2025', 'printer_inkjet', 88.2, 60, 130, 5, 3, 5, 6.0, 'B', 'ADEME 2018 (Base Carbone element 27025), production + distribution'),
    ('fr-ademe-2025', 'printer_laser', 130, 90, 170, 5, 3, 5, 12.0, 'C', 'EcoInfo ecodiag, average of Lexmark environmental declarations (laser under 40 kg)'),
    ('fr-ademe-2025', 'printer_mfp_a3', 660, 400, 1000, 5, 3, 10, 60.0, 'C', 'EcoInfo ecodiag, A3 multifunction 40-99 kg, fabrication + transport (toner excluded)'),
    ('fr-ademe-2025', 'printer_mfp_large', 1500, 1000, 2000, 5, 3, 10, 150.0, 'C', 'EcoInfo ecodiag, multifunction over 100 kg'),
    ('fr-ademe-2025', 'server', 1278, 730, 3660, 4, 3, 10, 20.0, 'C', 'median of 55 manufacturer product carbon footprints, non-use share (Boavizta environmental-footprint-data); Base IMPACTS server 3660 as high bound'),
    ('fr-ademe-2025', 'network_box', 61.4, 18, 83, 5, 4, 3, 0.6, 'A', 'ADEME Base IMPACTS v2.0 / ADEME-Arcep 2025 internet box: fabrication 60.8 + distribution 0.61'),
    ('fr-ademe-2025', 'network_small', 10, 9, 22, 6, 4, 1, 0.5, 'C', 'EcoInfo ecodiag Wi-Fi access point; small switch of 8 ports or fewer'),
    ('fr-ademe-2025', 'network_rack', 200, 150, 780, 5, 4, 5, 5.0, 'D', 'estimate from IVL/PAIA rack-mounted network equipment; no ADEME factor exists'),
    ('fr-ademe-2025', 'keyboard', 8, 3, 24, 4, 3, 0.5, 0.6, 'D', 'estimate: geometric middle of IVL/PAIA (3) and ecodiag (24)'),
    ('fr-ademe-2025', 'mouse', 5, 3, 9, 4, 3, 0.5, 0.1, 'C', 'EcoInfo ecodiag mouse'),
    ('fr-ademe-2025', 'docking_station', 26, 8, 26, 5, 3, 1, 0.5, 'C', 'EcoInfo ecodiag docking station'),
    ('fr-ademe-2025', 'laptop_charger', 3.65, 3, 4, 5, 3, 0, 0.3, 'A', 'ADEME Base IMPACTS v2.0 / ADEME-Arcep 2025 laptop power adapter: 3.51 + 0.14'),
    ('fr-ademe-2025', 'projector', 40.5, 20, 150, 8, 4, 3, 3.0, 'A', 'ADEME 2025 video projector (SONUM work, publicodes-acv-numerique acv . videoprojecteur): 39.2 + 1.32'),
    ('fr-ademe-2025', 'thin_client', 48, 43, 108, 5, 4, 3, 1.2, 'C', 'median of 16 manufacturer footprints (Dell Wyse), non-use share'),
    ('fr-ademe-2025', 'tv', 328.3, 152, 376, 8, 4, 5, 15.0, 'A', 'ADEME Base IMPACTS v2.0 / ADEME-Arcep 2025 television (48-inch mix): 325 + 3.26'),
    ('fr-ademe-2025', 'external_hdd', 11.6, 11.6, 15.8, 5, 3, 0.5, 0.2, 'A', 'ADEME Base IMPACTS v2.0 / ADEME-Arcep 2025 external hard disk: 11.5 + 0.113');
INSERT INTO factor_set_parts (set_id, part, kg_new, source) VALUES
    ('fr-ademe-2025', 'ssd_256gb', 17.7, 'Boavizta SSD formula (capacity/density x 2.20 + 6.34) at median density 49.6 GB/cm2'),
    ('fr-ademe-2025', 'ssd_512gb', 29.0, 'Boavizta SSD formula at median density'),
    ('fr-ademe-2025', 'ssd_1tb', 50.7, 'Boavizta SSD formula at median density'),
    ('fr-ademe-2025', 'ram_4gb', 13.0, 'Boavizta RAM formula (capacity/density x 2.20 + 5.22) at median density 1.125 GB/cm2'),
    ('fr-ademe-2025', 'ram_8gb', 20.9, 'Boavizta RAM formula at median density'),
    ('fr-ademe-2025', 'ram_16gb', 36.5, 'Boavizta RAM formula at median density'),
    ('fr-ademe-2025', 'hdd', 31.1, 'Boavizta hdd factor (UBA 2021)'),
    ('fr-ademe-2025', 'laptop_battery', 8, 'IVL/PAIA device table'),
    ('fr-ademe-2025', 'laptop_screen', 60, 'IVL/PAIA device table'),
    ('fr-ademe-2025', 'tablet_screen', 32, 'IVL/PAIA device table'),
    ('fr-ademe-2025', 'smartphone_screen', 14, 'IVL/PAIA device table'),
    ('fr-ademe-2025', 'smartphone_battery', 3, 'estimate'),
    ('fr-ademe-2025', 'laptop_charger', 3.65, 'ADEME Base IMPACTS v2.0 / ADEME-Arcep 2025'),
    ('fr-ademe-2025', 'keyboard', 8, 'see factors-fr-2025.csv');

-- Each computation of a delivered device's avoided emissions, with every
-- parameter (params: co2.Result as JSON), the set and the method version.
CREATE TABLE emission_results (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id      bigint NOT NULL REFERENCES devices (id),
    cycle          integer NOT NULL CHECK (cycle >= 1),
    handover_id    bigint REFERENCES handovers (id),
    set_id         text NOT NULL REFERENCES factor_sets (id),
    method_version text NOT NULL CHECK (length(method_version) BETWEEN 1 AND 60),
    status         text NOT NULL CHECK (status IN ('estimated', 'consolidated')),
    -- the result that counts for this device, cycle and set; a newer one
    -- (a consolidation) supersedes it without deleting it
    current        boolean NOT NULL DEFAULT true,
    delivered_on   date NOT NULL, -- the handover's day: totals credit its month
    params         jsonb NOT NULL,
    net_kg         numeric(12, 3) NOT NULL,
    low_kg         numeric(12, 3) NOT NULL,
    high_kg        numeric(12, 3) NOT NULL,
    gross_kg       numeric(12, 3) NOT NULL,
    per_year_kg    numeric(12, 3) NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX emission_results_current ON emission_results (device_id, cycle, set_id) WHERE current;
CREATE INDEX emission_results_set ON emission_results (set_id, delivered_on) WHERE current;
-- The displacement rate D counts the answers of confirmed handovers at every
-- confirmation (internal/postgres/emissions.go, displacementRate): this
-- index lets it read only the answered ones, index only.
CREATE INDEX handovers_answered ON handovers (answer)
    WHERE state = 'confirmed' AND answer IN ('bought_new', 'bought_second_hand', 'gone_without');
