package controller

import (
	"context"

	"github.com/d365-operator/d365-operator/internal/entra"
)

// resolveClientSecret reads auth.clientSecret: the client credentials grant with the app's
// secret value.
func (r *D365ConnectionReconciler) resolveClientSecret(ctx context.Context, s *reconcileState) (entra.Credential, *stepError) {
	secret, failed := r.secretValue(ctx, s, s.source.auth.ClientSecret.ClientSecretRef, s.source.field("clientSecret.clientSecretRef"))
	if failed != nil {
		return nil, failed
	}
	return entra.ClientSecret(secret), nil
}
