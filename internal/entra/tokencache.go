package entra

import (
	"context"
	"encoding/json"
	"strings"
	"sync"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
)

// tokenCache is the MSAL cache accessor of a delegated sign-in: MSAL reads the document
// before each cache access (Replace) and writes it after each token response (Export).
// The document is MSAL's serialized cache, the same format `d365-operator login` stores.
//
// Access tokens are dropped on the way in and out: a cached access token would make
// AcquireTokenSilent answer from the cache (until five minutes before expiry) instead of
// redeeming the refresh token when the provider's schedule asks for a new token, and the
// Secret is better off without bearer tokens it does not need.
type tokenCache struct {
	// call serializes token requests through one client: they share the document.
	call sync.Mutex

	mu  sync.Mutex
	doc []byte
}

// load sets the document MSAL reads next.
func (t *tokenCache) load(doc []byte) {
	t.mu.Lock()
	t.doc = doc
	t.mu.Unlock()
}

// document returns the document as MSAL last wrote it (or as loaded).
func (t *tokenCache) document() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.doc
}

// Replace implements cache.ExportReplace.
func (t *tokenCache) Replace(_ context.Context, u cache.Unmarshaler, _ cache.ReplaceHints) error {
	doc := t.document()
	if len(doc) == 0 {
		doc = emptyContract
	}
	return u.Unmarshal(doc)
}

// Export implements cache.ExportReplace.
func (t *tokenCache) Export(_ context.Context, m cache.Marshaler, _ cache.ExportHints) error {
	doc, err := m.Marshal()
	if err != nil {
		return err
	}
	if doc, err = withoutAccessTokens(doc); err != nil {
		return err
	}
	t.load(doc)
	return nil
}

// cacheDocument is the part of MSAL's cache schema (shared by all MSAL libraries) that the
// operator reads: which user signed in, where, and through which app.
type cacheDocument struct {
	Account map[string]struct {
		HomeAccountID string `json:"home_account_id"`
		Environment   string `json:"environment"`
		Username      string `json:"username"`
	} `json:"Account"`
	RefreshToken map[string]struct {
		HomeAccountID string `json:"home_account_id"`
		Environment   string `json:"environment"`
		ClientID      string `json:"client_id"`
		Secret        string `json:"secret"`
	} `json:"RefreshToken"`
}

// cacheAccount is the signed-in user of a token cache.
type cacheAccount struct {
	homeAccountID, environment, username string
}

// parseCache reads a token cache document: exactly one account, as `d365-operator login`
// writes. The error never quotes the document.
func parseCache(doc []byte) (cacheDocument, cacheAccount, error) {
	var d cacheDocument
	if err := json.Unmarshal(doc, &d); err != nil {
		return d, cacheAccount{}, invalidCredential("The token cache is not an MSAL token cache (invalid JSON)")
	}
	var accounts []cacheAccount
	for _, a := range d.Account {
		accounts = append(accounts, cacheAccount{homeAccountID: a.HomeAccountID, environment: strings.ToLower(a.Environment), username: a.Username})
	}
	switch len(accounts) {
	case 0:
		return d, cacheAccount{}, invalidCredential("The token cache holds no signed-in account")
	case 1:
		return d, accounts[0], nil
	}
	return d, cacheAccount{}, invalidCredential("The token cache holds %d accounts; it must hold exactly one", len(accounts))
}

// hasRefreshToken reports whether the document holds a refresh token of the account for
// clientID at the login host.
func (d cacheDocument) hasRefreshToken(a cacheAccount, clientID string) bool {
	for _, rt := range d.RefreshToken {
		if rt.HomeAccountID == a.homeAccountID && strings.EqualFold(rt.ClientID, clientID) &&
			strings.EqualFold(rt.Environment, a.environment) && rt.Secret != "" {
			return true
		}
	}
	return false
}

// refreshTokens lists the document's refresh tokens, to redact them from messages.
func (d cacheDocument) refreshTokens() []string {
	var out []string
	for _, rt := range d.RefreshToken {
		if rt.Secret != "" {
			out = append(out, rt.Secret)
		}
	}
	return out
}

// withoutAccessTokens returns doc with an empty AccessToken map; other sections are kept
// as they are. The result is canonical (sorted keys, compact), so equal caches compare equal.
func withoutAccessTokens(doc []byte) ([]byte, error) {
	var sections map[string]json.RawMessage
	if err := json.Unmarshal(doc, &sections); err != nil {
		return nil, invalidCredential("The token cache is not an MSAL token cache (invalid JSON)")
	}
	if sections == nil {
		sections = map[string]json.RawMessage{}
	}
	sections["AccessToken"] = json.RawMessage(`{}`)
	return json.Marshal(sections)
}
