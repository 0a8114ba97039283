package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/device"
	"github.com/berriz/berriz/internal/server/servertest"
)

// TestBenchFloors holds BenchmarkTagLookup's floors to what they stand
// for: /v/ answers the device the API's lookup answers, read by the same
// SELECT (postgres.TagViewQuery, scanned column by column: a column added
// to the lookup's statement and not to the floor fails here, not in the
// next benchmark run); /d/ reads the device page's SELECT within the
// workshop's scope; /t/ the narrow one. Unknown codes and devices outside
// the scope are 404s, so the load never measures an error as a floor.
func TestBenchFloors(t *testing.T) {
	f := mustDeviceAPIFixture(t, servertest.Options{})
	linked := f.shopCodes[0]
	specs := f.mustLinkWithSpecs(t, linked)
	floor, stop := startFloor(t, f.env.Config.DatabaseURL, 2)
	defer stop()
	get := func(path string) (int, []byte) {
		t.Helper()
		resp, err := http.Get(floor + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, body
	}

	_, body := f.call(t, f.tech, http.MethodGet, "/api/v1/tags/"+linked.String(), nil)
	var api lookupAnswer
	mustDecodeJSON(t, body, &api)
	status, raw := get("/v/" + linked.Compact())
	var v floorTagView
	if status != http.StatusOK {
		t.Fatalf("/v/: %d %s", status, raw)
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	var drives []device.Drive
	if err := json.Unmarshal(v.Drives, &drives); err != nil {
		t.Fatalf("/v/ drives %s: %v", v.Drives, err)
	}
	d := api.Device
	if v.Code != linked.Compact() || v.ID != d.ID || v.State != d.State || v.Workshop != d.WorkshopID || v.Donor != d.DonorID ||
		v.CPU != specs.CPU || !v.RAMGB.Valid || d.Specs.RAMGB == nil || int(v.RAMGB.Int32) != *d.Specs.RAMGB ||
		len(drives) != 2 || len(d.Specs.Drives) != 2 || drives[1].Position != d.Specs.Drives[1].Position ||
		string(drives[1].Type) != d.Specs.Drives[1].Type || drives[1].CapacityGB != d.Specs.Drives[1].CapacityGB {
		t.Errorf("/v/ answers %s\nthe API %s", raw, body)
	}

	id := strconv.FormatInt(f.devs[0].ID, 10)
	for _, c := range []struct {
		path, want string
		code       int
	}{
		{"/t/" + linked.String(), `"id":` + id + `,`, http.StatusOK},
		{"/d/" + id + "?w=" + strconv.FormatInt(f.shop.ID, 10), "[" + id + ",", http.StatusOK},
		{"/d/" + id + "?w=" + strconv.FormatInt(f.shop2.ID, 10), "", http.StatusNotFound},
		{"/v/ZZZZZZZZ", "", http.StatusNotFound},
		{"/t/ZZZZZZZZ", "", http.StatusNotFound},
		{"/d/" + id + "9999", "", http.StatusNotFound},
		{"/x/" + linked.Compact(), "", http.StatusNotFound},
	} {
		code, body := get(c.path)
		if code != c.code || (c.want != "" && !json.Valid(body)) || (c.want != "" && !strings.Contains(string(body), c.want)) {
			t.Errorf("%s: %d %s, want %d with %s", c.path, code, body, c.code, c.want)
		}
	}
}
