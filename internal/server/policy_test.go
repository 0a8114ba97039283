package server_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/donation"
	"github.com/berriz/berriz/internal/parts"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server"
	"github.com/berriz/berriz/internal/server/servertest"
	"github.com/berriz/berriz/internal/tag"
)

// expectedAccess is who may call every route, written here by hand and not
// read from the route table: a route added without an entry here fails the
// test, and an entry that disagrees with the table fails it too.
var expectedAccess = map[string]account.Access{
	"GET /":                       account.Public,
	"GET /about":                  account.Public,
	"GET /healthz":                account.Public,
	"GET /readyz":                 account.Public,
	"GET /metrics":                server.Loopback,
	"GET /static/*":               account.Public,
	"GET /favicon.ico":            account.Public,
	"GET /login":                  account.Public,
	"POST /login":                 account.Public,
	"POST /logout":                account.UserOnly,
	"GET /password/forgot":        account.Public,
	"POST /password/forgot":       account.Public,
	"GET /password/reset/:token":  account.Public,
	"POST /password/reset/:token": account.Public,
	"GET /invitations/:token":     account.Public,
	"POST /invitations/:token":    account.Public,

	"GET /account":                     account.UserOnly,
	"POST /account":                    account.UserOnly,
	"GET /account/password":            account.UserOnly,
	"POST /account/password":           account.UserOnly,
	"GET /account/export":              account.UserOnly,
	"GET /account/delete":              account.UserOnly,
	"POST /account/delete":             account.UserOnly,
	"GET /account/tokens":              account.UserOnly,
	"POST /account/tokens":             account.Session,
	"POST /account/tokens/:id/revoke":  account.UserOnly,
	"GET /org/members":                 account.OrgAdmin,
	"POST /org/members/:id/admin":      account.OrgAdmin,
	"POST /org/members/:id/remove":     account.OrgAdmin,
	"GET /org/invitations":             account.OrgAdmin,
	"POST /org/invitations":            account.OrgAdmin,
	"POST /org/invitations/:id/revoke": account.OrgAdmin,

	"GET /admin":                                         account.Operator,
	"GET /admin/organisations":                           account.Operator,
	"GET /admin/organisations/new":                       account.Operator,
	"POST /admin/organisations":                          account.Operator,
	"GET /admin/organisations/:id":                       account.Operator,
	"POST /admin/organisations/:id":                      account.Operator,
	"POST /admin/organisations/:id/deactivate":           account.Operator,
	"POST /admin/organisations/:id/activate":             account.Operator,
	"POST /admin/organisations/:id/invitations":          account.Operator,
	"POST /admin/organisations/:id/tokens":               account.Operator,
	"POST /admin/organisations/:id/tokens/:token/revoke": account.Operator,
	"GET /admin/users":                                   account.Operator,
	"POST /admin/users/:id/revoke-sessions":              account.Operator,
	"GET /admin/invitations":                             account.Operator,
	"POST /admin/invitations/:id/revoke":                 account.Operator,
	"GET /admin/events":                                  account.Operator,

	// Avoided emissions (pages_emissions.go, api_emissions.go).
	"GET /admin/factor-sets":                account.Operator,
	"GET /admin/factor-sets/new":            account.Operator,
	"POST /admin/factor-sets":               account.Operator,
	"GET /admin/factor-sets/:id":            account.Operator,
	"POST /admin/factor-sets/:id/activate":  account.Operator,
	"GET /api/v1/factor-sets":               account.Operator,
	"POST /api/v1/factor-sets":              account.Operator,
	"GET /api/v1/factor-sets/:id":           account.Operator,
	"POST /api/v1/factor-sets/:id/activate": account.Operator,
	"GET /api/v1/devices/:id/emissions":     account.Inventory,

	"GET /tags":                      account.Workshop,
	"POST /tags":                     account.Workshop,
	"GET /tags/calibration.pdf":      account.Workshop,
	"GET /tags/:id":                  account.Workshop,
	"GET /tags/:id/sheet.pdf":        account.Workshop,
	"GET /tags/code/:code/label.png": account.Workshop,
	"GET /tags/code/:code/label.svg": account.Workshop,

	"GET /donations":                 account.Inventory,
	"GET /donations/new":             account.Donor,
	"POST /donations":                account.Donor,
	"GET /donations/import":          account.Donor,
	"POST /donations/import":         account.Donor,
	"POST /donations/import/confirm": account.Donor,
	"GET /donations/template.csv":    account.Donor,
	"GET /donations/:id":             account.Inventory,
	"POST /donations/:id/workshop":   account.Operator,
	"POST /donations/:id/state":      account.Workshop,
	"POST /donations/:id/tags":       account.Workshop,

	"GET /api/v1/donations":                  account.Inventory,
	"POST /api/v1/donations":                 account.Donor,
	"POST /api/v1/donations/import":          account.Donor,
	"GET /api/v1/donations/:id":              account.Inventory,
	"GET /api/v1/donations/:id/devices":      account.Inventory,
	"POST /api/v1/donations/:id/workshop":    account.Operator,
	"POST /api/v1/donations/:id/state":       account.Workshop,
	"GET /api/v1/tags/batches":               account.Workshop,
	"POST /api/v1/tags/batches":              account.Workshop,
	"GET /api/v1/tags/batches/:id":           account.Workshop,
	"GET /api/v1/tags/batches/:id/sheet.pdf": account.Workshop,

	"GET /api/v1/tags/:code":                    account.Inventory,
	"POST /api/v1/tags/:code/intake":            account.Workshop,
	"POST /api/v1/tags/:code/receive":           account.Workshop,
	"GET /api/v1/tags/:code/label.png":          account.Workshop,
	"GET /api/v1/tags/:code/label.svg":          account.Workshop,
	"POST /api/v1/donations/:id/tags":           account.Workshop,
	"GET /api/v1/devices":                       account.Inventory,
	"GET /api/v1/devices/:id":                   account.Inventory,
	"PUT /api/v1/devices/:id/specs":             account.Workshop,
	"GET /api/v1/devices/:id/files":             account.Inventory,
	"POST /api/v1/devices/:id/photos":           account.Workshop,
	"POST /api/v1/devices/:id/documents":        account.Workshop,
	"GET /api/v1/devices/:id/files/:file":       account.Inventory,
	"GET /api/v1/devices/:id/files/:file/thumb": account.Inventory,
	"DELETE /api/v1/devices/:id/files/:file":    account.Workshop,

	"GET /t":            account.Public,
	"GET /t/:code":      account.Public,
	"GET /scan":         account.Workshop,
	"POST /scan":        account.Workshop,
	"POST /scan/intake": account.Workshop,
	"POST /scan/new":    account.Workshop,
	"GET /scan/cards":   account.Workshop,
	"GET /a/receive":    account.Workshop,
	"POST /a/receive":   account.Workshop,
	"GET /a/stop":       account.Workshop,
	"POST /a/stop":      account.Workshop,

	"GET /scan/locations":    account.Workshop,
	"POST /scan/locations":   account.Workshop,
	"GET /a/recycle":         account.Workshop,
	"POST /a/recycle":        account.Workshop,
	"GET /a/publish":         account.Workshop,
	"POST /a/publish":        account.Workshop,
	"GET /a/move/:id":        account.Workshop,
	"POST /a/move/:id":       account.Workshop,
	"POST /api/v1/scan":      account.Workshop,
	"GET /api/v1/locations":  account.Workshop,
	"POST /api/v1/locations": account.Workshop,

	"GET /recycling":                        account.Workshop,
	"GET /recycling/:id":                    account.Workshop,
	"POST /recycling/:id/handover":          account.Workshop,
	"GET /recycling/:id/certificate":        account.Workshop,
	"GET /devices/:id/recycling":            account.Workshop,
	"POST /devices/:id/recycling":           account.Workshop,
	"POST /devices/:id/recycling/remove":    account.Workshop,
	"GET /api/v1/recycling":                 account.Workshop,
	"GET /api/v1/recycling/:id":             account.Workshop,
	"GET /api/v1/recycling/:id/devices":     account.Workshop,
	"POST /api/v1/recycling/:id/handover":   account.Workshop,
	"GET /api/v1/recycling/:id/certificate": account.Workshop,
	"GET /api/v1/devices/:id/recycling":     account.Workshop,
	"POST /api/v1/devices/:id/recycling":    account.Workshop,
	"DELETE /api/v1/devices/:id/recycling":  account.Workshop,

	"GET /devices":                             account.Inventory,
	"GET /devices.csv":                         account.Inventory,
	"GET /devices/:id":                         account.Inventory,
	"GET /devices/:id/specs":                   account.Workshop,
	"POST /devices/:id/specs":                  account.Workshop,
	"POST /devices/:id/photos":                 account.Workshop,
	"POST /devices/:id/photos/:file/delete":    account.Workshop,
	"POST /devices/:id/documents":              account.Workshop,
	"POST /devices/:id/documents/:file/delete": account.Workshop,
	"GET /devices/:id/files/:file":             account.Inventory,
	"GET /devices/:id/files/:file/thumb":       account.Inventory,
	"POST /devices/:id/state":                  account.Workshop,
	"GET /devices/:id/history":                 account.Inventory,
	"POST /api/v1/devices/:id/transitions":     account.Workshop,
	"GET /api/v1/devices/:id/events":           account.Inventory,
	"GET /workshop":                            account.Workshop,
	"GET /api/v1/workshop/dashboard":           account.Workshop,

	"GET /impact":                                     account.Public,
	"GET /impact/method":                              account.Public,
	"GET /reports/donor":                              account.Donor,
	"GET /reports/donor/:org/:year":                   account.Donor,
	"GET /reports/donor/:org/:year/report.pdf":        account.Donor,
	"GET /reports/donor/:org/:year/report.csv":        account.Donor,
	"GET /api/v1/reports/donor/:org":                  account.Donor,
	"GET /api/v1/reports/donor/:org/:year":            account.Donor,
	"GET /api/v1/reports/donor/:org/:year/report.pdf": account.Donor,
	"GET /api/v1/reports/donor/:org/:year/report.csv": account.Donor,

	"GET /devices/:id/diagnosis":         account.Inventory,
	"POST /devices/:id/diagnosis":        account.Workshop,
	"GET /devices/:id/grade":             account.Inventory,
	"POST /devices/:id/grade":            account.Workshop,
	"GET /api/v1/checklists/:category":   account.SignedIn,
	"GET /api/v1/devices/:id/diagnoses":  account.Inventory,
	"POST /api/v1/devices/:id/diagnoses": account.Workshop,
	"PUT /api/v1/devices/:id/grade":      account.Workshop,

	"GET /devices/:id/repairs":           account.Inventory,
	"POST /devices/:id/repairs":          account.Workshop,
	"POST /devices/:id/parts":            account.Workshop,
	"GET /devices/:id/dismantle":         account.Workshop,
	"POST /devices/:id/dismantle":        account.Workshop,
	"GET /stock":                         account.Workshop,
	"POST /stock":                        account.Workshop,
	"POST /stock/:id/discard":            account.Workshop,
	"GET /api/v1/devices/:id/repairs":    account.Inventory,
	"POST /api/v1/devices/:id/repairs":   account.Workshop,
	"POST /api/v1/devices/:id/parts":     account.Workshop,
	"POST /api/v1/devices/:id/dismantle": account.Workshop,
	"GET /api/v1/stock":                  account.Workshop,
	"POST /api/v1/stock":                 account.Workshop,
	"POST /api/v1/stock/:id/discard":     account.Workshop,

	"GET /devices/:id/erasure":                      account.Inventory,
	"POST /devices/:id/erasures":                    account.Workshop,
	"GET /devices/:id/erasures/:erasure/log":        account.Inventory,
	"GET /devices/:id/certificate.pdf":              account.Inventory,
	"GET /c/:token":                                 account.Public,
	"GET /api/v1/devices/:id/erasures":              account.Inventory,
	"POST /api/v1/devices/:id/erasures":             account.Workshop,
	"GET /api/v1/devices/:id/erasures/:erasure/log": account.Inventory,
	"GET /api/v1/devices/:id/certificate.pdf":       account.Inventory,

	"GET /api/v1/openapi.json":                  account.Public,
	"GET /api/v1/me":                            account.SignedIn,
	"GET /api/v1/organisations":                 account.Operator,
	"POST /api/v1/organisations":                account.Operator,
	"GET /api/v1/organisations/:id":             account.SignedIn,
	"PATCH /api/v1/organisations/:id":           account.Operator,
	"POST /api/v1/organisations/:id/deactivate": account.Operator,
	"POST /api/v1/organisations/:id/activate":   account.Operator,
	"GET /api/v1/users":                         account.OrgAdmin,
	"GET /api/v1/users/:id":                     account.OrgAdmin,
	"POST /api/v1/users/:id/revoke-sessions":    account.Operator,
	"GET /api/v1/invitations":                   account.OrgAdmin,
	"POST /api/v1/invitations":                  account.OrgAdmin,
	"DELETE /api/v1/invitations/:id":            account.OrgAdmin,
	"GET /api/v1/tokens":                        account.UserOnly,
	"POST /api/v1/tokens":                       account.Session,
	"DELETE /api/v1/tokens/:id":                 account.UserOnly,

	"GET /account/notifications":         account.UserOnly,
	"POST /account/notifications":        account.UserOnly,
	"GET /api/v1/me/notifications":       account.UserOnly,
	"PUT /api/v1/me/notifications":       account.UserOnly,
	"GET /api/v1/me/notifications/items": account.UserOnly,

	"GET /requests":                      account.Beneficiary,
	"GET /requests/new":                  account.Beneficiary,
	"POST /requests":                     account.Beneficiary,
	"GET /requests/:id":                  account.Beneficiary,
	"POST /requests/:id/decision":        account.Operator,
	"POST /requests/:id/cancel":          account.Beneficiary,
	"GET /api/v1/requests":               account.Beneficiary,
	"POST /api/v1/requests":              account.Beneficiary,
	"GET /api/v1/requests/:id":           account.Beneficiary,
	"POST /api/v1/requests/:id/decision": account.Operator,
	"POST /api/v1/requests/:id/cancel":   account.Beneficiary,

	"GET /handovers":                               account.Allocation,
	"POST /handovers":                              account.Workshop,
	"GET /handovers/:id":                           account.Allocation,
	"GET /handovers/:id/receipt.pdf":               account.Allocation,
	"POST /handovers/:id/confirm":                  account.Beneficiary,
	"POST /handovers/:id/cancel":                   account.Workshop,
	"POST /handovers/:id/returns":                  account.Beneficiary,
	"GET /requests/:id/handover/new":               account.Workshop,
	"GET /devices/:id/return":                      account.Workshop,
	"POST /devices/:id/return":                     account.Workshop,
	"GET /api/v1/handovers":                        account.Allocation,
	"POST /api/v1/handovers":                       account.Workshop,
	"GET /api/v1/handovers/ready":                  account.Workshop,
	"GET /api/v1/handovers/:id":                    account.Allocation,
	"GET /api/v1/handovers/:id/devices":            account.Allocation,
	"GET /api/v1/handovers/:id/receipt.pdf":        account.Allocation,
	"POST /api/v1/handovers/:id/confirm":           account.Beneficiary,
	"POST /api/v1/handovers/:id/cancel":            account.Workshop,
	"POST /api/v1/handovers/:id/returns":           account.Beneficiary,
	"GET /api/v1/requests/:id/handover/candidates": account.Workshop,
	"POST /api/v1/devices/:id/return":              account.Workshop,

	"GET /catalogue":                                         account.Beneficiary,
	"POST /catalogue/:device/reserve":                        account.Beneficiary,
	"GET /proposals":                                         account.Operator,
	"POST /proposals":                                        account.Operator,
	"GET /proposals/:id":                                     account.Operator,
	"POST /proposals/:id/send":                               account.Operator,
	"POST /proposals/:id/discard":                            account.Operator,
	"POST /proposals/:id/lines/:line/devices":                account.Operator,
	"POST /proposals/:id/reservations/:reservation/remove":   account.Operator,
	"GET /reservations":                                      account.Beneficiary,
	"POST /reservations/:id/accept":                          account.Beneficiary,
	"POST /reservations/:id/decline":                         account.Beneficiary,
	"POST /reservations/:id/release":                         account.Operator,
	"GET /api/v1/catalogue":                                  account.Beneficiary,
	"GET /api/v1/catalogue/lines":                            account.Beneficiary,
	"POST /api/v1/catalogue/:device/reserve":                 account.Beneficiary,
	"GET /api/v1/proposals":                                  account.Operator,
	"POST /api/v1/proposals":                                 account.Operator,
	"GET /api/v1/proposals/:id":                              account.Operator,
	"GET /api/v1/proposals/:id/lines":                        account.Operator,
	"GET /api/v1/proposals/:id/lines/:line/devices":          account.Operator,
	"POST /api/v1/proposals/:id/lines/:line/devices":         account.Operator,
	"DELETE /api/v1/proposals/:id/reservations/:reservation": account.Operator,
	"POST /api/v1/proposals/:id/send":                        account.Operator,
	"POST /api/v1/proposals/:id/discard":                     account.Operator,
	"GET /api/v1/reservations":                               account.Beneficiary,
	"GET /api/v1/reservations/:id":                           account.Beneficiary,
	"POST /api/v1/reservations/:id/accept":                   account.Beneficiary,
	"POST /api/v1/reservations/:id/decline":                  account.Beneficiary,
	"POST /api/v1/reservations/:id/release":                  account.Operator,

	"GET /api/v1/observatory/subscriptions":                 account.Observatory,
	"POST /api/v1/observatory/subscriptions":                account.Operator,
	"GET /api/v1/observatory/subscriptions/:id":             account.Observatory,
	"POST /api/v1/observatory/subscriptions/:id/deactivate": account.Operator,
	"GET /api/v1/observatory/subscriptions/:id/deliveries":  account.Observatory,
	"GET /api/v1/observatory/deliveries/:id":                account.Observatory,
	"GET /api/v1/observatory/totals":                        account.Observatory,
	"GET /api/v1/observatory/totals.csv":                    account.Observatory,
	"GET /api/v1/observatory/delivered-devices":             account.Observatory,
	"GET /api/v1/observatory/delivered-devices.csv":         account.Observatory,
	"GET /admin/push":                                       account.Operator,
	"GET /admin/push/:id":                                   account.Operator,
	"GET /admin/organisations/:id/push":                     account.Operator,
	"POST /admin/organisations/:id/push":                    account.Operator,
	"POST /admin/organisations/:id/push/:sub/deactivate":    account.Operator,
}

