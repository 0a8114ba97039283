package server

// SetPlainTemplates makes s render pages from the templates as written
// (true) or as written in each language at start (false, the default), for
// tests that compare the two (render_translate.go).
func SetPlainTemplates(s *Server, plain bool) { s.tmpl.plain.Store(plain) }
