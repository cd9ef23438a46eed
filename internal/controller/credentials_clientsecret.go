package controller

import (
	"context"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/entra"
)

// resolveClientSecret reads auth.clientSecret: the client credentials grant with the app's
// secret value.
func (r *D365ConnectionReconciler) resolveClientSecret(ctx context.Context, conn *v1alpha1.D365Connection, _ string) (entra.Credential, *stepError) {
	secret, failed := r.secretValue(ctx, conn, conn.Spec.Auth.ClientSecret.ClientSecretRef, "auth.clientSecret.clientSecretRef")
	if failed != nil {
		return nil, failed
	}
	return entra.ClientSecret(secret), nil
}
