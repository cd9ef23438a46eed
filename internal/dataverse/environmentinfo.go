package dataverse

import "context"

// Version is a RetrieveVersion answer.
type Version struct {
	// Version is the environment's Dataverse version, e.g. "9.2.25013.169".
	Version string
	// Budget is what the answer's service protection headers said remained.
	Budget Budget
}

// RetrieveVersion asks for the environment's version: GET <env>/api/data/v9.2/RetrieveVersion().
func (c *Client) RetrieveVersion(ctx context.Context, environmentURL, accessToken string) (Version, error) {
	var r struct {
		Version string `json:"Version"`
	}
	budget, err := c.get(ctx, OpEnvironmentInfo, environmentURL, accessToken, "RetrieveVersion()", &r, func() bool { return r.Version != "" })
	if err != nil {
		return Version{Budget: budget}, err
	}
	return Version{Version: r.Version, Budget: budget}, nil
}

// Organization is the part of a RetrieveCurrentOrganization answer (OrganizationDetail) the
// operator reports.
type Organization struct {
	OrganizationID      string `json:"OrganizationId"`
	FriendlyName        string `json:"FriendlyName"`
	UniqueName          string `json:"UniqueName"`
	URLName             string `json:"UrlName"`
	OrganizationVersion string `json:"OrganizationVersion"`
	EnvironmentID       string `json:"EnvironmentId"`
	// Budget is what the answer's service protection headers said remained.
	Budget Budget `json:"-"`
}

// currentOrganizationPath calls the function with its one, non-nullable parameter
// AccessType (EndpointAccessType) as a parameter alias, as the Web API documentation does.
const currentOrganizationPath = "RetrieveCurrentOrganization(AccessType=@p1)?@p1=Microsoft.Dynamics.CRM.EndpointAccessType'Default'"

// RetrieveCurrentOrganization asks for the environment's organization details: GET
// <env>/api/data/v9.2/RetrieveCurrentOrganization(AccessType=@p1)?@p1=…'Default'.
func (c *Client) RetrieveCurrentOrganization(ctx context.Context, environmentURL, accessToken string) (Organization, error) {
	var r struct {
		Detail *Organization `json:"Detail"`
	}
	budget, err := c.get(ctx, OpEnvironmentInfo, environmentURL, accessToken, currentOrganizationPath, &r,
		func() bool { return r.Detail != nil && r.Detail.UniqueName != "" })
	if err != nil {
		return Organization{Budget: budget}, err
	}
	org := *r.Detail
	org.Budget = budget
	return org, nil
}
