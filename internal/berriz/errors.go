// Package berriz holds what every other package of the platform shares: the
// error vocabulary (invalid, not found, conflict, forbidden, unauthorized,
// internal) that the domain speaks and the server maps to HTTP answers in one
// place. It depends on the standard library only and does no I/O.
package berriz

import (
	"errors"
	"sort"
	"strings"
)

// Kind classifies an error for its caller: it decides the HTTP status, whether
// the error is logged, and whether its message may be shown to a user.
type Kind int

// The kinds of the vocabulary. Internal is the zero value so that an error of
// unknown origin is never mistaken for the user's fault.
const (
	Internal Kind = iota
	Invalid
	NotFound
	Conflict
	Forbidden
	Unauthorized
	TooLarge
	Unavailable
)

var kindCodes = map[Kind]string{
	Internal:     "internal",
	Invalid:      "invalid",
	NotFound:     "not_found",
	Conflict:     "conflict",
	Forbidden:    "forbidden",
	Unauthorized: "unauthorized",
	TooLarge:     "too_large",
	Unavailable:  "unavailable",
}

// String returns the stable machine code of the kind, as used in JSON bodies.
func (k Kind) String() string {
	if s, ok := kindCodes[k]; ok {
		return s
	}
	return "internal"
}

// Error is an error the platform knows how to explain. Message is a
// translation key (see web/i18n), Args fill its {placeholders}, and Fields
// carries one translation key per invalid form or JSON field.
type Error struct {
	Kind    Kind
	Code    string            // machine code; the kind's code when empty
	Message string            // translation key of the human message
	Args    map[string]string // values for the message's placeholders
	Fields  map[string]string // field name -> translation key
	// KeyArgs fill placeholders with translated text: each value is a
	// translation key (a state's name, say), translated in the reader's
	// language before it fills the message.
	KeyArgs map[string]string
	// Details are machine-readable facts a client needs to recover (the
	// fresh state after a conflict, say); the JSON API shows them.
	Details map[string]any
	Err     error // cause, never shown to users
}

// Error renders the error for logs: code, message key and cause.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.CodeOrKind())
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if len(e.Fields) > 0 {
		names := make([]string, 0, len(e.Fields))
		for f := range e.Fields {
			names = append(names, f)
		}
		sort.Strings(names)
		b.WriteString(" [")
		for i, f := range names {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(f)
			b.WriteString(": ")
			b.WriteString(e.Fields[f])
		}
		b.WriteString("]")
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap exposes the cause to errors.Is and errors.As.
func (e *Error) Unwrap() error { return e.Err }

// Is makes two vocabulary errors equal when they share kind and code, so that
// sentinel values such as storage.ErrNotFound work with errors.Is.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	return e.Kind == t.Kind && e.CodeOrKind() == t.CodeOrKind()
}

// CodeOrKind returns Code, or the kind's code when Code is empty.
func (e *Error) CodeOrKind() string {
	if e.Code != "" {
		return e.Code
	}
	return e.Kind.String()
}

// E builds an error of the given kind with a translation key for its message.
func E(kind Kind, message string) *Error {
	return &Error{Kind: kind, Message: message}
}

// WithArg returns a copy of e with one placeholder value set.
func (e *Error) WithArg(name, value string) *Error {
	c := *e
	c.Args = make(map[string]string, len(e.Args)+1)
	for k, v := range e.Args {
		c.Args[k] = v
	}
	c.Args[name] = value
	return &c
}

// WithKeyArg returns a copy of e with one placeholder filled by the
// translation of key.
func (e *Error) WithKeyArg(name, key string) *Error {
	c := *e
	c.KeyArgs = make(map[string]string, len(e.KeyArgs)+1)
	for k, v := range e.KeyArgs {
		c.KeyArgs[k] = v
	}
	c.KeyArgs[name] = key
	return &c
}

// WithDetail returns a copy of e with one machine-readable detail set.
func (e *Error) WithDetail(name string, value any) *Error {
	c := *e
	c.Details = make(map[string]any, len(e.Details)+1)
	for k, v := range e.Details {
		c.Details[k] = v
	}
	c.Details[name] = value
	return &c
}

// WithCause returns a copy of e that wraps err.
func (e *Error) WithCause(err error) *Error {
	c := *e
	c.Err = err
	return &c
}

// FieldErrors collects per-field validation failures and turns them into one
// Invalid error, so a form can show every problem at once.
type FieldErrors map[string]string

// Add records the first failure of a field; later ones for the same field are
// ignored because a user fixes one thing at a time.
func (f FieldErrors) Add(field, message string) {
	if _, ok := f[field]; !ok {
		f[field] = message
	}
}

// Err returns nil when no field failed, otherwise an Invalid error.
func (f FieldErrors) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Kind: Invalid, Message: "error.invalid_fields", Fields: f}
}

// KindOf returns the kind of the first vocabulary error in err's chain, or
// Internal when there is none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// As returns the first vocabulary error in err's chain, or an Internal error
// wrapping err.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: Internal, Message: "error.internal", Err: err}
}
