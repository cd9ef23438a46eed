package outputtemplate

import "time"

// Data is what a template sees, documented in docs/api.md ("Output shaping"). Adding a
// field here is an API change: users' templates name these fields.
type Data struct {
	// AccessToken is the bare JWT.
	AccessToken string
	// TokenType is "Bearer".
	TokenType string
	// ExpiresAt and IssuedAt are the token's times (UTC).
	ExpiresAt, IssuedAt time.Time
	// EnvironmentURL is "https://host/"; WebAPIURL is "<EnvironmentURL>api/data/v9.2/".
	EnvironmentURL, WebAPIURL string
	// TenantID, ClientID and Authority say who signed in and where.
	TenantID, ClientID, Authority string
	// Resource is what the token was issued for.
	Resource string
}
