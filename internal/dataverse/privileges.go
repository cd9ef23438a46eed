package dataverse

import (
	"context"
	"encoding/json"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// Depth is a privilege's depth (PrivilegeDepth EnumType): how far a role's privilege
// reaches. Basic < Local < Deep < Global; RecordFilter stands apart.
type Depth int

// PrivilegeDepth members, with their documented values.
const (
	DepthBasic        Depth = 0
	DepthLocal        Depth = 1
	DepthDeep         Depth = 2
	DepthGlobal       Depth = 3
	DepthRecordFilter Depth = 4
)

var depthNames = []string{"Basic", "Local", "Deep", "Global", "RecordFilter"}

// String returns the member name ("Global").
func (d Depth) String() string {
	if d >= 0 && int(d) < len(depthNames) {
		return depthNames[d]
	}
	return strconv.Itoa(int(d))
}

// ParseDepth reads a member name, case-insensitively.
func ParseDepth(s string) (Depth, bool) {
	for i, n := range depthNames {
		if strings.EqualFold(s, n) {
			return Depth(i), true
		}
	}
	return 0, false
}

// UnmarshalJSON accepts the member name (OData JSON's enum form) or its number.
func (d *Depth) UnmarshalJSON(b []byte) error {
	var name string
	if json.Unmarshal(b, &name) == nil {
		if v, ok := ParseDepth(name); ok {
			*d = v
			return nil
		}
		return &json.UnsupportedValueError{Str: name}
	}
	var n int
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*d = Depth(n)
	return nil
}

// Privilege is one RolePrivilege a user holds through a role or a team.
type Privilege struct {
	ID             string `json:"PrivilegeId"`
	Name           string `json:"PrivilegeName,omitempty"`
	Depth          Depth  `json:"Depth"`
	BusinessUnitID string `json:"BusinessUnitId,omitempty"`
}

// UserPrivileges is a RetrieveUserPrivileges answer.
type UserPrivileges struct {
	// Privileges the user holds; one privilege can appear once per role that grants it.
	Privileges []Privilege
	// Budget is what the last answer's service protection headers said remained.
	Budget Budget
}

type userPrivilegesResponse struct {
	RolePrivileges *[]Privilege `json:"RolePrivileges"`
}

var guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// RetrieveUserPrivileges asks which privileges the system user userID holds (through its
// roles and teams): GET <env>/api/data/v9.2/systemusers(<userID>)/
// Microsoft.Dynamics.CRM.RetrieveUserPrivileges(). Where the answer carries only privilege
// ids (older versions), the names are read from the privileges entity set.
func (c *Client) RetrieveUserPrivileges(ctx context.Context, environmentURL, accessToken, userID string) (UserPrivileges, error) {
	if !guidPattern.MatchString(userID) {
		return UserPrivileges{}, &Error{Op: OpUserPrivileges, Kind: InvalidRequest, Message: "The user id " + strconv.Quote(userID) + " is not a GUID"}
	}
	var r userPrivilegesResponse
	path := "systemusers(" + strings.ToLower(userID) + ")/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()"
	budget, err := c.get(ctx, OpUserPrivileges, environmentURL, accessToken, path, &r, func() bool { return r.RolePrivileges != nil })
	if err != nil {
		return UserPrivileges{Budget: budget}, err
	}
	up := UserPrivileges{Privileges: *r.RolePrivileges, Budget: budget}
	if !allNamed(up.Privileges) {
		names, b, err := c.privilegeNames(ctx, environmentURL, accessToken)
		if b.Known() {
			up.Budget = b
		}
		if err != nil {
			return up, err
		}
		for i := range up.Privileges {
			if up.Privileges[i].Name == "" {
				up.Privileges[i].Name = names[strings.ToLower(up.Privileges[i].ID)]
			}
		}
	}
	return up, nil
}

func allNamed(ps []Privilege) bool {
	for _, p := range ps {
		if p.Name == "" {
			return false
		}
	}
	return true
}

// maxPrivilegePages bounds the pages of the privileges entity set read to resolve names
// (an environment has a few thousand privileges; a page holds up to 5,000 records).
const maxPrivilegePages = 10

type privilegePage struct {
	Value *[]struct {
		ID   string `json:"privilegeid"`
		Name string `json:"name"`
	} `json:"value"`
	NextLink string `json:"@odata.nextLink"`
}

// privilegeNames reads the privileges entity set: privilege id (lower-case) to name.
func (c *Client) privilegeNames(ctx context.Context, environmentURL, accessToken string) (map[string]string, Budget, error) {
	names := map[string]string{}
	var budget Budget
	next := ""
	for page := range maxPrivilegePages {
		var p privilegePage
		var err error
		if page == 0 {
			budget, err = c.get(ctx, OpUserPrivileges, environmentURL, accessToken, "privileges?$select=privilegeid,name", &p, func() bool { return p.Value != nil })
		} else {
			budget, err = c.getURL(ctx, OpUserPrivileges, hostOf(next), next, accessToken, &p, func() bool { return p.Value != nil })
		}
		if err != nil {
			return nil, budget, err
		}
		for _, v := range *p.Value {
			names[strings.ToLower(v.ID)] = v.Name
		}
		if next = p.NextLink; next == "" || !sameOrigin(next, environmentURL) {
			break // a next page elsewhere would receive the token: not followed
		}
	}
	return names, budget, nil
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}

// sameOrigin reports whether link is https on the environment's own host.
func sameOrigin(link, environmentURL string) bool {
	l, err1 := url.Parse(link)
	e, err2 := url.Parse(environmentURL)
	return err1 == nil && err2 == nil && l.Scheme == "https" && strings.EqualFold(l.Host, e.Host)
}
