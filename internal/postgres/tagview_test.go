package postgres_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/device"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/tag"
)

// TagView answers a linked tag with its device exactly as Device does,
// within the scope only, and a blank tag with who generated it.
func TestTagView(t *testing.T) {
	f := mustIntakeFixture(t, 2)
	ctx := context.Background()
	linked, blank := f.codes[0], f.codes[1]
	if _, err := f.db.IntakeDevice(ctx, linked, f.devices[0].ID, f.shop.ID, f.tech, time.Now()); err != nil {
		t.Fatal(err)
	}
	ram, screen := 8, 13.3
	specs := device.Specs{CPU: "i5", RAMGB: &ram, ScreenInches: &screen, OS: "Debian", Drives: []device.Drive{
		{Position: 1, Type: device.SSD, CapacityGB: 256, Serial: "A"}, {Position: 2, Type: device.HDD, CapacityGB: 1000}}}
	if err := f.db.SetDeviceSpecs(ctx, f.devices[0].ID, postgres.DonationScope{}, specs); err != nil {
		t.Fatal(err)
	}
	want, err := f.db.Device(ctx, f.devices[0].ID, postgres.DonationScope{})
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range []postgres.DonationScope{{}, {WorkshopOrgID: f.shop.ID}, {DonorOrgID: f.donor.ID}} {
		tv, err := f.db.TagView(ctx, linked, sc)
		if err != nil {
			t.Fatalf("scope %+v: %v", sc, err)
		}
		if tv.Device == nil || !reflect.DeepEqual(*tv.Device, want) {
			t.Errorf("scope %+v: device\n%+v\nwant\n%+v", sc, tv.Device, want)
		}
		if tv.Tag.Code != linked || tv.Tag.DeviceID == nil || *tv.Tag.DeviceID != want.ID || tv.Tag.LinkedAt == nil || tv.Tag.BatchID == 0 {
			t.Errorf("scope %+v: tag %+v", sc, tv.Tag)
		}
	}
	// Outside the scope, and unknown codes: not found, alike.
	for _, tc := range []struct {
		code tag.Code
		sc   postgres.DonationScope
	}{{linked, postgres.DonationScope{WorkshopOrgID: f.otherShop.ID}}, {linked, postgres.DonationScope{DonorOrgID: f.other.ID}},
		{tag.Code("ZZZZZZZZ"), postgres.DonationScope{}}} {
		_, err := f.db.TagView(ctx, tc.code, tc.sc)
		wantKind(t, "tag view "+string(tc.code), err, berriz.NotFound, "error.tag_unknown")
	}
	// A blank tag, whoever asks: its maker for the caller's rules.
	for _, sc := range []postgres.DonationScope{{}, {WorkshopOrgID: f.otherShop.ID}, {DonorOrgID: f.other.ID}} {
		tv, err := f.db.TagView(ctx, blank, sc)
		if err != nil || tv.Device != nil || tv.Tag.OrgID != f.shop.ID || tv.OwnerKind != account.KindWorkshop ||
			tv.Tag.DeviceID != nil || tv.Tag.LinkedAt != nil {
			t.Errorf("blank, scope %+v: %+v %v", sc, tv, err)
		}
	}
	// A device without drives has none, not a null list's surprise.
	if _, err := f.db.IntakeDevice(ctx, blank, f.devices[1].ID, f.shop.ID, f.tech, time.Now()); err != nil {
		t.Fatal(err)
	}
	tv, err := f.db.TagView(ctx, blank, postgres.DonationScope{})
	if err != nil || tv.Device == nil || tv.Device.Specs.Drives != nil || tv.Device.Specs.RAMGB != nil {
		t.Errorf("no drives: %+v %v", tv.Device, err)
	}
}

