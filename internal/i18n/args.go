package i18n

import "time"

// Args turns key, value, key, value... into the placeholder map T takes;
// none gives nil. A trailing key without a value is dropped. The documents
// written away from the server (certificates, receipts, donor reports)
// name their placeholders this way.
func Args(kv ...string) map[string]string {
	if len(kv) == 0 {
		return nil
	}
	args := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		args[kv[i]] = kv[i+1]
	}
	return args
}

// Wording is how a document written away from the server (erasure
// certificates, handover receipts, donor reports) speaks its language:
// the server fills it from its catalogs and the territory's zone, and
// the documents' packages take it as it is.
type Wording struct {
	Lang string // fr, eu or en
	// T translates a key, filling its {placeholders} from args.
	T func(key string, args map[string]string) string
	// Time writes a date, or a date and time where the document gives
	// one, as the language does, in the territory's time zone.
	Time func(time.Time) string
	// Number writes a figure with one decimal as the language does
	// (donor reports; nil for the documents without figures).
	Number func(float64) string
}

// Tr translates key, its placeholders given as name, value pairs.
func (w Wording) Tr(key string, kv ...string) string { return w.T(key, Args(kv...)) }
