package entra

import (
	"bytes"
	"context"
	"fmt"
	"hash"
	"net/http"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
)

// DelegatedOptions configures Delegated.
type DelegatedOptions struct {
	// Cache is MSAL's serialized token cache holding the user's sign-in (what SignIn returns
	// and `d365-operator login` stores).
	Cache []byte
	// Source names where the cache is kept (e.g. "<namespace>/<Secret name>"). It is part of
	// the identity key: the account id in a cache is no secret, so without it a forged cache
	// naming another namespace's user would share that user's tokens.
	Source string
	// ClientSecret authenticates a confidential app when it redeems the refresh token; empty
	// for public client apps.
	ClientSecret string
	// SignInAgain tells the user how to renew the sign-in (e.g. the login command line); it
	// ends the message when the refresh token expired or was revoked.
	SignInAgain string
	// Save persists the cache after a token request rotated its refresh token. It runs
	// inside Provider.Acquire, once per network request. Its error does not fail the token:
	// Entra ID keeps the previous refresh token valid, so the next refresh still works.
	Save func(ctx context.Context, cache []byte) error
}

// Delegated returns a credential that acts as the user signed in to the token cache: each
// token request redeems the cache's refresh token through MSAL (AcquireTokenSilent with the
// cache's account) and hands the rotated cache to Save. A cache that cannot be used is an
// *Error of kind InvalidCredential.
func Delegated(o DelegatedOptions) (Credential, error) {
	doc, err := withoutAccessTokens(o.Cache)
	if err != nil {
		return nil, err
	}
	parsed, acct, err := parseCache(doc)
	if err != nil {
		return nil, err
	}
	// Only the cache without its access tokens (doc) is kept; the original, which may hold
	// them, is not held for the credential's life.
	o.Cache = nil
	return &delegated{opts: o, doc: doc, parsed: parsed, account: acct}, nil
}

// delegated redeems a user's refresh token from a serialized MSAL cache.
type delegated struct {
	opts    DelegatedOptions
	doc     []byte // the cache without access tokens
	parsed  cacheDocument
	account cacheAccount
}

func (*delegated) kind() string { return "Delegated" }

// writeMaterial hashes where the cache is kept, who signed in, where, and the client secret,
// but not the refresh token: it rotates with every refresh, and a new key each time would
// discard the token just issued (the output Secret's identity hash would no longer match).
func (d *delegated) writeMaterial(h hash.Hash) {
	writeField(h, d.opts.Source)
	writeField(h, d.account.homeAccountID)
	writeField(h, d.account.environment)
	writeField(h, d.opts.ClientSecret)
}

func (d *delegated) newClient(authority, clientID string, hc *http.Client) (*msalClient, error) {
	tc := &tokenCache{}
	var c *msalClient
	var err error
	if d.opts.ClientSecret == "" {
		c, err = newPublic(authority, clientID, hc, tc)
	} else {
		var cred confidential.Credential
		if cred, err = confidential.NewCredFromSecret(d.opts.ClientSecret); err == nil {
			c, err = newConfidential(authority, clientID, cred, hc, tc)
		}
	}
	if err != nil {
		return nil, err
	}
	c.cache = tc
	return c, nil
}

// acquire loads this credential's cache (the Secret's current content) into the client's
// cache accessor, redeems the refresh token, and saves the rotated cache.
func (d *delegated) acquire(ctx context.Context, c *msalClient, scopes []string) (AuthResult, error) {
	c.cache.call.Lock()
	defer c.cache.call.Unlock()
	if c.authorityHost != "" && d.account.environment != c.authorityHost {
		return AuthResult{}, d.signInExpired(fmt.Sprintf("The sign-in in the token cache was made at %s, but the connection's authority is %s", d.account.environment, c.authorityHost))
	}
	if !d.parsed.hasRefreshToken(d.account, c.clientID) {
		return AuthResult{}, d.signInExpired(fmt.Sprintf("The token cache holds no refresh token of %s for this connection's client ID (was the sign-in made with another --client-id?)", d.username()))
	}
	c.cache.load(d.doc)

	var res AuthResult
	var err error
	if c.isPublic {
		var acct public.Account
		if acct, err = findPublicAccount(ctx, c.public, d.account.homeAccountID); err == nil {
			res, err = c.public.AcquireTokenSilent(ctx, scopes, public.WithSilentAccount(acct))
		}
	} else {
		var acct confidential.Account
		if acct, err = c.confidential.Account(ctx, d.account.homeAccountID); err == nil && acct.IsZero() {
			err = d.signInExpired("The token cache's account cannot be read")
		}
		if err == nil {
			res, err = c.confidential.AcquireTokenSilent(ctx, scopes, confidential.WithSilentAccount(acct))
		}
	}
	if err != nil {
		return AuthResult{}, err
	}
	if rotated := c.cache.document(); !bytes.Equal(rotated, d.doc) && d.opts.Save != nil {
		_ = d.opts.Save(ctx, rotated) // see DelegatedOptions.Save
	}
	return res, nil
}

func findPublicAccount(ctx context.Context, c public.Client, homeAccountID string) (public.Account, error) {
	accounts, err := c.Accounts(ctx)
	if err != nil {
		return public.Account{}, err
	}
	for _, a := range accounts {
		if a.HomeAccountID == homeAccountID {
			return a, nil
		}
	}
	return public.Account{}, &Error{Kind: SignInExpired, Message: "The token cache's account cannot be read"}
}

func (d *delegated) secrets() []string {
	return append(d.parsed.refreshTokens(), d.opts.ClientSecret)
}

// signInExpired is a SignInExpired *Error ending in the sign-in advice.
func (d *delegated) signInExpired(msg string) *Error {
	return &Error{Kind: SignInExpired, Message: msg + ". " + d.advice()}
}

func (d *delegated) advice() string {
	if d.opts.SignInAgain == "" {
		return "Sign in again to renew the token cache."
	}
	return "Sign in again: " + d.opts.SignInAgain
}

// username names the signed-in user for messages by where the sign-in is kept, never by the
// name in the cache: the cache is a Secret's content, which a message must not reveal.
func (d *delegated) username() string {
	if d.opts.Source != "" {
		return "the user signed in to the token cache in " + d.opts.Source
	}
	return "the signed-in user"
}

// explain: for a refresh token, invalid_grant in any form (expired, revoked, issued to
// another app, password changed) means the user must sign in again.
func (d *delegated) explain(e *Error, _ Identity) string {
	switch {
	case e.Kind == SignInExpired || e.ErrorCode == oauthInvalidGrant && e.Kind != InteractionRequired:
		e.Kind = SignInExpired
		return fmt.Sprintf("The sign-in of %s has expired or was revoked. %s", d.username(), d.advice())
	case e.Kind == InteractionRequired:
		return fmt.Sprintf("Entra ID wants %s to sign in interactively again (MFA or Conditional Access). %s", d.username(), d.advice())
	case e.ErrorCode == oauthInvalidClient && d.opts.ClientSecret == "":
		e.Kind = CredentialRejected
		return "The app requires client authentication to redeem the refresh token: set auth.delegated.clientSecretRef, or enable \"Allow public client flows\" on the app registration."
	}
	return ""
}

// String names the signed-in user, never the cache's tokens.
func (d *delegated) String() string { return "Delegated(" + d.username() + ")" }

// GoString keeps the cache out of %#v output.
func (d *delegated) GoString() string { return "entra." + d.String() }
