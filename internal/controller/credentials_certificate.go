package controller

import (
	"bytes"
	"context"
	"errors"

	corev1 "k8s.io/api/core/v1"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/entra"
)

// resolveClientCertificate reads auth.clientCertificate: a certificate and its RSA key from
// a kubernetes.io/tls Secret (cert-manager's format). The credential's identity key hashes
// the certificate and key, so a renewed certificate gets a token at once: the Secret watch
// reconciles, the stored token no longer matches the identity, and a new one is requested.
//
// Only the keys are checked, not the Secret's type: an Opaque Secret with tls.crt and
// tls.key (kubectl create secret generic --from-file) works the same.
func (r *D365ConnectionReconciler) resolveClientCertificate(ctx context.Context, s *reconcileState) (entra.Credential, *stepError) {
	cc := s.source.auth.ClientCertificate
	field := s.source.field("clientCertificate.certificateRef")
	name := cc.CertificateRef.Name
	data, failed := r.secretData(ctx, s, cc.CertificateRef, []string{corev1.TLSCertKey, corev1.TLSPrivateKeyKey}, field, "as a kubernetes.io/tls Secret with tls.crt and tls.key (e.g. a cert-manager Certificate's secretName)")
	if failed != nil {
		return nil, failed
	}
	for _, key := range []string{corev1.TLSCertKey, corev1.TLSPrivateKeyKey} {
		if len(bytes.TrimSpace(data[key])) == 0 {
			return nil, terminal(v1alpha1.ReasonSecretKeyNotFound,
				"Secret %q (%s) has no non-empty key %q: it must be a kubernetes.io/tls Secret with the certificate in tls.crt and its unencrypted RSA key in tls.key",
				name, field, key)
		}
	}
	cred, err := entra.ClientCertificateFromPEM(data[corev1.TLSCertKey], data[corev1.TLSPrivateKeyKey])
	if err != nil {
		return nil, credentialError(err, name, field)
	}
	return cred, nil
}

// credentialError turns a constructor's *entra.Error into a terminal step error naming the
// Secret it came from. The constructors' messages never quote secret material.
func credentialError(err error, secretName, field string) *stepError {
	reason, message := v1alpha1.ReasonInvalidCredential, err.Error()
	if ee, ok := errors.AsType[*entra.Error](err); ok {
		reason, message = entraOutcome(ee.Kind, reason).reason, ee.Message
	}
	return terminal(reason, "Secret %q (%s): %s", secretName, field, message)
}