// TokenTagView reads, in one statement, what TokenPrincipal and an
// unscoped TagView read one after the other; an invalid token is refused
// whatever the code, and an unknown code still says who the token is.
func TestTokenTagView(t *testing.T) {
	f := mustIntakeFixture(t, 1)
	ctx := context.Background()
	linked, blank := f.codes[0], f.codes[1]
	if _, err := f.db.IntakeDevice(ctx, linked, f.devices[0].ID, f.shop.ID, f.tech, time.Now()); err != nil {
		t.Fatal(err)
	}
	_, hash := account.NewToken()
	tok, err := f.db.CreateToken(ctx, postgres.NewToken{OrgID: f.shop.ID, UserID: f.tech.UserID, Name: "scanner", Scope: "write",
		Prefix: "brz_s", Hash: hash}, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	wantP, err := f.db.TokenPrincipal(ctx, hash, now) // records the token's use
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []tag.Code{linked, blank} {
		want, err := f.db.TagView(ctx, code, postgres.DonationScope{})
		if err != nil {
			t.Fatal(err)
		}
		p, tv, err := f.db.TokenTagView(ctx, hash, now, code)
		if err != nil || !reflect.DeepEqual(p, wantP) || !reflect.DeepEqual(tv, want) {
			t.Errorf("%s: %+v %+v %v\nwant %+v %+v", code, p, tv, err, wantP, want)
		}
	}
	// Unscoped: the caller's scope applies with Within, as TagView's.
	_, tv, err := f.db.TokenTagView(ctx, hash, now, linked)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tv.Within(postgres.DonationScope{WorkshopOrgID: f.otherShop.ID}); berriz.KindOf(err) != berriz.NotFound {
		t.Errorf("outside the scope: %v", err)
	}
	if got, err := tv.Within(postgres.DonationScope{WorkshopOrgID: f.shop.ID}); err != nil || got.Device == nil {
		t.Errorf("inside the scope: %+v %v", got, err)
	}
	// An unknown code: the principal, and not found.
	p, _, err := f.db.TokenTagView(ctx, hash, now, tag.Code("ZZZZZZZZ"))
	if !reflect.DeepEqual(p, wantP) {
		t.Errorf("unknown code: principal %+v", p)
	}
	wantKind(t, "unknown code", err, berriz.NotFound, "error.tag_unknown")
	// The token's use is recorded as TokenPrincipal records it.
	later := now.Add(2 * time.Minute)
	if _, _, err := f.db.TokenTagView(ctx, hash, later, linked); err != nil {
		t.Fatal(err)
	}
	var used time.Time
	if err := f.db.SQL().QueryRowContext(ctx, `SELECT last_used_at FROM api_tokens WHERE id = $1`, tok.ID).Scan(&used); err != nil ||
		!used.Equal(later.Truncate(time.Microsecond)) {
		t.Errorf("last used %v (%v), want %v", used, err, later)
	}
	// A revoked or unknown token: refused, whatever the code.
	if err := f.db.RevokeToken(ctx, tok.ID, 0, false, nil, ""); err != nil {
		t.Fatal(err)
	}
	_, other := account.NewToken()
	for _, h := range [][]byte{hash, other} {
		for _, code := range []tag.Code{linked, blank, tag.Code("ZZZZZZZZ")} {
			p, tv, err := f.db.TokenTagView(ctx, h, now, code)
			if p != nil || tv.Device != nil || tv.Tag.Code != "" {
				t.Errorf("refused token, %s: %+v %+v", code, p, tv)
			}
			wantKind(t, "refused token "+string(code), err, berriz.Unauthorized, "error.token_invalid")
		}
	}
}

// SessionDevicePage reads, in one statement, what SessionPrincipal and an
// unscoped DevicePage read one after the other; a session gone is refused
// whatever the device, and an unknown device still says who is signed in.
func TestSessionDevicePage(t *testing.T) {
	f := mustSessionFixture(t)
	ctx := context.Background()
	id, hash, now, wantP, idle := f.devices[0].ID, f.hash, f.now, f.wantP, fixtureIdle
	want, err := f.db.DevicePage(ctx, id, postgres.DonationScope{})
	if err != nil {
		t.Fatal(err)
	}
	p, dp, err := f.db.SessionDevicePage(ctx, hash, now, idle, id)
	if err != nil || !reflect.DeepEqual(p, wantP) || !reflect.DeepEqual(dp, want) {
		t.Fatalf("%+v %+v %v\nwant %+v %+v", p, dp, err, wantP, want)
	}
	// Unscoped: the caller's scope applies with Within, as DevicePage's.
	for _, tc := range []struct {
		sc   postgres.DonationScope
		seen bool
	}{{postgres.DonationScope{WorkshopOrgID: f.shop.ID}, true}, {postgres.DonationScope{DonorOrgID: f.donor.ID}, true},
		{postgres.DonationScope{WorkshopOrgID: f.otherShop.ID}, false}, {postgres.DonationScope{DonorOrgID: f.other.ID}, false}} {
		got, err := dp.Within(tc.sc)
		if tc.seen && (err != nil || !reflect.DeepEqual(got, want)) {
			t.Errorf("scope %+v: %v", tc.sc, err)
		}
		if !tc.seen {
			wantKind(t, "outside the scope", err, berriz.NotFound, "device.error.not_found")
			if _, err := f.db.DevicePage(ctx, id, tc.sc); berriz.KindOf(err) != berriz.NotFound {
				t.Errorf("DevicePage, scope %+v: %v", tc.sc, err)
			}
		}
	}
	// An unknown device: who is signed in, and not found.
	p, _, err = f.db.SessionDevicePage(ctx, hash, now, idle, id+1000)
	if !reflect.DeepEqual(p, wantP) {
		t.Errorf("unknown device: principal %+v", p)
	}
	wantKind(t, "unknown device", err, berriz.NotFound, "device.error.not_found")
	// The session's activity is recorded as SessionPrincipal records it.
	later := now.Add(2 * time.Minute)
	if _, _, err := f.db.SessionDevicePage(ctx, hash, later, idle, id); err != nil {
		t.Fatal(err)
	}
	f.wantLastSeen(t, later)
	// Idle too long, or an unknown cookie: refused, whatever the device.
	_, other := account.NewToken()
	for _, tc := range []struct {
		hash []byte
		at   time.Time
	}{{hash, later.Add(idle + time.Minute)}, {other, later}} {
		for _, dev := range []int64{id, id + 1000} {
			p, dp, err := f.db.SessionDevicePage(ctx, tc.hash, tc.at, idle, dev)
			if p != nil || dp.Device.ID != 0 {
				t.Errorf("session gone, device %d: %+v %+v", dev, p, dp)
			}
			wantKind(t, "session gone", err, berriz.Unauthorized, "error.session_expired")
		}
	}
}

// SessionDeviceByTag reads, in one statement, what SessionPrincipal and
// DeviceByTag read one after the other.
func TestSessionDeviceByTag(t *testing.T) {
	f := mustSessionFixture(t)
	ctx := context.Background()
	linked, blank, hash, now, wantP, idle := f.codes[0], f.codes[1], f.hash, f.now, f.wantP, fixtureIdle
	for _, code := range []tag.Code{linked, blank} {
		want, err := f.db.DeviceByTag(ctx, code)
		if err != nil {
			t.Fatal(err)
		}
		p, td, err := f.db.SessionDeviceByTag(ctx, hash, now, idle, code)
		if err != nil || !reflect.DeepEqual(p, wantP) || !reflect.DeepEqual(td, want) {
			t.Errorf("%s: %+v %+v %v\nwant %+v %+v", code, p, td, err, wantP, want)
		}
	}
	p, _, err := f.db.SessionDeviceByTag(ctx, hash, now, idle, tag.Code("ZZZZZZZZ"))
	if !reflect.DeepEqual(p, wantP) {
		t.Errorf("unknown code: principal %+v", p)
	}
	wantKind(t, "unknown code", err, berriz.NotFound, "error.tag_unknown")
	if _, _, err := f.db.SessionDeviceByTag(ctx, hash, now.Add(2*time.Minute), idle, linked); err != nil {
		t.Fatal(err)
	}
	f.wantLastSeen(t, now.Add(2*time.Minute))
	_, other := account.NewToken()
	for _, h := range [][]byte{hash, other} {
		at := now.Add(2 * time.Minute)
		if string(h) == string(hash) {
			at = at.Add(idle + time.Minute)
		}
		for _, code := range []tag.Code{linked, blank, tag.Code("ZZZZZZZZ")} {
			p, td, err := f.db.SessionDeviceByTag(ctx, h, at, idle, code)
			if p != nil || td.Device != nil || td.Tag.Code != "" {
				t.Errorf("session gone, %s: %+v %+v", code, p, td)
			}
			wantKind(t, "session gone "+string(code), err, berriz.Unauthorized, "error.session_expired")
		}
	}
}

// sessionFixture is an intake fixture whose first device is linked to its
// first code, and a session of its technician signed in at now.
type sessionFixture struct {
	intakeFixture
	hash  []byte
	now   time.Time
	wantP *account.Principal // SessionPrincipal's answer at now
}

const fixtureIdle = 30 * time.Minute

func mustSessionFixture(t *testing.T) sessionFixture {
	t.Helper()
	f := sessionFixture{intakeFixture: mustIntakeFixture(t, 1), now: time.Now()}
	ctx := context.Background()
	if _, err := f.db.IntakeDevice(ctx, f.codes[0], f.devices[0].ID, f.shop.ID, f.tech, f.now); err != nil {
		t.Fatal(err)
	}
	_, f.hash = account.NewToken()
	if err := f.db.CreateSession(ctx, postgres.NewSession{Hash: f.hash, UserID: f.tech.UserID, ExpiresAt: f.now.Add(time.Hour)}, f.now); err != nil {
		t.Fatal(err)
	}
	var err error
	if f.wantP, err = f.db.SessionPrincipal(ctx, f.hash, f.now, fixtureIdle); err != nil {
		t.Fatal(err)
	}
	return f
}

// wantLastSeen checks the session's last activity recorded at at.
func (f sessionFixture) wantLastSeen(t *testing.T, at time.Time) {
	t.Helper()
	var seen time.Time
	if err := f.db.SQL().QueryRowContext(context.Background(), `SELECT last_seen_at FROM sessions WHERE token_hash = $1`,
		f.hash).Scan(&seen); err != nil || !seen.Equal(at.Truncate(time.Microsecond)) {
		t.Errorf("last seen %v (%v), want %v", seen, err, at)
	}
}
