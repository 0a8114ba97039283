package pgtest

import (
	"context"
	"database/sql"
	"testing"
)

// DonorSeed is a donor organisation whose 2026 donation holds one device
// in every fate (docs/donor-report.md), written straight in SQL so that
// store and server tests of the donor report share exact figures:
//
//	line 1 laptop delivered to a school in 64102, erasure certificate,
//	       estimated result 73.6 (45.2–140.4), tag 7KQ2-M9XD
//	line 2 laptop delivered to an association in 64483, erasure
//	       certificate, consolidated result 50.0 (30.0–100.0)
//	line 3 tablet available (prepared for reuse)
//	line 4 desktop recycled in a handed-over batch, certificate WEEE-2026-017
//	line 5 monitor dismantled
//	line 6 laptop received (in progress)
//	line 7 laptop declared
//
// Reused 3 of 5 settled: a reuse rate of 60.0 %. Net 123.6 kg CO2e
// (75.2–240.4). Declared years (décret n° 2023-266's ten-year rule):
// 2019, 2016 (ten years: counted), none, 2015 (eleven: excluded), 2018,
// 2020, 2021; so the décret counts 6 devices, 3 reused (A), 1 without a
// year. The donor also gave one device in 2025; another donor
// gave one in 2026.
type DonorSeed struct {
	Donor, OtherDonor, Workshop, School, Association int64
	Devices                                          []int64 // the 2026 donation's, by line
}

