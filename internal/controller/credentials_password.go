package controller

import (
	"context"
	"strings"

	"github.com/d365-operator/d365-operator/internal/entra"
)

// resolveUsernamePassword reads auth.usernamePassword: the OAuth 2.0 password grant, kept for
// integrations that still sign in as a user with a password. Without clientSecretRef the app
// must allow public client flows; with it the secret authenticates the app (see
// entra.UsernamePassword). MFA and Conditional Access block this grant by design: the
// condition then recommends another method.
//
// The identity key hashes the user name, the password and the client secret, so changing
// any of them in its Secret requests a token with the new values at once.
func (r *D365ConnectionReconciler) resolveUsernamePassword(ctx context.Context, s *reconcileState) (entra.Credential, *stepError) {
	up := s.source.auth.UsernamePassword
	username, failed := r.secretValue(ctx, s, up.UsernameRef, s.source.field("usernamePassword.usernameRef"))
	if failed != nil {
		return nil, failed
	}
	password, failed := r.secretRaw(ctx, s, up.PasswordRef, s.source.field("usernamePassword.passwordRef"))
	if failed != nil {
		return nil, failed
	}
	// Only the line break a file-based Secret ends with is dropped: leading and trailing
	// spaces may be part of a password.
	password = strings.TrimRight(password, "\r\n")
	clientSecret, failed := r.optionalSecretValue(ctx, s, up.ClientSecretRef, s.source.field("usernamePassword.clientSecretRef"))
	if failed != nil {
		return nil, failed
	}
	return entra.UsernamePassword(username, password, clientSecret), nil
}
