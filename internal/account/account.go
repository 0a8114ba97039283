package account

import (
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/berriz/berriz/internal/berriz"
)

// OrgKind is what an organisation is; it decides its members' role.
type OrgKind string

// The organisation kinds of DOMAIN.md.
const (
	KindOperator         OrgKind = "operator"
	KindCommune          OrgKind = "commune"
	KindIntercommunality OrgKind = "intercommunality"
	KindCompany          OrgKind = "company"
	KindAdministration   OrgKind = "administration"
	KindDonorOther       OrgKind = "donor_other"
	KindWorkshop         OrgKind = "workshop"
	KindSchool           OrgKind = "school"
	KindAssociation      OrgKind = "association"
	KindSocialStructure  OrgKind = "social_structure"
	KindObservatory      OrgKind = "observatory"
)

// OrgKinds lists every kind in the order forms offer them.
var OrgKinds = []OrgKind{
	KindCommune, KindIntercommunality, KindCompany, KindAdministration, KindDonorOther,
	KindWorkshop, KindSchool, KindAssociation, KindSocialStructure, KindObservatory, KindOperator,
}

// Role is what a member of an organisation may do, derived from its kind.
type Role string

// The roles of DOMAIN.md.
const (
	RoleOperator    Role = "operator"
	RoleDonor       Role = "donor"
	RoleTechnician  Role = "technician"
	RoleBeneficiary Role = "beneficiary"
	RoleObservatory Role = "observatory"
)

// Roles lists every role.
var Roles = []Role{RoleOperator, RoleDonor, RoleTechnician, RoleBeneficiary, RoleObservatory}

// Valid reports whether k is a known kind.
func (k OrgKind) Valid() bool { return slices.Contains(OrgKinds, k) }

// Role returns the role of the kind's members.
func (k OrgKind) Role() Role {
	switch k {
	case KindOperator:
		return RoleOperator
	case KindWorkshop:
		return RoleTechnician
	case KindSchool, KindAssociation, KindSocialStructure:
		return RoleBeneficiary
	case KindObservatory:
		return RoleObservatory
	}
	return RoleDonor
}

// officialIDTypes lists which official ids fit each kind. Public bodies and
// companies have a SIRET; schools a UAI (private ones may give their SIRET);
// associations a SIRET or an RNA number.
var officialIDTypes = map[OrgKind][]IDType{
	KindOperator:         {IDSIRET},
	KindCommune:          {IDSIRET},
	KindIntercommunality: {IDSIRET},
	KindCompany:          {IDSIRET},
	KindAdministration:   {IDSIRET},
	KindDonorOther:       {IDSIRET, IDRNA},
	KindWorkshop:         {IDSIRET, IDRNA},
	KindSchool:           {IDUAI, IDSIRET},
	KindAssociation:      {IDSIRET, IDRNA},
	KindSocialStructure:  {IDSIRET, IDRNA},
	KindObservatory:      {IDSIRET},
}

