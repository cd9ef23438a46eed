package controller

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/log"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/entra"
)

// resolveDelegated reads auth.delegated: the MSAL token cache that `d365-operator login`
// stored in the tokenCacheRef Secret after the user signed in. Each token request redeems
// the cache's refresh token; the rotated cache is written back to the Secret (see
// saveTokenCache). No password is ever stored.
func (r *D365ConnectionReconciler) resolveDelegated(ctx context.Context, s *reconcileState) (entra.Credential, *stepError) {
	d := s.source.auth.Delegated
	clientSecret, failed := r.optionalSecretValue(ctx, s, d.ClientSecretRef, s.source.field("delegated.clientSecretRef"))
	if failed != nil {
		return nil, failed
	}
	field := s.source.field("delegated.tokenCacheRef")
	cacheKey, failed := s.source.secretKey(d.TokenCacheRef.Name, d.TokenCacheRef.Namespace, field)
	if failed != nil {
		return nil, failed
	}
	name := cacheKey.Name
	login := loginCommand(s.conn.Spec.EnvironmentURL, s.source, cacheKey, s.clientID)
	data, failed := r.secretData(ctx, s, d.TokenCacheRef, []string{v1alpha1.TokenCacheKey}, field, "by signing in: "+login)
	if failed != nil {
		return nil, failed
	}
	doc := data[v1alpha1.TokenCacheKey]
	if len(bytes.TrimSpace(doc)) == 0 {
		return nil, terminal(v1alpha1.ReasonSecretKeyNotFound,
			"Secret %q (%s) has no key %q holding a token cache: sign in with %s", name, field, v1alpha1.TokenCacheKey, login)
	}
	cred, err := entra.Delegated(entra.DelegatedOptions{
		Cache:        doc,
		Source:       cacheKey.String(),
		ClientSecret: clientSecret,
		SignInAgain:  login,
		Save:         r.saveTokenCache(cacheKey, doc),
	})
	if err != nil {
		failed := credentialError(err, name, field)
		failed.Message += ". Sign in again with " + login
		return nil, failed
	}
	return cred, nil
}

// saveTokenCache returns the function that writes a rotated cache back to the Secret it was
// read from. The write is conditional: if the Secret no longer holds the cache that was
// redeemed (the user signed in again meanwhile), the new sign-in wins and the rotated cache
// is dropped; the update carries the resourceVersion it read, so a concurrent change is a
// conflict rather than lost. A failed write is logged and the token kept: Entra ID leaves
// the previous refresh token valid. The cache's content is never logged.
func (r *D365ConnectionReconciler) saveTokenCache(key types.NamespacedName, loaded []byte) func(context.Context, []byte) error {
	return func(ctx context.Context, rotated []byte) error {
		logger := log.FromContext(ctx).WithValues("tokenCacheSecret", key.Name)
		secret := &corev1.Secret{}
		if err := r.APIReader.Get(ctx, key, secret); err != nil {
			logger.Error(err, "Cannot read the token cache Secret to save the rotated cache")
			return err
		}
		if !bytes.Equal(secret.Data[v1alpha1.TokenCacheKey], loaded) {
			logger.V(1).Info("The token cache Secret changed since it was read (a new sign-in); keeping it")
			return nil
		}
		secret.Data[v1alpha1.TokenCacheKey] = rotated
		if err := r.Client.Update(ctx, secret); err != nil {
			if apierrors.IsConflict(err) {
				logger.V(1).Info("The token cache Secret changed while saving the rotated cache; keeping it")
				return nil
			}
			logger.Error(err, "Cannot save the rotated token cache; the previous refresh token stays in use")
			return err
		}
		logger.V(1).Info("Saved the rotated token cache")
		return nil
	}
}

// loginCommand is the command that (re)creates the connection's token cache Secret, each
// argument shell-quoted (the values come from the spec). A client ID from a Secret is read
// by the command itself, so that the message does not hold it.
func loginCommand(envURL string, src signInSource, cache types.NamespacedName, clientID clientIDOf) string {
	args := []string{"d365-operator", "login",
		"--namespace", shellQuote(cache.Namespace),
		"--secret", shellQuote(cache.Name),
		"--environment-url", shellQuote(envURL),
		"--client-id", clientIDArgument(clientID),
	}
	if src.tenantID != "" {
		args = append(args, "--tenant", shellQuote(src.tenantID))
	}
	if src.authorityHost != "" {
		args = append(args, "--authority-host", shellQuote(src.authorityHost))
	}
	return fmt.Sprintf("`%s`", strings.Join(args, " "))
}

// shellQuote quotes s for a POSIX shell when it holds anything but letters, digits and
// -_.:/@=, so that a suggested command can be pasted safely whatever the spec holds.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/@=") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
