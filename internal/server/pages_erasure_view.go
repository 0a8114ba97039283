package server

import (
	"net/http"
	"strconv"

	"github.com/berriz/berriz/internal/erasure"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// erasurePageData is the erasure page of a device.
type erasurePageData struct {
	Device postgres.DeviceDetail
	Drives []driveErasureView
	// Failed counts the drives whose latest erasure failed verification:
	// the flag that holds the device back.
	Failed  int
	Records []erasureRecordView
	Total   int
	Pager   Pager
	// Certificate is the current cycle's, once issued; CertificateDue
	// says it is due but not issued yet (the download issues it).
	Certificate    *certificateView
	CertificateDue bool
	Earlier        []certificateView // certificates of earlier cycles
	// CanRecord shows the form (staff, and a state that takes records);
	// Closed says staff see no form because of the device's state.
	CanRecord, Closed bool
	Methods, Tools    []adminOption
	Verifications     []adminOption
	LogMB, MaxPasses  int
}

// driveErasureView is one recorded drive and where its erasure stands.
type driveErasureView struct {
	postgres.DriveErasure
	Ref, TypeKey, StatusKey string
	Failed, Selected        bool
}

// erasureRecordView is one erasure record as the page shows it.
type erasureRecordView struct {
	postgres.Erasure
	MethodKey, ToolKey, VerificationKey string
	Failed                              bool
	Started, Ended                      string
	LogURL                              string
	LogKB                               int64
}

// certificateView is an issued certificate as the page shows it.
type certificateView struct {
	Number, Issued, CheckURL string
	Cycle                    int
}

// erasurePage shows a device's erasure page.
func (s *Server) erasurePage(c *echo.Context) error {
	d, scope, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	return s.erasureRender(c, http.StatusOK, d, scope, nil)
}

// erasureRender shows a device's erasure page; f is a refused form, shown
// again with its errors.
func (s *Server) erasureRender(c *echo.Context, status int, d postgres.DeviceDetail, scope postgres.DonationScope, f *Form) error {
	ctx := c.Request().Context()
	lang := langOf(c)
	drives, err := s.store.DriveErasures(ctx, d.ID)
	if err != nil {
		return err
	}
	records, page, err := s.store.DeviceErasures(ctx, d.ID, pageParam(c), erasuresPerPage)
	if err != nil {
		return err
	}
	certs, err := s.store.DeviceCertificates(ctx, d.ID)
	if err != nil {
		return err
	}
	st, facts, err := s.store.DeviceFacts(ctx, d.ID, scope)
	if err != nil {
		return err
	}
	data := erasurePageData{Device: d, Total: page.Total, LogMB: erasure.MaxLogBytes / 1_000_000, MaxPasses: erasure.MaxPasses,
		Pager: Pager{Number: page.Number, Pages: page.PagesOf(erasuresPerPage), path: requestedPath(c),
			query: c.QueryParams()}}
	chosen := ""
	if f != nil {
		chosen = f.Values.Get(erasure.FieldDrive)
	}
	for _, dr := range drives {
		v := driveErasureView{DriveErasure: dr, Ref: erasure.Drive{Position: dr.Position, Serial: dr.Serial}.Ref(),
			TypeKey: "device.drive." + string(dr.Type), StatusKey: dr.Status.Key(), Failed: dr.Status == erasure.StatusFailed}
		if v.Failed {
			data.Failed++
		}
		// The drive typed, or else the first one still to erase.
		if chosen == "" && dr.Status != erasure.StatusErased || chosen == v.Ref {
			v.Selected, chosen = true, v.Ref
		}
		data.Drives = append(data.Drives, v)
	}
	for _, e := range records {
		v := erasureRecordView{Erasure: e, MethodKey: e.Method.Key(), ToolKey: e.Tool.Key(), VerificationKey: e.Verification.Key(),
			Failed: e.Verification == erasure.Failed, Started: accountDate(lang, e.StartedAt), Ended: accountDate(lang, e.EndedAt)}
		if e.Log != nil {
			v.LogURL = deviceURL(c, d.ID) + "/erasures/" + strconv.FormatInt(e.ID, 10) + "/log"
			v.LogKB = (e.Log.Size + 999) / 1000
		}
		data.Records = append(data.Records, v)
	}
	for _, cert := range certs {
		v := certificateView{Number: cert.Number, Issued: accountDate(lang, cert.IssuedAt), CheckURL: s.checkURL(cert.Token),
			Cycle: cert.Cycle}
		if cert.Cycle == d.Cycle {
			data.Certificate = &v
		} else {
			data.Earlier = append(data.Earlier, v)
		}
	}
	data.CertificateDue = data.Certificate == nil && postgres.CertificateDue(st.State, facts)
	if mayRecordErasure(c) {
		data.CanRecord = len(drives) > 0 && postgres.ErasureAllowed(st.State)
		data.Closed = len(drives) > 0 && !data.CanRecord
		data.Methods = []adminOption{{"", "erasure.choose"}}
		for _, m := range erasure.Methods {
			data.Methods = append(data.Methods, adminOption{string(m), m.Key()})
		}
		data.Tools = []adminOption{{"", "erasure.choose"}}
		for _, t := range erasure.Tools {
			data.Tools = append(data.Tools, adminOption{string(t), t.Key()})
		}
		for _, v := range erasure.Verifications {
			data.Verifications = append(data.Verifications, adminOption{string(v), v.Key()})
		}
	}
	pg := s.newPage(c, "erasure.title", data)
	pg.Title = s.cat.T(lang, "category."+d.Category, nil) + " " + d.Brand + " " + d.Model + " · " + pg.Title
	pg.Form = f
	return s.renderPage(c, status, "device_erasure", pg)
}