// principal is one kind of caller of the matrix.
type principal struct {
	name  string
	kind  account.OrgKind // "" for anonymous
	admin bool
	token string // "": browser session; "read" or "write": a user token; "org": an organisation token
}

var principals = []principal{
	{name: "anonymous"},
	{name: "operator", kind: account.KindOperator, admin: true},
	{name: "operator_read_token", kind: account.KindOperator, admin: true, token: "read"},
	{name: "operator_write_token", kind: account.KindOperator, admin: true, token: "write"},
	{name: "donor_admin", kind: account.KindCommune, admin: true},
	{name: "donor", kind: account.KindCompany},
	{name: "donor_write_token", kind: account.KindCompany, token: "write"},
	{name: "technician_admin", kind: account.KindWorkshop, admin: true},
	{name: "technician", kind: account.KindWorkshop},
	{name: "beneficiary_admin", kind: account.KindSchool, admin: true},
	{name: "beneficiary", kind: account.KindAssociation},
	{name: "observatory_user", kind: account.KindObservatory, admin: true},
	{name: "observatory_token", kind: account.KindObservatory, token: "org"},
}

// allowed is the expected answer of the policy for one principal, derived
// from DOMAIN.md's roles independently of account.Authorize.
func allowed(a account.Access, p principal, write bool) bool {
	if a == account.Public || a == server.Loopback {
		return true
	}
	if p.kind == "" {
		return false
	}
	readOnly := p.token == "read" || p.kind == account.KindObservatory
	if write && readOnly {
		return false
	}
	switch a {
	case account.SignedIn:
		return true
	case account.UserOnly:
		return p.token != "org"
	case account.Session:
		return p.token == ""
	case account.OrgAdmin:
		return p.token != "org" && (p.kind == account.KindOperator || p.admin && p.kind != account.KindObservatory)
	case account.Operator:
		return p.token != "org" && p.kind == account.KindOperator
	case account.Donor:
		return p.token != "org" && p.kind == account.KindOperator ||
			p.kind == account.KindCommune || p.kind == account.KindCompany
	case account.Workshop:
		return p.token != "org" && p.kind == account.KindOperator || p.kind == account.KindWorkshop
	case account.Inventory:
		return p.token != "org" && p.kind == account.KindOperator || p.kind == account.KindWorkshop ||
			p.kind == account.KindCommune || p.kind == account.KindCompany
	case account.Beneficiary:
		return p.token != "org" && p.kind == account.KindOperator || p.kind == account.KindSchool ||
			p.kind == account.KindAssociation
	case account.Allocation:
		return p.token != "org" && p.kind == account.KindOperator || p.kind == account.KindSchool ||
			p.kind == account.KindAssociation || p.kind == account.KindWorkshop
	case account.Observatory:
		return p.token != "org" && p.kind == account.KindOperator || p.kind == account.KindObservatory
	}
	return false
}

