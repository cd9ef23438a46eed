package simulator

import (
	"slices"
	"strings"
)

// normalizeOrganization fills in an environment's RetrieveVersion and
// RetrieveCurrentOrganization answers and its service protection header defaults.
func normalizeOrganization(e *Environment) {
	label, _, _ := strings.Cut(e.Host, ".")
	if e.Version == "" {
		e.Version = DefaultVersion
	}
	if e.URLName == "" {
		e.URLName = label
	}
	if e.FriendlyName == "" {
		e.FriendlyName = label
	}
	if e.UniqueName == "" {
		e.UniqueName = "unq" + strings.ReplaceAll(e.OrganizationID, "-", "")[:24]
	}
	if e.RateLimit.TimeRemaining == "" {
		e.RateLimit.TimeRemaining = "1,200.00"
	}
}

// privilegeID is a privilege's id in every simulated environment: derived from its name,
// as Dataverse's built-in privileges have the same id everywhere.
func privilegeID(name string) string { return derivedGUID("privilege", strings.ToLower(name)) }

// knownPrivileges are the names of the privileges entity set: a few common ones and every
// privilege an application user holds.
func knownPrivileges(env Environment) []string {
	names := []string{"prvReadAccount", "prvCreateAccount", "prvReadContact", "prvCreateContact", "prvReadUser"}
	for _, u := range env.ApplicationUsers {
		for _, p := range u.Privileges {
			names = append(names, p.Name)
		}
	}
	slices.SortFunc(names, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return slices.CompactFunc(names, strings.EqualFold)
}

// SetApplicationUserPrivileges replaces the privileges an application user holds, as
// assigning or removing security roles in the Power Platform admin center does.
func (s *Server) SetApplicationUserPrivileges(envHost, clientID string, privileges ...Privilege) {
	clientID = strings.ToLower(clientID)
	s.world.updateEnvironment(envHost, func(e *Environment) {
		users := slices.Clone(e.ApplicationUsers)
		for i := range users {
			if users[i].ClientID == clientID {
				users[i].Privileges = slices.Clone(privileges)
			}
		}
		e.ApplicationUsers = users
	})
}

// SetOrganization makes the environment at envHost a different organization (as a copy
// or reset does): WhoAmI and RetrieveCurrentOrganization answer with the new id and names.
func (s *Server) SetOrganization(envHost, organizationID, uniqueName, friendlyName string) {
	s.world.updateEnvironment(envHost, func(e *Environment) {
		e.OrganizationID, e.UniqueName, e.FriendlyName = strings.ToLower(organizationID), uniqueName, friendlyName
	})
}

// SetRateLimitHeaders changes the service protection headers an environment sends.
func (s *Server) SetRateLimitHeaders(envHost string, h RateLimitHeaders) {
	if h.TimeRemaining == "" {
		h.TimeRemaining = "1,200.00"
	}
	s.world.updateEnvironment(envHost, func(e *Environment) { e.RateLimit = h })
}

// SetOmitPrivilegeNames makes RetrieveUserPrivileges answer with or without PrivilegeName.
func (s *Server) SetOmitPrivilegeNames(envHost string, omit bool) {
	s.world.updateEnvironment(envHost, func(e *Environment) { e.OmitPrivilegeNames = omit })
}
