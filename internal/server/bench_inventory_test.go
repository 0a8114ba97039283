package server_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/device"
	"github.com/berriz/berriz/internal/donation"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server/servertest"
	"github.com/berriz/berriz/internal/tag"
)

// The inventory the lookup benchmarks run against: a territory of a few
// thousand devices, declared in donations of several donors, each donation
// assigned to one of three workshops, every device tagged (as the tags
// printed for chosen devices are), half of them received and diagnosed with
// specs and drives, and a thousand blank tags per workshop on top. Built
// through the store, like the demo, so every row is one the application
// itself would write.

const (
	benchWorkshops       = 3
	benchTechsPerShop    = 4
	benchDonors          = 8
	benchDonationsPerOne = 6 // donations per donor
	benchBlankPerShop    = 1000
)

// benchDonationSizes cycles through the donations: 48 donations of 25 to
// 100 devices, 3,000 devices in all.
var benchDonationSizes = []int{25, 50, 75, 100}

// benchTech is a technician and the devices of the workshop they work at.
type benchTech struct {
	User    account.User
	Shop    account.Organisation
	Token   string // read-only API token of the user
	Devices []benchDevice
}

// benchDevice is a tagged device as the clients ask for it.
type benchDevice struct {
	ID   int64
	Code string // printed form, 7KQ2-M9XD
}

// benchInventory is what seedBenchInventory built.
type benchInventory struct {
	Techs   []benchTech
	Devices int // tagged devices in all
}

var benchCategories = []struct {
	category, brand, model string
	weight                 float64
	drives                 int
}{
	{"laptop", "Lenovo", "ThinkPad T480", 1.8, 1},
	{"laptop", "Dell", "Latitude 5490", 1.9, 1},
	{"laptop", "HP", "EliteBook 840 G5", 1.5, 1},
	{"desktop", "Dell", "OptiPlex 7060", 7.5, 1},
	{"desktop", "HP", "ProDesk 600 G4", 6.8, 2},
	{"monitor_24", "Iiyama", "ProLite XU2493HS", 3.6, 0},
	{"monitor_22", "Dell", "P2219H", 3.4, 0},
	{"smartphone", "Samsung", "Galaxy A52", 0.2, 0},
	{"tablet", "Apple", "iPad 7", 0.5, 0},
}

// benchLines declares n devices: lines of one device with a serial
// alternating with lines of several identical devices without one.
func benchLines(donationNo, n int) []donation.Line {
	var lines []donation.Line
	for i := 0; n > 0; i++ {
		c := benchCategories[(donationNo+i)%len(benchCategories)]
		l := donation.Line{Category: c.category, Brand: c.brand, Model: c.model, Year: 2016 + i%6, Quantity: 1,
			StorageDrives: c.drives, WeightKg: c.weight}
		if i%2 == 0 {
			l.Serial = fmt.Sprintf("SN%04d%05d", donationNo, i)
		} else {
			l.Quantity = min(n, 1+i%9)
			l.Notes = "Lot from the IT department"
		}
		lines = append(lines, l)
		n -= l.Quantity
	}
	return lines
}

func benchSpecs(i int) device.Specs {
	ram, battery, screen := 8<<(i%2), 60+i%40, 14.0
	return device.Specs{CPU: "Intel Core i5-8350U", RAMGB: &ram, BatteryHealthPct: &battery, ScreenInches: &screen,
		OS: "Debian 13", ConditionNotes: "Keyboard worn, screen fine.\nCharger missing.",
		Drives: []device.Drive{{Position: 1, Type: device.SSD, CapacityGB: 256, Serial: fmt.Sprintf("S3Z%06d", i)}}}
}

