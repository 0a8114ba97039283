// Package report owns the donor report: what became of each device a donor
// organisation gave in a year (its fate, its certificates, its avoided
// emissions), berriz's reuse rate over them, and the indicator public
// bodies must report under décret n° 2023-266 (decret.go), with its CSV
// and PDF renderings. The store gathers the rows;
// this package decides what they mean and how they are written. Standard
// library and internal/pdf only, no I/O beyond the writer it is given.
package report

import (
	"math"
	"time"
)

// Fate is what became of a donated device, from its current state.
type Fate string

// The fates, in the order reports list them.
const (
	// Delivered: handed over to a beneficiary and confirmed.
	Delivered Fate = "delivered"
	// Prepared: prepared for reuse (refurbished, in the catalogue or
	// reserved), not yet handed over.
	Prepared Fate = "prepared"
	// Recycled: sent to a certified WEEE channel.
	Recycled Fate = "recycled"
	// Dismantled: harvested for spare parts.
	Dismantled Fate = "dismantled"
	// InProgress: in the workshop (received, diagnosed, wiped, or returned
	// by a beneficiary and being checked again).
	InProgress Fate = "in_progress"
	// Declared: declared by the donor, not yet collected.
	Declared Fate = "declared"
)

// Fates lists every fate in report order.
var Fates = []Fate{Delivered, Prepared, Recycled, Dismantled, InProgress, Declared}

// FateOf maps a device state (internal/lifecycle's names) to its fate.
func FateOf(state string) Fate {
	switch state {
	case "delivered":
		return Delivered
	case "refurbished", "available", "reserved":
		return Prepared
	case "recycled":
		return Recycled
	case "dismantled":
		return Dismantled
	case "declared":
		return Declared
	}
	return InProgress // received, diagnosed, wiped, returned
}

// Reused says whether the fate counts as reuse for the reuse rate.
func (f Fate) Reused() bool { return f == Delivered || f == Prepared }

// Settled says whether the fate is final enough to count in the reuse
// rate's denominator: reused, or gone to material recovery.
func (f Fate) Settled() bool { return f.Reused() || f == Recycled || f == Dismantled }

// Organisation is the donor a report covers.
type Organisation struct {
	ID      int64  `json:"id"`
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Commune string `json:"commune"` // INSEE code
}

// Emissions is a device's avoided emissions under the active factor set:
// the sum of its current results over its delivery cycles (a device
// delivered, returned and delivered again has two).
type Emissions struct {
	NetKg  float64 `json:"net_kg"`
	LowKg  float64 `json:"low_kg"`
	HighKg float64 `json:"high_kg"`
	// Status is "consolidated" when every cycle's result is, otherwise
	// "estimated".
	Status string `json:"status"`
}

// Device is one device given, as the report shows it. No person appears:
// a beneficiary is named by its kind and the delivery commune only.
type Device struct {
	ID       int64   `json:"id"`
	Donation int64   `json:"donation_id"`
	Tag      string  `json:"tag"` // printed form, "" without one
	Category string  `json:"category"`
	Brand    string  `json:"brand"`
	Model    string  `json:"model"`
	Serial   string  `json:"serial"`
	WeightKg float64 `json:"weight_kg"`
	// Year is the device's year as the donor declared it, nil if unknown.
	Year  *int   `json:"year"`
	State string `json:"state"`
	Fate  Fate   `json:"fate"`
	// Delivered devices: the beneficiary's kind (school, association,
	// social_structure), the delivery commune (INSEE) and the day.
	BeneficiaryKind string     `json:"beneficiary_kind,omitempty"`
	Commune         string     `json:"commune,omitempty"`
	DeliveredOn     *time.Time `json:"delivered_on,omitempty"`
	// The latest erasure certificate's number and its public check URL.
	ErasureCertificate string `json:"erasure_certificate,omitempty"`
	ErasureCheckURL    string `json:"erasure_check_url,omitempty"`
	// Recycled devices: the batch's certificate reference, once the batch
	// is handed over to the recycler.
	RecyclingCertificate string     `json:"recycling_certificate,omitempty"`
	Recycler             string     `json:"recycler,omitempty"`
	Emissions            *Emissions `json:"emissions,omitempty"`
	// The décret n° 2023-266 view (decret.go): the R. 543-172 category
	// ("" when unassigned) and why the device is left out of the décret's
	// calculation ("category", "over_ten_years"; "" when it counts).
	WEEECategory    string `json:"weee_category"`
	DecretExclusion string `json:"decret_exclusion"`
}

