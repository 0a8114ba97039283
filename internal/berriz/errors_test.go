package berriz

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

func TestKindOfAndAs(t *testing.T) {
	nf := E(NotFound, "error.not_found")
	wrapped := fmt.Errorf("load device %s: %w", "7KQ2-M9XD", nf)
	if KindOf(wrapped) != NotFound || As(wrapped) != nf {
		t.Fatalf("wrapped: %v %v", KindOf(wrapped), As(wrapped))
	}
	plain := io.ErrUnexpectedEOF
	if KindOf(plain) != Internal {
		t.Fatal("a foreign error must be internal")
	}
	if e := As(plain); e.Kind != Internal || !errors.Is(e, io.ErrUnexpectedEOF) {
		t.Fatalf("As(foreign) = %+v", e)
	}
	if KindOf(nil) != Internal {
		t.Fatal("KindOf(nil)")
	}
}

func TestSentinelsMatchByKindAndCode(t *testing.T) {
	sentinel := &Error{Kind: NotFound, Code: "blob_not_found", Message: "error.blob_not_found"}
	got := fmt.Errorf("get photos/a.webp: %w", sentinel.WithCause(io.EOF))
	if !errors.Is(got, sentinel) {
		t.Fatal("a copy with a cause must still match its sentinel")
	}
	if !errors.Is(got, io.EOF) {
		t.Fatal("the cause must stay reachable")
	}
	other := &Error{Kind: NotFound, Code: "device_not_found"}
	if errors.Is(got, other) {
		t.Fatal("different codes must not match")
	}
}

func TestCopiesDoNotShareState(t *testing.T) {
	base := E(Invalid, "error.invalid")
	a := base.WithArg("n", "1")
	b := a.WithArg("m", "2")
	if base.Args != nil || len(a.Args) != 1 || len(b.Args) != 2 {
		t.Fatalf("WithArg mutated its receiver: %v %v %v", base.Args, a.Args, b.Args)
	}
}

func TestFieldErrors(t *testing.T) {
	f := FieldErrors{}
	if f.Err() != nil {
		t.Fatal("no failure, no error")
	}
	f.Add("email", "error.email_invalid")
	f.Add("email", "error.email_taken")
	f.Add("name", "error.required")
	err := f.Err()
	e := As(err)
	if e.Kind != Invalid || e.Fields["email"] != "error.email_invalid" || len(e.Fields) != 2 {
		t.Fatalf("%+v", e)
	}
	if s := err.Error(); !strings.Contains(s, "email: error.email_invalid, name: error.required") {
		t.Fatalf("Error() = %q: fields must be listed in a stable order", s)
	}
}

func TestKindStrings(t *testing.T) {
	for k, want := range map[Kind]string{Internal: "internal", Invalid: "invalid", NotFound: "not_found", Conflict: "conflict",
		Forbidden: "forbidden", Unauthorized: "unauthorized", TooLarge: "too_large", Unavailable: "unavailable", Kind(99): "internal"} {
		if k.String() != want {
			t.Errorf("%d: %q, want %q", k, k.String(), want)
		}
	}
}
