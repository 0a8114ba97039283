package account

import (
	"testing"

	"github.com/berriz/berriz/internal/berriz"
)

func TestAuthorize(t *testing.T) {
	op := &Principal{UserID: 1, OrgKind: KindOperator, OrgAdmin: true, SessionID: []byte{1}}
	opToken := &Principal{UserID: 1, OrgKind: KindOperator, TokenID: 9}
	donor := &Principal{UserID: 2, OrgKind: KindCommune, SessionID: []byte{1}}
	donorAdmin := &Principal{UserID: 3, OrgKind: KindCompany, OrgAdmin: true, SessionID: []byte{1}}
	tech := &Principal{UserID: 4, OrgKind: KindWorkshop, SessionID: []byte{1}}
	techRead := &Principal{UserID: 4, OrgKind: KindWorkshop, ReadOnly: true, TokenID: 3}
	school := &Principal{UserID: 5, OrgKind: KindSchool, OrgAdmin: true, SessionID: []byte{1}}
	obsUser := &Principal{UserID: 6, OrgKind: KindObservatory, OrgAdmin: true, SessionID: []byte{1}}
	obsToken := &Principal{OrgKind: KindObservatory, ReadOnly: true, TokenID: 7}
	const (
		R = false // read
		W = true  // write
	)
	tests := []struct {
		access Access
		p      *Principal
		write  bool
		want   berriz.Kind // Internal means allowed
	}{
		{Public, nil, W, berriz.Internal},
		{SignedIn, nil, R, berriz.Unauthorized},
		{SignedIn, obsToken, R, berriz.Internal},
		{SignedIn, obsToken, W, berriz.Forbidden},
		{SignedIn, obsUser, W, berriz.Forbidden},
		{SignedIn, techRead, W, berriz.Forbidden},
		{UserOnly, obsToken, R, berriz.Forbidden},
		{UserOnly, techRead, R, berriz.Internal},
		{Session, opToken, W, berriz.Forbidden},
		{Session, op, W, berriz.Internal},
		{OrgAdmin, donor, R, berriz.Forbidden},
		{OrgAdmin, donorAdmin, W, berriz.Internal},
		{OrgAdmin, obsUser, R, berriz.Forbidden},
		{OrgAdmin, op, W, berriz.Internal},
		{Operator, school, R, berriz.Forbidden},
		{Operator, opToken, W, berriz.Internal},
		{Donor, donor, W, berriz.Internal},
		{Donor, tech, R, berriz.Forbidden},
		{Donor, op, W, berriz.Internal},
		{Workshop, tech, W, berriz.Internal},
		{Workshop, techRead, W, berriz.Forbidden},
		{Workshop, school, R, berriz.Forbidden},
		{Workshop, op, R, berriz.Internal},
		{Workshop, nil, R, berriz.Unauthorized},
		{Inventory, donor, R, berriz.Internal},
		{Inventory, tech, R, berriz.Internal},
		{Inventory, school, R, berriz.Forbidden},
		{Inventory, obsToken, R, berriz.Forbidden},
		{Inventory, opToken, R, berriz.Internal},
		{Beneficiary, school, W, berriz.Internal},
		{Beneficiary, donor, R, berriz.Forbidden},
		{Beneficiary, tech, R, berriz.Forbidden},
		{Beneficiary, op, W, berriz.Internal},
		{Beneficiary, opToken, R, berriz.Internal},
		{Beneficiary, obsToken, R, berriz.Forbidden},
		{Beneficiary, nil, R, berriz.Unauthorized},
		{Allocation, school, W, berriz.Internal},
		{Allocation, tech, W, berriz.Internal},
		{Allocation, techRead, W, berriz.Forbidden},
		{Allocation, donor, R, berriz.Forbidden},
		{Allocation, op, R, berriz.Internal},
		{Allocation, obsUser, R, berriz.Forbidden},
		{Observatory, obsToken, R, berriz.Internal},
		{Observatory, obsUser, R, berriz.Internal},
		{Observatory, obsToken, W, berriz.Forbidden},
		{Observatory, op, R, berriz.Internal},
		{Observatory, opToken, W, berriz.Internal},
		{Observatory, donor, R, berriz.Forbidden},
		{Observatory, school, R, berriz.Forbidden},
		{Observatory, tech, R, berriz.Forbidden},
		{Observatory, nil, R, berriz.Unauthorized},
		{Access("nonsense"), op, R, berriz.Forbidden},
	}
	for _, tt := range tests {
		err := Authorize(tt.access, tt.p, tt.write)
		got := berriz.Internal
		if err != nil {
			got = berriz.KindOf(err)
		}
		if got != tt.want {
			name := "anonymous"
			if tt.p != nil {
				name = string(tt.p.OrgKind)
			}
			t.Errorf("Authorize(%s, %s, write=%v) = %v, want %v", tt.access, name, tt.write, got, tt.want)
		}
	}
}

func TestOrgInputValidate(t *testing.T) {
	tests := []struct {
		in     OrgInput
		fields []string
	}{
		{OrgInput{Kind: "school", Name: "  Collège   Marracq ", Commune: "64102", OfficialID: "0640001D"}, nil},
		{OrgInput{Kind: "school", Name: "x", Commune: "64102", OfficialID: "W641001234"}, []string{"official_id"}},
		{OrgInput{Kind: "castle", Name: "", Commune: "6410", OfficialID: "123"}, []string{"kind", "name", "commune", "official_id"}},
		{OrgInput{Kind: "company", Name: "Nul\x00", Commune: "2a004"}, []string{"name"}},
	}
	for _, tt := range tests {
		o, err := tt.in.Validate()
		e := berriz.As(err)
		if len(tt.fields) == 0 {
			if err != nil {
				t.Errorf("%+v: %v", tt.in, err)
			} else if o.Name != "Collège Marracq" {
				t.Errorf("name not normalised: %q", o.Name)
			}
			continue
		}
		for _, f := range tt.fields {
			if e.Fields[f] == "" {
				t.Errorf("%+v: no error on %s (%v)", tt.in, f, err)
			}
		}
	}
}