// DonorReport is a donor organisation's report for one calendar year
// (Europe/Paris) of its donations' declaration dates.
type DonorReport struct {
	Org           Organisation `json:"organisation"`
	Year          int          `json:"year"`
	GeneratedAt   time.Time    `json:"generated_at"`
	FactorSet     string       `json:"factor_set"`
	FactorVersion string       `json:"factor_set_version"`
	MethodVersion string       `json:"method_version"`
	Devices       []Device     `json:"devices"`
	Summary       Summary      `json:"summary"`
}

// Summary counts the devices by fate and sums their avoided emissions.
type Summary struct {
	Given      int `json:"given"`
	Delivered  int `json:"delivered"`
	Prepared   int `json:"prepared"`
	Recycled   int `json:"recycled"`
	Dismantled int `json:"dismantled"`
	InProgress int `json:"in_progress"`
	Declared   int `json:"declared"`
	// Reused = Delivered + Prepared; Settled = Reused + Recycled +
	// Dismantled.
	Reused  int `json:"reused"`
	Settled int `json:"settled"`
	// ReuseRatePct = Reused / Settled × 100, to 0.1; nil when nothing is
	// settled yet.
	ReuseRatePct *float64 `json:"reuse_rate_pct"`
	// Over the devices with a result of the active set.
	NetKg        float64 `json:"net_kg"`
	LowKg        float64 `json:"low_kg"`
	HighKg       float64 `json:"high_kg"`
	WithResult   int     `json:"with_result"`
	Consolidated int     `json:"consolidated"`
	WeightKg     float64 `json:"weight_kg"` // of every device given
	// Decret is the indicator of décret n° 2023-266 (decret.go).
	Decret Decret `json:"decret_2023_266"`
}

// ReuseRate is the share of settled devices that were reused, in percent
// to 0.1; ok is false when none is settled.
func ReuseRate(reused, settled int) (pct float64, ok bool) {
	if settled <= 0 {
		return 0, false
	}
	return math.Round(float64(reused)*1000/float64(settled)) / 10, true
}

// Summarize fills in the summary from the devices.
func (r *DonorReport) Summarize() {
	s := Summary{Given: len(r.Devices)}
	for _, d := range r.Devices {
		switch d.Fate {
		case Delivered:
			s.Delivered++
		case Prepared:
			s.Prepared++
		case Recycled:
			s.Recycled++
		case Dismantled:
			s.Dismantled++
		case Declared:
			s.Declared++
		default:
			s.InProgress++
		}
		if d.Fate.Reused() {
			s.Reused++
		}
		if d.Fate.Settled() {
			s.Settled++
		}
		s.WeightKg += d.WeightKg
		if e := d.Emissions; e != nil {
			s.WithResult++
			s.NetKg += e.NetKg
			s.LowKg += e.LowKg
			s.HighKg += e.HighKg
			if e.Status == "consolidated" {
				s.Consolidated++
			}
		}
	}
	if pct, ok := ReuseRate(s.Reused, s.Settled); ok {
		s.ReuseRatePct = &pct
	}
	s.NetKg, s.LowKg, s.HighKg = round1(s.NetKg), round1(s.LowKg), round1(s.HighKg)
	s.WeightKg = math.Round(s.WeightKg*1000) / 1000
	s.Decret = r.summarizeDecret()
	r.Summary = s
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }
