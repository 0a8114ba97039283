package diagnosis

import "strconv"

// The thresholds of the grade rules (docs/grading.md).
const (
	// BatteryA and BatteryB are the least battery health, in percent of
	// the design capacity, for grades A and B where there is a battery.
	BatteryA = 80
	BatteryB = 60
	// MinorFailuresB is how many minor (non-critical) failures grade B
	// tolerates; grade A tolerates none.
	MinorFailuresB = 1
)

// Reason is one fact behind a suggestion, for people: a translation key,
// the tests it is about (their ids, to translate and list) and the
// placeholder values of its message.
type Reason struct {
	Key   string            `json:"key"`
	Items []string          `json:"items,omitempty"`
	Args  map[string]string `json:"args,omitempty"`
}

// Suggestion is the grade the rules give a diagnosis and why.
type Suggestion struct {
	// Complete: every test and the cosmetic condition are answered;
	// without it there is no suggestion (Grade is None) and the reason
	// says how many answers are missing.
	Complete bool
	// Grade is A, B or C, or None: not reusable as it is (a critical test
	// failed: repair first), or no suggestion yet (incomplete).
	Grade   Grade
	Reasons []Reason
}

// Suggest applies the grade rules of docs/grading.md to diagnosis d of
// checklist c, with the device's battery health (nil when unknown):
//
//   - incomplete: no suggestion;
//   - a critical test failed: none (repair first);
//   - otherwise start from A and keep the worst of these caps:
//     one minor failure → B, two or more → C;
//     cosmetic B → B, cosmetic C → C;
//     where there is a battery (the list has the battery test and it is
//     not n.a.): health below 80 % → B, below 60 % or unknown → C.
//
// A is thus every test passing (or n.a.), cosmetic A and a battery of at
// least 80 %; the reasons name every cap that applied.
func Suggest(c Checklist, d Diagnosis, batteryPct *int) Suggestion {
	if n := c.Unanswered(d); n > 0 {
		return Suggestion{Reasons: []Reason{{Key: "diagnosis.reason.incomplete", Args: map[string]string{"count": strconv.Itoa(n)}}}}
	}
	s := Suggestion{Complete: true, Grade: A}
	var critical, minors []string
	battery := false
	for _, it := range c.Items {
		a, _ := d.Answer(it.ID)
		switch {
		case a.Result == Fail && it.Critical:
			critical = append(critical, it.ID)
		case a.Result == Fail:
			minors = append(minors, it.ID)
		}
		if it.ID == BatteryItem && a.Result != NA {
			battery = true
		}
	}
	if len(critical) > 0 {
		return Suggestion{Complete: true, Grade: None, Reasons: []Reason{{Key: "diagnosis.reason.critical", Items: critical}}}
	}
	limit := func(g Grade, r Reason) {
		s.Grade = worse(s.Grade, g)
		s.Reasons = append(s.Reasons, r)
	}
	switch {
	case len(minors) > MinorFailuresB:
		limit(C, Reason{Key: "diagnosis.reason.minor_many", Items: minors})
	case len(minors) > 0:
		limit(B, Reason{Key: "diagnosis.reason.minor_one", Items: minors})
	}
	if d.Cosmetic != A {
		limit(d.Cosmetic, Reason{Key: "diagnosis.reason.cosmetic", Args: map[string]string{"grade": string(d.Cosmetic)}})
	}
	if battery {
		switch {
		case batteryPct == nil:
			limit(C, Reason{Key: "diagnosis.reason.battery_unknown"})
		case *batteryPct < BatteryB:
			limit(C, Reason{Key: "diagnosis.reason.battery_low", Args: batteryArgs(*batteryPct, BatteryB)})
		case *batteryPct < BatteryA:
			limit(B, Reason{Key: "diagnosis.reason.battery_low", Args: batteryArgs(*batteryPct, BatteryA)})
		}
	}
	if len(s.Reasons) == 0 {
		s.Reasons = []Reason{{Key: "diagnosis.reason.all_good"}}
	}
	return s
}

func batteryArgs(pct, min int) map[string]string {
	return map[string]string{"pct": strconv.Itoa(pct), "min": strconv.Itoa(min)}
}

// ReasonKeys lists every translation key Suggest may produce, so a test
// can hold the catalogs to them.
func ReasonKeys() []string {
	return []string{"diagnosis.reason.incomplete", "diagnosis.reason.critical", "diagnosis.reason.minor_many",
		"diagnosis.reason.minor_one", "diagnosis.reason.cosmetic", "diagnosis.reason.battery_unknown",
		"diagnosis.reason.battery_low", "diagnosis.reason.all_good"}
}
