package server

// SetPlainTemplates makes s render pages from the templates as written
// (true) or as written in each language at start (false, the default), for
// tests that compare the two (render_translate.go).
func SetPlainTemplates(s *Server, plain bool) { s.tmpl.plain.Store(plain) }

// DefaultTotalsLimit is the totals' page size when the client gives none,
// for the benchmark, which asks what such a client gets.
const DefaultTotalsLimit = defaultTotalsLimit