// victims are the objects that path parameters point at: they belong to an
// organisation none of the principals is in, so allowed calls change
// nothing the other principals rely on.
type victims struct {
	org, user, invitation, token int64
	tagBatch                     int64
	tagCode                      string
	donation                     int64
	device, deviceFile           int64
	stockPart                    int64
	location, recyclingBatch     int64
	request                      int64 // of a beneficiary none of the principals belongs to
	handover                     int64 // of the victim request, by the victim workshop
}

func seedMatrix(t *testing.T, env *servertest.Env) (map[string]*servertest.Browser, victims) {
	t.Helper()
	ctx := context.Background()
	callers := map[string]*servertest.Browser{}
	orgs := map[account.OrgKind]account.Organisation{}
	for _, p := range principals {
		if p.kind == "" {
			b := env.Anonymous(t)
			b.Get("/login")
			callers[p.name] = b
			continue
		}
		org, ok := orgs[p.kind]
		if !ok {
			org = env.MustOrg(t, p.kind, "Org "+string(p.kind))
			orgs[p.kind] = org
		}
		switch p.token {
		case "org":
			callers[p.name] = env.API(t, env.MustToken(t, org.ID, 0, "read"))
		case "read", "write":
			u := env.MustUser(t, org.ID, p.name, p.admin)
			callers[p.name] = env.API(t, env.MustToken(t, org.ID, u.ID, p.token))
		default:
			u := env.MustUser(t, org.ID, p.name, p.admin)
			callers[p.name] = env.SignIn(t, u.Email)
		}
	}
	var v victims
	vo := env.MustOrg(t, account.KindCommune, "Victim commune")
	vu := env.MustUser(t, vo.ID, "Victim", true)
	env.MustUser(t, vo.ID, "Victim colleague", false)
	_, hash := account.NewToken()
	inv, err := env.DB.CreateInvitation(ctx, postgres.NewInvitation{Hash: hash, OrgID: vo.ID, Email: "invited@example.org",
		Lang: "fr", ExpiresAt: time.Now().Add(time.Hour)}, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	env.MustToken(t, vo.ID, vu.ID, "write")
	toks, err := env.DB.ListTokens(ctx, postgres.TokenFilter{UserID: vu.ID})
	if err != nil || len(toks) != 1 {
		t.Fatalf("victim token: %v", err)
	}
	v = victims{org: vo.ID, user: vu.ID, invitation: inv.ID, token: toks[0].ID}
	// A tag batch of a workshop none of the principals belongs to.
	vw := env.MustOrg(t, account.KindWorkshop, "Victim workshop")
	batch, codes, err := env.DB.CreateTagBatch(ctx, vw.ID, 0, 2, func() (tag.Code, error) { return tag.Generate(rand.Reader) })
	if err != nil {
		t.Fatal(err)
	}
	v.tagBatch, v.tagCode = batch.ID, codes[0].Compact()
	d, err := env.DB.CreateDonation(ctx, vo.ID, nil, "Victim donation", "", []donation.Line{{Category: "laptop", Quantity: 1, WeightKg: 2}})
	if err != nil {
		t.Fatal(err)
	}
	v.donation = d.ID
	devs, _, err := env.DB.Devices(ctx, postgres.DeviceFilter{DonationID: d.ID})
	if err != nil || len(devs) == 0 {
		t.Fatalf("victim device: %v", err)
	}
	v.device = devs[0].ID
	f, err := env.DB.AddDeviceFile(ctx, postgres.DonationScope{}, postgres.DeviceFile{DeviceID: v.device, Kind: "photo",
		Key: "devices/victim/photos/a.jpg", ThumbKey: "devices/victim/photos/a-thumb.jpg", ContentType: "image/jpeg",
		Size: 1, SHA256: strings.Repeat("0", 64)}, nil)
	if err != nil {
		t.Fatalf("victim file: %v", err)
	}
	v.deviceFile = f.ID
	sp, err := env.DB.AddStockPart(ctx, vw.ID, parts.NewPart{Kind: "keyboard"}, nil)
	if err != nil {
		t.Fatalf("victim stock part: %v", err)
	}
	v.stockPart = sp.ID
	loc, err := env.DB.CreateLocation(ctx, vw.ID, "Victim shelf")
	if err != nil {
		t.Fatalf("victim location: %v", err)
	}
	v.location = loc.ID
	if err := env.DB.SQL().QueryRowContext(ctx, `INSERT INTO recycling_batches (workshop_org_id) VALUES ($1) RETURNING id`,
		vw.ID).Scan(&v.recyclingBatch); err != nil {
		t.Fatalf("victim recycling batch: %v", err)
	}
	vb := env.MustOrg(t, account.KindSchool, "Victim school")
	req, err := env.DB.CreateRequest(ctx, vb.ID, nil, allocation.NewRequest{Purpose: "Victim request", DeliveryCommune: "64102",
		Lines: []allocation.Line{{Category: "laptop", Quantity: 1}}})
	if err != nil {
		t.Fatalf("victim request: %v", err)
	}
	v.request = req.ID
	if err := env.DB.SQL().QueryRowContext(ctx, `INSERT INTO handovers (request_id, workshop_org_id, number) VALUES ($1, $2,
		'BRZ-H-VICTIM') RETURNING id`, v.request, vw.ID).Scan(&v.handover); err != nil {
		t.Fatalf("victim handover: %v", err)
	}
	return callers, v
}

var paramRE = regexp.MustCompile(`:[a-z_]+|\*`)

// concretePath fills a route's parameters with the victims' ids.
func concretePath(t *testing.T, path string, v victims) string {
	t.Helper()
	return paramRE.ReplaceAllStringFunc(path, func(param string) string {
		switch {
		case param == "*":
			return "css/berriz.0000000000.css"
		case param == ":token" && (strings.HasPrefix(path, "/invitations/") || strings.HasPrefix(path, "/password/")):
			plain, _ := account.NewToken()
			return plain
		case strings.Contains(path, "/organisations/"+param) && !strings.Contains(path, "tokens/"+param):
			return strconv.FormatInt(v.org, 10)
		case strings.Contains(path, "/users/"+param) || strings.Contains(path, "/members/"+param):
			return strconv.FormatInt(v.user, 10)
		case strings.Contains(path, "/invitations/"+param):
			return strconv.FormatInt(v.invitation, 10)
		case (strings.HasPrefix(path, "/devices/") || strings.HasPrefix(path, "/api/v1/devices/")) && param == ":id":
			return strconv.FormatInt(v.device, 10)
		case param == ":file":
			return strconv.FormatInt(v.deviceFile, 10)
		case (strings.HasPrefix(path, "/stock/") || strings.HasPrefix(path, "/api/v1/stock/")) && param == ":id":
			return strconv.FormatInt(v.stockPart, 10)
		case param == ":erasure":
			return "1" // none of the victim's: every caller who passes the policy gets a 404
		case param == ":token" && strings.HasPrefix(path, "/c/"):
			return "unknown-certificate-token"
		case (strings.HasPrefix(path, "/donations/") || strings.HasPrefix(path, "/api/v1/donations/")) && param == ":id":
			return strconv.FormatInt(v.donation, 10)
		case (strings.HasPrefix(path, "/tags/") || strings.HasPrefix(path, "/api/v1/tags/batches/")) && param == ":id":
			return strconv.FormatInt(v.tagBatch, 10)
		case param == ":category":
			return "laptop"
		case strings.HasPrefix(path, "/a/move/"):
			return strconv.FormatInt(v.location, 10)
		case (strings.HasPrefix(path, "/handovers/") || strings.HasPrefix(path, "/api/v1/handovers/")) && param == ":id":
			return strconv.FormatInt(v.handover, 10)
		case (strings.HasPrefix(path, "/requests/") || strings.HasPrefix(path, "/api/v1/requests/")) && param == ":id":
			return strconv.FormatInt(v.request, 10)
		case strings.HasPrefix(path, "/recycling/") || strings.HasPrefix(path, "/api/v1/recycling/"):
			return strconv.FormatInt(v.recyclingBatch, 10)
		case param == ":device":
			return strconv.FormatInt(v.device, 10)
		case param == ":line" || param == ":reservation" || strings.Contains(path, "/proposals/"+param) ||
			strings.Contains(path, "/reservations/"+param):
			return "1" // none exists: every caller who passes the policy gets a 404
		case strings.Contains(path, "/reports/donor/") && param == ":org":
			return strconv.FormatInt(v.org, 10) // the victim commune: another donor's report
		case param == ":year":
			return "2026"
		case param == ":code":
			return v.tagCode
		case strings.Contains(path, "/push/"+param) || strings.Contains(path, "/observatory/subscriptions/"+param) ||
			strings.Contains(path, "/observatory/deliveries/"+param):
			return "1" // none exists: every caller who passes the policy gets a 404
		case strings.Contains(path, "/tokens/"+param):
			return strconv.FormatInt(v.token, 10)
		case strings.Contains(path, "/factor-sets/"+param):
			return "fr-ademe-2025" // the embedded set, active already
		}
		t.Fatalf("%s: no victim for parameter %s; teach concretePath about it", path, param)
		return ""
	})
}

// refusedByPolicy tells a refusal of the guard (401 or 403 with the
// policy's error codes) from any other answer.
func refusedByPolicy(status int, body string) bool {
	if status != http.StatusUnauthorized && status != http.StatusForbidden {
		return false
	}
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	if json.Unmarshal([]byte(body), &e) != nil {
		return false // an HTML page answered by the handler itself (a failed sign-in)
	}
	return e.Error.Code == "unauthorized" || e.Error.Code == "forbidden" || e.Error.Code == "read_only"
}

// TestRouteRoleMatrix calls every route of the table as every kind of
// principal and checks that the policy lets through exactly who it should.
func TestRouteRoleMatrix(t *testing.T) {
	probe := servertest.MustStart(t, servertest.Options{})
	routes := probe.Server.Routes()
	seen := map[string]bool{}
	for _, r := range routes {
		key := r.Method + " " + r.Path
		if seen[key] {
			t.Errorf("%s registered twice", key)
		}
		seen[key] = true
		want, ok := expectedAccess[key]
		if !ok {
			t.Errorf("route %s (access %s) has no entry in expectedAccess: decide who may call it and add it", key, r.Access)
			continue
		}
		if r.Access != want {
			t.Errorf("route %s declares access %s, the matrix expects %s", key, r.Access, want)
		}
	}
	for key := range expectedAccess {
		if !seen[key] {
			t.Errorf("expectedAccess lists %s, which is not in the route table", key)
		}
	}
	if t.Failed() {
		return
	}
	for _, r := range routes {
		t.Run(r.Method+" "+r.Path, func(t *testing.T) {
			t.Parallel()
			env := servertest.MustStart(t, servertest.Options{})
			callers, v := seedMatrix(t, env)
			path := concretePath(t, r.Path, v)
			write := r.Method != http.MethodGet && r.Method != http.MethodHead
			// Self-destructive calls (signing out, deleting one's account)
			// only affect their caller, so one environment serves all.
			for _, p := range principals {
				b := callers[p.name]
				headers := []string{"Accept", "application/json"}
				var body *strings.Reader
				if write {
					headers = append(headers, "Content-Type", "application/json", "X-CSRF-Token", b.CSRF)
					body = strings.NewReader("{}")
				}
				var resp *http.Response
				var got string
				if body != nil {
					resp, got = b.Do(r.Method, path, body, headers...)
				} else {
					resp, got = b.Do(r.Method, path, nil, headers...)
				}
				refused := refusedByPolicy(resp.StatusCode, got)
				if want := allowed(r.Access, p, write); refused == want {
					t.Errorf("%s as %s: status %d (refused=%v, want allowed=%v)\n%.300s", path, p.name, resp.StatusCode, refused, want, got)
				}
				if resp.StatusCode >= 500 && r.Path != "/readyz" {
					t.Errorf("%s as %s: %d\n%.300s", path, p.name, resp.StatusCode, got)
				}
			}
		})
	}
}
