package server

// What a push carries: one month's totals, overall and by category, in a
// shape of its own (openapi/push.json, PushTotals) so that receivers do not
// depend on the query API's parameters. The figures are those of the
// active factor set at the time of the attempt.

// PushFigures are the counts and sums of one row.
type PushFigures struct {
	Received    int64   `json:"received"`
	Refurbished int64   `json:"refurbished"`
	Delivered   int64   `json:"delivered"`
	Recycled    int64   `json:"recycled"`
	Dismantled  int64   `json:"dismantled"`
	DivertedKg  float64 `json:"diverted_kg"`
	NetKg       float64 `json:"co2e_net_kg"`
	LowKg       float64 `json:"co2e_low_kg"`
	HighKg      float64 `json:"co2e_high_kg"`
	GrossKg     float64 `json:"co2e_gross_kg"`
}

// PushCategory is one category's figures.
type PushCategory struct {
	Category string `json:"category"`
	PushFigures
}

// PushTotals is the payload's totals.
type PushTotals struct {
	Month            string         `json:"month"`
	FactorSet        string         `json:"factor_set"`
	FactorSetVersion string         `json:"factor_set_version"`
	MethodVersions   []string       `json:"method_versions"`
	Total            PushFigures    `json:"total"`
	ByCategory       []PushCategory `json:"by_category"`
}