// Organisation is a donor, workshop, beneficiary, the operator or the
// observatory.
type Organisation struct {
	ID         int64     `json:"id"`
	Kind       OrgKind   `json:"kind"`
	Name       string    `json:"name"`
	Commune    string    `json:"commune"`               // INSEE code
	OfficialID string    `json:"official_id,omitempty"` // SIRET, UAI or RNA
	Active     bool      `json:"active"`
	Members    int       `json:"members"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Role returns the role of the organisation's members.
func (o Organisation) Role() Role { return o.Kind.Role() }

// OrgInput is what a form or the API sends to create or edit an
// organisation.
type OrgInput struct {
	Kind       string `json:"kind" form:"kind"`
	Name       string `json:"name" form:"name"`
	Commune    string `json:"commune" form:"commune"`
	OfficialID string `json:"official_id" form:"official_id"`
}

// Line normalises a one-line text typed by a person (a name, a label):
// inner white space collapsed, ends trimmed. It refuses an empty text, one
// longer than max characters, and invalid UTF-8 or control characters, which
// no name contains and PostgreSQL would refuse anyway. The error's message
// is the key to show next to the field.
func Line(s string, max int) (string, error) {
	if !utf8.ValidString(s) || strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) && !unicode.IsSpace(r) }) >= 0 {
		return "", berriz.E(berriz.Invalid, "error.invalid_text")
	}
	s = strings.Join(strings.Fields(s), " ")
	switch n := utf8.RuneCountInString(s); {
	case n == 0:
		return "", berriz.E(berriz.Invalid, "error.required")
	case n > max:
		return "", berriz.E(berriz.Invalid, "error.too_long")
	}
	return s, nil
}

// Validate checks an organisation and returns it normalised, or an Invalid
// error carrying every failing field.
func (in OrgInput) Validate() (Organisation, error) {
	f := berriz.FieldErrors{}
	o := Organisation{Kind: OrgKind(strings.TrimSpace(in.Kind)), Active: true}
	if !o.Kind.Valid() {
		f.Add("kind", "error.org_kind")
	}
	name, err := Line(in.Name, 200)
	if err != nil {
		f.Add("name", berriz.As(err).Message)
	}
	o.Name = name
	c, err := NormalizeCommune(in.Commune)
	if err != nil {
		f.Add("commune", berriz.As(err).Message)
	}
	o.Commune = c
	if strings.TrimSpace(in.OfficialID) != "" {
		id, t, err := DetectOfficialID(in.OfficialID)
		switch {
		case err != nil:
			f.Add("official_id", berriz.As(err).Message)
		case o.Kind.Valid() && !typeAllowed(o.Kind, t):
			f.Add("official_id", "error.official_id_kind")
		}
		o.OfficialID = id
	}
	if err := f.Err(); err != nil {
		return Organisation{}, err
	}
	return o, nil
}

func typeAllowed(k OrgKind, t IDType) bool {
	for _, a := range officialIDTypes[k] {
		if a == t {
			return true
		}
	}
	return false
}

// User is a person who signs in, member of exactly one organisation.
type User struct {
	ID           int64      `json:"id"`
	OrgID        int64      `json:"organisation_id"`
	OrgName      string     `json:"organisation_name"`
	OrgKind      OrgKind    `json:"organisation_kind"`
	OrgActive    bool       `json:"-"`
	Email        string     `json:"email"`
	Name         string     `json:"name"`
	OrgAdmin     bool       `json:"org_admin"`
	Lang         string     `json:"lang"`
	PasswordHash string     `json:"-"`
	CreatedAt    time.Time  `json:"created_at"`
	LastLoginAt  *time.Time `json:"last_login_at"`
}

// Role returns the user's role.
func (u User) Role() Role { return u.OrgKind.Role() }

// Principal is who is acting on a request: a signed-in user, or an API
// token (of a user, or of an organisation such as an observatory client).
type Principal struct {
	UserID   int64 // 0 for an organisation token
	OrgID    int64
	OrgKind  OrgKind
	OrgName  string
	OrgAdmin bool
	Email    string
	Name     string
	// ReadOnly is set for read-scoped tokens; observatory principals are
	// read-only whatever their token says.
	ReadOnly  bool
	SessionID []byte // hash of the session token, for session principals
	TokenID   int64  // for token principals
}

// Role returns the principal's role.
func (p *Principal) Role() Role { return p.OrgKind.Role() }

// IsOperator reports whether the principal is an operator.
func (p *Principal) IsOperator() bool { return p != nil && p.Role() == RoleOperator }

// Access declares who may call a route. Every route declares one; Authorize
// is the only place that interprets it.
type Access string

// The access levels; later issues add one per role.
const (
	// Public answers anyone, signed in or not.
	Public Access = "public"
	// SignedIn answers any signed-in user or valid token.
	SignedIn Access = "signed_in"
	// UserOnly answers a person acting for itself (a session, or one of its
	// own tokens), never an organisation token.
	UserOnly Access = "user"
	// Session answers a person signed in through a browser session, never
	// an API token: for what a token must not do, such as minting tokens
	// that would outlive its own revocation.
	Session Access = "session"
	// OrgAdmin answers administrators of their organisation, and operators.
	OrgAdmin Access = "org_admin"
	// Operator answers operators only.
	Operator Access = "operator"
	// Donor answers members of donor organisations, and operators.
	Donor Access = "donor"
	// Workshop answers technicians (members of workshops), and operators.
	Workshop Access = "workshop"
	// Inventory answers whoever follows donated equipment: donors (their
	// own), technicians (what their workshop holds) and operators.
	Inventory Access = "inventory"
	// Beneficiary answers members of beneficiary organisations (schools,
	// associations, social structures: their own requests), and operators.
	Beneficiary Access = "beneficiary"
	// Allocation answers whoever takes part in getting devices to
	// beneficiaries: beneficiaries (their own), technicians (the handovers of
	// their workshop) and operators.
	Allocation Access = "allocation"
	// Observatory answers the territory's observatory (its users and its
	// organisation tokens, always read-only) and operators: the totals and
	// exports of avoided emissions.
	Observatory Access = "observatory"
)

// Authorize is the one authorization policy, deny by default. write is true
// for every request that may change something (any method but GET and
// HEAD). It returns nil, an Unauthorized error (nobody is signed in) or a
// Forbidden error. Which objects a principal may touch (its own
// organisation's) is checked by the stores, which scope every query.
func Authorize(a Access, p *Principal, write bool) error {
	if a == Public {
		return nil
	}
	if p == nil {
		return berriz.E(berriz.Unauthorized, "error.unauthorized")
	}
	if write && (p.ReadOnly || p.Role() == RoleObservatory) {
		return berriz.E(berriz.Forbidden, "error.read_only")
	}
	allowed := false
	switch a {
	case SignedIn:
		allowed = true
	case UserOnly:
		allowed = p.UserID != 0
	case Session:
		allowed = p.UserID != 0 && p.SessionID != nil
	case OrgAdmin:
		allowed = p.UserID != 0 && (p.IsOperator() || p.OrgAdmin && p.Role() != RoleObservatory)
	case Operator:
		allowed = p.UserID != 0 && p.IsOperator()
	case Donor:
		allowed = p.IsOperator() && p.UserID != 0 || p.Role() == RoleDonor
	case Workshop:
		allowed = p.IsOperator() && p.UserID != 0 || p.Role() == RoleTechnician
	case Inventory:
		allowed = p.IsOperator() && p.UserID != 0 || p.Role() == RoleTechnician || p.Role() == RoleDonor
	case Beneficiary:
		allowed = p.IsOperator() && p.UserID != 0 || p.Role() == RoleBeneficiary
	case Allocation:
		allowed = p.IsOperator() && p.UserID != 0 || p.Role() == RoleBeneficiary || p.Role() == RoleTechnician
	case Observatory:
		allowed = p.IsOperator() && p.UserID != 0 || p.Role() == RoleObservatory
	}
	if !allowed {
		return berriz.E(berriz.Forbidden, "error.forbidden")
	}
	return nil
}
