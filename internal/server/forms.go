package server

import (
	"net/url"
	"sort"
	"strings"

	"github.com/labstack/echo/v5"
)

// Form carries what a user submitted and what was wrong with it back to the
// template, so a failed form re-renders with the input kept and every error
// next to its field and in a summary at the top.
type Form struct {
	Values url.Values
	Errors map[string]string // field -> translated message
	// Labels maps fields to the translation keys of their labels, for the
	// error summary.
	Labels map[string]string
	// Message is a translated error that belongs to no field.
	Message string
	t       func(key string) string
}

// SummaryItem is one line of the error summary: a link to the field.
type SummaryItem struct {
	Field   string
	Label   string
	Message string
}

// Value returns a submitted value. Passwords are never sent back.
func (f *Form) Value(name string) string {
	if f == nil || strings.Contains(name, "password") {
		return ""
	}
	return f.Values.Get(name)
}

// Checked reports whether a checkbox was ticked.
func (f *Form) Checked(name string) bool {
	if f == nil {
		return false
	}
	v := f.Values.Get(name)
	return v == "on" || v == "true" || v == "1"
}

// Error returns the translated error of a field, or "".
func (f *Form) Error(name string) string {
	if f == nil {
		return ""
	}
	return f.Errors[name]
}

// HasErrors reports whether the form failed.
func (f *Form) HasErrors() bool { return f != nil && (len(f.Errors) > 0 || f.Message != "") }

// Summary lists the field errors in the order of Labels' keys, sorted, for
// the summary at the top of the page.
func (f *Form) Summary() []SummaryItem {
	if f == nil {
		return nil
	}
	fields := make([]string, 0, len(f.Errors))
	for k := range f.Errors {
		fields = append(fields, k)
	}
	sort.Strings(fields)
	out := make([]SummaryItem, 0, len(fields))
	for _, k := range fields {
		label := k
		if key, ok := f.Labels[k]; ok && f.t != nil {
			label = f.t(key)
		}
		out = append(out, SummaryItem{Field: k, Label: label, Message: f.Errors[k]})
	}
	return out
}

// newForm starts a form from the request's submitted values.
func (s *Server) newForm(c *echo.Context, labels map[string]string) *Form {
	vals, _ := c.FormValues()
	lang := langOf(c)
	return &Form{Values: vals, Errors: map[string]string{}, Labels: labels, t: func(k string) string { return s.cat.T(lang, k, nil) }}
}

// failForm records err on the form: field errors next to their fields,
// anything else as the form's message. It returns the status to answer
// with, and false when err is not the user's doing (the caller returns it).
func (s *Server) failForm(c *echo.Context, f *Form, err error) (int, bool) {
	be, status := classify(err)
	if status >= 500 {
		return status, false
	}
	lang := langOf(c)
	for field, key := range be.Fields {
		f.Errors[field] = s.cat.T(lang, key, nil)
	}
	if len(be.Fields) == 0 {
		f.Message = s.errorText(lang, be)
	}
	return status, true
}
