package server

// SetPlainTemplates makes s render pages from the templates as written
// (true) or as written in each language at start (false, the default), for
// tests that compare the two (render_translate.go).
func SetPlainTemplates(s *Server, plain bool) { s.tmpl.plain.Store(plain) }

// SetMemoizedPages makes s render each page address once and serve its
// bytes again (true): the load benchmark's bound of what any renderer or
// page cache could reach (page-memo). False, the default, renders every
// time; the bytes kept stay for the next time it is set.
func SetMemoizedPages(s *Server, memo bool) { s.tmpl.memo.Store(memo) }

// MemoizedRenders counts the pages rendered while SetMemoizedPages was set
// (each address's first time).
func MemoizedRenders(s *Server) int64 { return s.tmpl.rendered.Load() }

// DefaultTotalsLimit is the totals' page size when the client gives none,
// for the benchmark, which asks what such a client gets.
const DefaultTotalsLimit = defaultTotalsLimit
