package controller

import (
	"maps"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/outputtemplate"
)

// desiredSecret is the output Secret as it must be: the one found (labels and annotations
// that others added are kept) or a new one controlled by the connection, with our label and
// annotations, spec.target.secretTemplate's metadata and the data keys. Of the connection's
// own labels only its shard label is copied (a shard's Secret informer selects on it); the
// others and its annotations never are: a GitOps tracking label on the Secret would make
// Argo CD or Flux prune it as an orphan.
func (r *D365ConnectionReconciler) desiredSecret(s *reconcileState) (*corev1.Secret, *stepError) {
	var secret *corev1.Secret
	if s.existing != nil {
		secret = s.existing.DeepCopy()
	} else {
		secret = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: s.conn.Namespace, Name: s.target}, Type: corev1.SecretTypeOpaque}
		if err := controllerutil.SetControllerReference(s.conn, secret, r.Scheme); err != nil {
			return nil, &stepError{Reason: v1alpha1.ReasonProgressing, Message: "Setting the output Secret's owner: " + err.Error()}
		}
	}
	data, failed := outputData(s)
	if failed != nil {
		return nil, failed
	}
	secret.Data = data
	var tmpl v1alpha1.SecretTemplate
	if t := s.conn.Spec.Target.SecretTemplate; t != nil {
		tmpl = *t
	}
	secret.Labels = applyTemplate(secret.Labels, tmpl.Labels, secret.Annotations[v1alpha1.AnnotationTemplateLabels])
	secret.Annotations = applyTemplate(secret.Annotations, tmpl.Annotations, secret.Annotations[v1alpha1.AnnotationTemplateAnnotations])
	secret.Labels[v1alpha1.LabelManagedBy] = v1alpha1.ManagedByValue
	copyShardLabel(secret.Labels, s.conn)
	setOrDrop(secret.Annotations, v1alpha1.AnnotationTemplateLabels, strings.Join(slices.Sorted(maps.Keys(tmpl.Labels)), ","))
	setOrDrop(secret.Annotations, v1alpha1.AnnotationTemplateAnnotations, strings.Join(slices.Sorted(maps.Keys(tmpl.Annotations)), ","))
	secret.Annotations[v1alpha1.AnnotationIdentityHash] = s.idHash
	secret.Annotations[v1alpha1.AnnotationIssuedAt] = s.token.IssuedAt.UTC().Format(time.RFC3339)
	secret.Annotations[v1alpha1.AnnotationTokenDigest] = tokenDigest(s.token.AccessToken)
	return secret, nil
}

// applyTemplate sets want on current after removing the keys the template set before
// (applied, comma-separated) and no longer names; keys others set are left alone.
func applyTemplate(current, want map[string]string, applied string) map[string]string {
	out := maps.Clone(current)
	if out == nil {
		out = map[string]string{}
	}
	for key := range strings.SplitSeq(applied, ",") {
		if _, still := want[key]; key != "" && !still {
			delete(out, key)
		}
	}
	maps.Copy(out, want)
	return out
}

// setOrDrop sets m[key] to value, or deletes the key when value is empty.
func setOrDrop(m map[string]string, key, value string) {
	if value == "" {
		delete(m, key)
		return
	}
	m[key] = value
}

// outputData is the output Secret's data: the standard keys API.md fixes (unless
// spec.target.template.mergePolicy is Replace) and the keys spec.target.template.data
// renders. A template that cannot be rendered is terminal (TemplateInvalid): the Secret
// keeps its last good content until the template is fixed.
func outputData(s *reconcileState) (map[string][]byte, *stepError) {
	data := map[string][]byte{}
	tmpl := s.conn.Spec.Target.Template
	if tmpl == nil || tmpl.MergePolicy != v1alpha1.MergePolicyReplace {
		data = standardData(s)
	}
	if tmpl == nil || len(tmpl.Data) == 0 {
		return data, nil
	}
	texts := make(map[string]string, len(tmpl.Data))
	for k, v := range tmpl.Data {
		texts[k] = string(v)
	}
	rendered, err := outputtemplate.Render(texts, templateData(s))
	if err != nil {
		return nil, terminal(v1alpha1.ReasonTemplateInvalid, "%s; fix spec.target.template (the output Secret keeps its last good content)", err)
	}
	maps.Copy(data, rendered)
	return data, nil
}

// standardData is the five keys API.md fixes.
func standardData(s *reconcileState) map[string][]byte {
	return map[string][]byte{
		v1alpha1.SecretKeyAccessToken:    []byte(s.token.AccessToken),
		v1alpha1.SecretKeyTokenType:      []byte("Bearer"),
		v1alpha1.SecretKeyExpiresAt:      []byte(s.token.ExpiresOn.UTC().Format(time.RFC3339)),
		v1alpha1.SecretKeyEnvironmentURL: []byte(s.env.URL()),
		v1alpha1.SecretKeyWebAPIURL:      []byte(s.env.WebAPIURL()),
	}
}

// templateData is what spec.target.template.data's templates see.
func templateData(s *reconcileState) outputtemplate.Data {
	return outputtemplate.Data{
		AccessToken: s.token.AccessToken, TokenType: "Bearer",
		ExpiresAt: s.token.ExpiresOn.UTC(), IssuedAt: s.token.IssuedAt.UTC(),
		EnvironmentURL: s.env.URL(), WebAPIURL: s.env.WebAPIURL(),
		TenantID: s.conn.Status.TenantID, ClientID: s.cred.ClientID,
		Authority: s.authority.Authority, Resource: s.authority.Resource,
	}
}
