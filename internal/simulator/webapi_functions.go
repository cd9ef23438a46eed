package simulator

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// The health functions of the Web API, with the request and response shapes documented on
// Microsoft Learn (docs/reference/dataverse-health-functions.md): RetrieveUserPrivileges
// (bound to systemuser), RetrieveVersion, RetrieveCurrentOrganization, and the privileges
// entity set that resolves privilege names.

var (
	boundUserRE    = regexp.MustCompile(`^(?i)systemusers\(([0-9a-f-]{36})\)$`)
	currentOrgRE   = regexp.MustCompile(`^(?i)RetrieveCurrentOrganization\(AccessType=(@[a-z0-9]+|Microsoft\.Dynamics\.CRM\.EndpointAccessType'[a-z]+')\)$`)
	accessTypeRE   = regexp.MustCompile(`^(?i)Microsoft\.Dynamics\.CRM\.EndpointAccessType'(Default|Internet|Intranet)'$`)
	privilegeDepth = map[string]bool{"basic": true, "local": true, "deep": true, "global": true}
)

// serveFunction routes the health functions; anything else is Dataverse's 404.
func (s *Server) serveFunction(w http.ResponseWriter, r *http.Request, env Environment, userID, version string, rest []string) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "OPTIONS,GET,HEAD")
		writeODataError(w, http.StatusMethodNotAllowed, "0x80060888", "The requested resource does not support http method '"+r.Method+"'.")
		return
	}
	base := "https://" + env.Host + "/api/data/" + version + "/$metadata#"
	switch {
	case len(rest) == 2 && boundUserRE.MatchString(rest[0]) && strings.EqualFold(rest[1], "Microsoft.Dynamics.CRM.RetrieveUserPrivileges()"):
		s.serveUserPrivileges(w, env, userID, strings.ToLower(boundUserRE.FindStringSubmatch(rest[0])[1]), base)
	case len(rest) == 1 && strings.EqualFold(rest[0], "RetrieveVersion()"):
		s.writeODataJSON(w, struct {
			Context string `json:"@odata.context"`
			Version string `json:"Version"`
		}{base + "Microsoft.Dynamics.CRM.RetrieveVersionResponse", env.Version})
	case len(rest) == 1 && currentOrgRE.MatchString(rest[0]):
		s.serveCurrentOrganization(w, r, env, base, currentOrgRE.FindStringSubmatch(rest[0])[1])
	case len(rest) == 1 && strings.EqualFold(rest[0], "privileges"):
		s.servePrivileges(w, env, base)
	default:
		writeSegmentNotFound(w, rest[0])
	}
}

// rolePrivilege is the RolePrivilege complex type; Depth is the PrivilegeDepth member name.
type rolePrivilege struct {
	Depth          string `json:"Depth"`
	PrivilegeID    string `json:"PrivilegeId"`
	BusinessUnitID string `json:"BusinessUnitId"`
	PrivilegeName  string `json:"PrivilegeName,omitempty"`
}

// serveUserPrivileges answers RetrieveUserPrivileges for target, asked by caller. Reading
// a user's privileges takes prvReadUser; without it Dataverse refuses with 403 0x80040220.
func (s *Server) serveUserPrivileges(w http.ResponseWriter, env Environment, caller, target, base string) {
	me, _ := applicationUserByID(env, caller)
	if _, ok := holds(me.Privileges, "prvReadUser"); !ok {
		writeODataError(w, http.StatusForbidden, "0x80040220", fmt.Sprintf(
			"Principal user (Id=%s, type=8, roleCount=%d, privilegeCount=%d, accessMode=4), is missing prvReadUser privilege (Id=%s) on OTC=8 for entity 'systemuser'.",
			caller, min(len(me.Privileges), 1), len(me.Privileges), privilegeID("prvReadUser")))
		return
	}
	u, ok := applicationUserByID(env, target)
	if !ok {
		writeODataError(w, http.StatusNotFound, "0x80040217", "Entity 'systemuser' With Id = "+target+" Does Not Exist")
		return
	}
	out := make([]rolePrivilege, 0, len(u.Privileges))
	for _, p := range u.Privileges {
		rp := rolePrivilege{Depth: depthName(p.Depth), PrivilegeID: privilegeID(p.Name), BusinessUnitID: env.BusinessUnitID}
		if !env.OmitPrivilegeNames {
			rp.PrivilegeName = p.Name
		}
		out = append(out, rp)
	}
	s.writeODataJSON(w, struct {
		Context        string          `json:"@odata.context"`
		RolePrivileges []rolePrivilege `json:"RolePrivileges"`
	}{base + "Microsoft.Dynamics.CRM.RetrieveUserPrivilegesResponse", out})
}

// serveCurrentOrganization answers RetrieveCurrentOrganization; its AccessType parameter is
// required, inline or as a parameter alias.
func (s *Server) serveCurrentOrganization(w http.ResponseWriter, r *http.Request, env Environment, base, arg string) {
	if strings.HasPrefix(arg, "@") {
		arg = r.URL.Query().Get(arg)
	}
	if !accessTypeRE.MatchString(arg) {
		writeODataError(w, http.StatusBadRequest, "0x80060888", "The parameter 'AccessType' of the function 'RetrieveCurrentOrganization' is missing or not an EndpointAccessType.")
		return
	}
	detail := map[string]any{
		"OrganizationId": env.OrganizationID, "FriendlyName": env.FriendlyName, "OrganizationVersion": env.Version,
		"EnvironmentId": derivedGUID("environment", env.OrganizationID), "UrlName": env.URLName, "UniqueName": env.UniqueName,
		"TenantId": env.TenantID, "Geo": "NA", "State": "Enabled", "OrganizationType": "Customer", "SchemaType": "Standard",
		"Endpoints": map[string]any{"Count": 1, "Keys": []string{"WebApplication"}, "Values": []string{"https://" + env.Host + "/"}},
	}
	s.writeODataJSON(w, map[string]any{"@odata.context": base + "Microsoft.Dynamics.CRM.RetrieveCurrentOrganizationResponse", "Detail": detail})
}

// servePrivileges answers GET privileges (with any $select): one page of every privilege.
func (s *Server) servePrivileges(w http.ResponseWriter, env Environment, base string) {
	names := knownPrivileges(env)
	rows := make([]map[string]string, 0, len(names))
	for _, n := range names {
		rows = append(rows, map[string]string{"@odata.etag": `W/"1"`, "privilegeid": privilegeID(n), "name": n})
	}
	s.writeODataJSON(w, map[string]any{"@odata.context": base + "privileges(privilegeid,name)", "value": rows})
}

func applicationUserByID(env Environment, userID string) (ApplicationUser, bool) {
	for _, u := range env.ApplicationUsers {
		if strings.EqualFold(u.UserID, userID) {
			return u, true
		}
	}
	return ApplicationUser{}, false
}

// holds returns the privilege of this name the user holds, if any.
func holds(ps []Privilege, name string) (Privilege, bool) {
	for _, p := range ps {
		if strings.EqualFold(p.Name, name) {
			return p, true
		}
	}
	return Privilege{}, false
}

// depthName spells a configured depth as the PrivilegeDepth member; default Global.
func depthName(d string) string {
	if !privilegeDepth[strings.ToLower(d)] {
		return "Global"
	}
	return strings.ToUpper(d[:1]) + strings.ToLower(d[1:])
}