// seedBenchInventory fills env's database with the benchmark's territory.
func seedBenchInventory(b *testing.B, env *servertest.Env) benchInventory {
	b.Helper()
	ctx := context.Background()
	db := env.DB
	gen := func() (tag.Code, error) { return tag.Generate(rand.Reader) }
	var inv benchInventory
	shops := make([]account.Organisation, benchWorkshops)
	for w := range shops {
		shops[w] = env.MustOrg(b, account.KindWorkshop, fmt.Sprintf("Atelier %d", w+1))
		for t := range benchTechsPerShop {
			u := env.MustUser(b, shops[w].ID, fmt.Sprintf("Technicien %d %d", w+1, t+1), t == 0)
			inv.Techs = append(inv.Techs, benchTech{User: u, Shop: shops[w], Token: env.MustToken(b, shops[w].ID, u.ID, "read")})
		}
		if _, _, err := db.CreateTagBatch(ctx, shops[w].ID, 0, benchBlankPerShop, gen); err != nil {
			b.Fatalf("blank tags: %v", err)
		}
	}
	byShop := map[int64][]benchDevice{}
	n := 0
	for d := range benchDonors {
		kind := account.KindCommune
		if d%2 == 1 {
			kind = account.KindCompany
		}
		donor := env.MustOrg(b, kind, fmt.Sprintf("Donateur %d", d+1))
		agent := env.MustUser(b, donor.ID, fmt.Sprintf("Agent %d", d+1), true)
		actor := &account.Principal{UserID: agent.ID, OrgID: donor.ID, OrgKind: donor.Kind}
		for k := range benchDonationsPerOne {
			no := d*benchDonationsPerOne + k
			lines := benchLines(no, benchDonationSizes[no%len(benchDonationSizes)])
			don, err := db.CreateDonation(ctx, donor.ID, actor, fmt.Sprintf("Renouvellement du parc %d", no+1), "", lines)
			if err != nil {
				b.Fatalf("donation: %v", err)
			}
			shop := shops[no%benchWorkshops]
			if _, err := db.AssignWorkshop(ctx, don.ID, shop.ID, nil); err != nil {
				b.Fatalf("assign: %v", err)
			}
			scope := postgres.DonationScope{WorkshopOrgID: shop.ID}
			ids, total, err := db.UntaggedDevices(ctx, don.ID, scope, postgres.MaxDeviceTags)
			if err != nil || total != donation.Devices(lines) || len(ids) != total {
				b.Fatalf("untagged devices: %d of %d, %v", len(ids), donation.Devices(lines), err)
			}
			_, codes, err := db.CreateTagsForDevices(ctx, shop.ID, 0, ids, scope, gen)
			if err != nil {
				b.Fatalf("tags: %v", err)
			}
			for i, id := range ids {
				if n%2 == 0 {
					if _, err := db.ReceiveTagged(ctx, codes[i], shop.ID, nil); err != nil {
						b.Fatalf("receive: %v", err)
					}
					if err := db.SetDeviceSpecs(ctx, id, scope, benchSpecs(n)); err != nil {
						b.Fatalf("specs: %v", err)
					}
				}
				byShop[shop.ID] = append(byShop[shop.ID], benchDevice{ID: id, Code: codes[i].String()})
				n++
			}
		}
	}
	for i := range inv.Techs {
		inv.Techs[i].Devices = byShop[inv.Techs[i].Shop.ID]
	}
	inv.Devices = n
	// Statistics, as autovacuum gathers them on a production server within
	// a minute of such writes (the development cluster runs without
	// autovacuum): without them the planner takes the tables for empty
	// and scans device_drives for every device read.
	if _, err := db.SQL().ExecContext(ctx, "ANALYZE"); err != nil {
		b.Fatalf("analyze: %v", err)
	}
	return inv
}

var benchCSRFRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// benchSignIn signs a user in through the login form, as a browser does,
// and returns the Cookie header the browser would then send: the session
// and the CSRF id.
func benchSignIn(b *testing.B, base, email string) string {
	b.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(base + "/login")
	if err != nil {
		b.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := benchCSRFRE.FindSubmatch(page)
	if m == nil {
		b.Fatal("sign in: no CSRF token on the login page")
	}
	resp, err = c.PostForm(base+"/login", url.Values{"email": {email}, "password": {servertest.Password}, "csrf": {string(m[1])}})
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		b.Fatalf("sign in %s: status %d", email, resp.StatusCode)
	}
	u, _ := url.Parse(base)
	var pairs []string
	for _, ck := range jar.Cookies(u) {
		pairs = append(pairs, ck.Name+"="+ck.Value)
	}
	if !strings.Contains(strings.Join(pairs, ";"), "berriz_session=") {
		b.Fatalf("sign in %s: no session cookie", email)
	}
	return strings.Join(pairs, "; ")
}