// MustDonorSeed writes the seed into db.
func MustDonorSeed(t testing.TB, db *sql.DB) DonorSeed {
	t.Helper()
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	id := func(q string, args ...any) int64 {
		t.Helper()
		var v int64
		if err := tx.QueryRowContext(ctx, q+" RETURNING id", args...).Scan(&v); err != nil {
			t.Fatalf("donor seed: %s: %v", q, err)
		}
		return v
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("donor seed: %s: %v", q, err)
		}
	}
	org := func(kind, name, commune string) int64 {
		return id(`INSERT INTO organisations (kind, name, commune) VALUES ($1, $2, $3)`, kind, name, commune)
	}
	var s DonorSeed
	s.Donor = org("commune", "Mairie d'Anglet", "64024")
	s.OtherDonor = org("company", "Entreprise Voisine", "64102")
	s.Workshop = org("workshop", "Atelier Berriz", "64102")
	s.School = org("school", "École Jules Ferry", "64102")
	s.Association = org("association", "Association Lagunak", "64483")

	donation := func(donor int64, at string) int64 {
		return id(`INSERT INTO donations (donor_org_id, workshop_org_id, state, title, created_at)
			VALUES ($1, $2, 'received', 'Lot', $3)`, donor, s.Workshop, at)
	}
	device := func(donation int64, line int, category, brand, model, serial string, kg float64, state string) int64 {
		return id(`INSERT INTO devices (donation_id, line, category, brand, model, serial, weight_kg, state)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, donation, line, category, brand, model, serial, kg, state)
	}
	d26 := donation(s.Donor, "2026-03-10 10:00:00+01")
	s.Devices = []int64{
		device(d26, 1, "laptop", "Dell", "Latitude 5490", "SN-D1", 2, "delivered"),
		device(d26, 2, "laptop", "Lenovo", "T480", "SN-D2", 2, "delivered"),
		device(d26, 3, "tablet", "Apple", "iPad 6", "SN-D3", 0.5, "available"),
		device(d26, 4, "desktop", "HP", "ProDesk 400", "SN-D4", 7.5, "recycled"),
		device(d26, 5, "monitor_24", "Dell", "P2419H", "SN-D5", 4.5, "dismantled"),
		device(d26, 6, "laptop", "HP", "EliteBook 840", "SN-D6", 2, "received"),
		device(d26, 7, "laptop", "Acer", "TravelMate", "SN-D7", 2, "declared"),
	}
	for i, y := range []int{2019, 2016, 0, 2015, 2018, 2020, 2021} {
		if y != 0 {
			exec(`UPDATE devices SET year = $1 WHERE id = $2`, y, s.Devices[i])
		}
	}
	device(donation(s.Donor, "2025-06-01 10:00:00+02"), 1, "laptop", "Dell", "Latitude 7480", "SN-2025", 2, "received")
	device(donation(s.OtherDonor, "2026-04-01 10:00:00+02"), 1, "laptop", "Dell", "Latitude 3310", "SN-OTHER", 2, "received")

	batch := id(`INSERT INTO tag_batches (organisation_id, count) VALUES ($1, 1)`, s.Workshop)
	exec(`INSERT INTO tags (code, batch_id, device_id, linked_at) VALUES ('7KQ2M9XD', $1, $2, now())`, batch, s.Devices[0])

	handover := func(beneficiary int64, commune, number string, device int64) int64 {
		req := id(`INSERT INTO requests (beneficiary_org_id, state, purpose, delivery_commune) VALUES ($1, 'fulfilled', 'Cours', $2)`,
			beneficiary, commune)
		line := id(`INSERT INTO request_lines (request_id, line, category, quantity) VALUES ($1, 1, 'laptop', 1)`, req)
		h := id(`INSERT INTO handovers (request_id, workshop_org_id, state, number, confirmed_at)
			VALUES ($1, $2, 'confirmed', $3, '2026-05-04 10:00:00+02')`, req, s.Workshop, number)
		exec(`INSERT INTO reservations (device_id, request_line_id, state, handover_id) VALUES ($1, $2, 'delivered', $3)`, device, line, h)
		return h
	}
	h1 := handover(s.School, "64102", "H-2026-0001", s.Devices[0])
	h2 := handover(s.Association, "64483", "H-2026-0002", s.Devices[1])
	for i, dev := range s.Devices[:2] {
		exec(`INSERT INTO erasure_certificates (device_id, cycle, number, verify_token, storage_key, size, sha256)
			VALUES ($1, 1, $2, $3, $4, 100, repeat('a', 64))`, dev, []string{"BRZ-E-2026-000001", "BRZ-E-2026-000002"}[i],
			[]string{"check-token-0001-aaaa", "check-token-0002-bbbb"}[i], []string{"certs/1.pdf", "certs/2.pdf"}[i])
	}
	result := func(dev, h int64, set, status string, current bool, net, low, high float64) {
		exec(`INSERT INTO emission_results (device_id, cycle, handover_id, set_id, method_version, status, current,
			delivered_on, params, net_kg, low_kg, high_kg, gross_kg, per_year_kg)
			VALUES ($1, 1, $2, $3, 'berriz-avoided-2025.1', $4, $5, '2026-05-04', '{}', $6, $7, $8, 0, 0)`,
			dev, h, set, status, current, net, low, high)
	}
	exec(`INSERT INTO factor_sets (id, version, description) VALUES ('seed-other-set', '1', 'not active')`)
	result(s.Devices[0], h1, "fr-ademe-2025", "estimated", true, 73.6, 45.2, 140.4)
	result(s.Devices[0], h1, "seed-other-set", "estimated", true, 999, 999, 999)     // another set: never summed
	result(s.Devices[1], h2, "fr-ademe-2025", "estimated", false, 73.6, 45.2, 140.4) // superseded
	result(s.Devices[1], h2, "fr-ademe-2025", "consolidated", true, 50, 30, 100)

	rb := id(`INSERT INTO recycling_batches (workshop_org_id, state, recycler, handed_over_on, total_weight_kg,
		certificate_ref, certificate_key, handed_over_at) VALUES ($1, 'handed_over', 'Ecosystem', '2026-06-01', 7.5,
		'WEEE-2026-017', 'recycling/1.pdf', now())`, s.Workshop)
	exec(`UPDATE devices SET recycling_batch_id = $1 WHERE id = $2`, rb, s.Devices[3])
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return s
}
