package controller

import (
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// update applies mutate to the named connection and writes it.
func (h *harness) update(name string, mutate func(*v1alpha1.D365Connection)) {
	h.t.Helper()
	conn := h.get(name)
	mutate(conn)
	if err := env.Client.Update(h.ctx, conn); err != nil {
		h.t.Fatalf("updating connection %s: %v", name, err)
	}
}

// editSecret applies mutate to the named Secret and writes it, as a person would.
func (h *harness) editSecret(name string, mutate func(*corev1.Secret)) {
	h.t.Helper()
	s := h.secret(name)
	if s == nil {
		h.t.Fatalf("Secret %s not found", name)
	}
	mutate(s)
	if err := env.Client.Update(h.ctx, s); err != nil {
		h.t.Fatalf("updating Secret %s: %v", name, err)
	}
}

func TestSecretTemplateLabelsAndAnnotationsFollowTheTemplate(t *testing.T) {
	h := newHarness(t)
	h.appSecret(clientSecret)
	h.connection("sales", func(c *v1alpha1.D365Connection) {
		c.Labels = map[string]string{"argocd.argoproj.io/instance": "team-a"}
		c.Spec.Target.SecretTemplate = &v1alpha1.SecretTemplate{
			Labels:      map[string]string{"team": "a", "tier": "gold"},
			Annotations: map[string]string{"backup.example.com/skip": "true"},
		}
	})
	h.reconcile("sales")
	s := h.secret("sales-token")
	if s.Labels["team"] != "a" || s.Labels["tier"] != "gold" || s.Annotations["backup.example.com/skip"] != "true" {
		t.Fatalf("template metadata not applied: %v %v", s.Labels, s.Annotations)
	}
	if _, ok := s.Labels["argocd.argoproj.io/instance"]; ok {
		t.Error("the connection's own GitOps label was copied onto the Secret")
	}

	h.editSecret("sales-token", func(s *corev1.Secret) { s.Labels["added-by-someone"] = "x" })
	h.update("sales", func(c *v1alpha1.D365Connection) {
		c.Spec.Target.SecretTemplate = &v1alpha1.SecretTemplate{Labels: map[string]string{"team": "b"}}
	})
	h.reconcile("sales")
	s = h.secret("sales-token")
	if s.Labels["team"] != "b" {
		t.Errorf("changed label not applied: %v", s.Labels)
	}
	if _, ok := s.Labels["tier"]; ok {
		t.Error("a label removed from the template stayed on the Secret")
	}
	if _, ok := s.Annotations["backup.example.com/skip"]; ok {
		t.Error("an annotation removed from the template stayed on the Secret")
	}
	if s.Labels["added-by-someone"] != "x" || s.Labels[v1alpha1.LabelManagedBy] != v1alpha1.ManagedByValue {
		t.Errorf("labels others set, or ours, were removed: %v", s.Labels)
	}
	if n := h.tokenRequests(); n != 1 {
		t.Errorf("%d token requests, want 1: template changes reuse the held token", n)
	}
}

func TestTemplateRendersExtraKeys(t *testing.T) {
	h := newHarness(t)
	h.appSecret(clientSecret)
	h.connection("sales", func(c *v1alpha1.D365Connection) {
		c.Spec.Target.Template = &v1alpha1.OutputTemplate{Data: map[string]v1alpha1.TemplateText{
			"authorization": "Bearer {{ .AccessToken }}",
			"token.json":    `{"access_token": {{ .AccessToken | quote }}, "expires_on": {{ .ExpiresAt | unix }}}`,
			"dataverse.env": "DATAVERSE_URL={{ .WebAPIURL }}\nTENANT={{ .TenantID }}\nCLIENT={{ .ClientID }}\nAUTHORITY={{ .Authority }}\nRESOURCE={{ .Resource }}\nISSUED={{ .IssuedAt | rfc3339 }}\nTYPE={{ .TokenType }}\nENV={{ .EnvironmentURL }}",
		}}
	})
	h.reconcile("sales")
	s := h.secret("sales-token")
	tok := string(s.Data[v1alpha1.SecretKeyAccessToken])
	if tok == "" {
		t.Fatal("Merge (the default) dropped the standard keys")
	}
	want := map[string]string{
		"authorization": "Bearer " + tok,
		"token.json":    `{"access_token": "` + tok + `", "expires_on": ` + strconv.FormatInt(epoch.Add(tokenLife).Unix(), 10) + `}`,
		"dataverse.env": "DATAVERSE_URL=" + envURL + "/api/data/v9.2/\nTENANT=" + tenantID + "\nCLIENT=" + clientID +
			"\nAUTHORITY=https://login.microsoftonline.com/" + tenantID + "/\nRESOURCE=" + envURL + "/\nISSUED=" +
			epoch.Format(time.RFC3339) + "\nTYPE=Bearer\nENV=" + envURL + "/",
	}
	for k, v := range want {
		if got := string(s.Data[k]); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}

	h.update("sales", func(c *v1alpha1.D365Connection) {
		c.Spec.Target.Template.MergePolicy = v1alpha1.MergePolicyReplace
	})
	h.reconcile("sales")
	s = h.secret("sales-token")
	if _, ok := s.Data[v1alpha1.SecretKeyAccessToken]; ok || len(s.Data) != 3 {
		t.Errorf("Replace kept keys other than the rendered ones: %d keys", len(s.Data))
	}
	h.reconcile("sales")
	if n := h.tokenRequests(); n != 1 {
		t.Errorf("%d token requests, want 1 (Replace reuses the held token)", n)
	}
}

func TestTemplateErrorNamesKeyAndLineNeverTheToken(t *testing.T) {
	h := newHarness(t)
	h.appSecret(clientSecret)
	h.connection("sales")
	h.reconcile("sales")
	good := h.secret("sales-token")

	h.update("sales", func(c *v1alpha1.D365Connection) {
		c.Spec.Target.Template = &v1alpha1.OutputTemplate{Data: map[string]v1alpha1.TemplateText{
			"header": "line one\n{{ .AccessToken | nosuchfunc }}",
			"slice":  "{{ slice .AccessToken 0 99999 }}",
		}}
	})
	res := h.reconcile("sales")
	c := h.condition("sales", v1alpha1.ConditionReady)
	if c.Reason != v1alpha1.ReasonTemplateInvalid || !strings.Contains(c.Message, `"header"`) || !strings.Contains(c.Message, "line 2") {
		t.Errorf("Ready = %s (%s), want TemplateInvalid naming key header and line 2", c.Reason, c.Message)
	}
	if res.RequeueAfter != 0 && res.RequeueAfter < 10*time.Minute {
		t.Errorf("a template error is requeued after %v; it waits for a fix (or, holding a valid token, retries long before it expires)", res.RequeueAfter)
	}
	if s := h.secret("sales-token"); string(s.Data[v1alpha1.SecretKeyAccessToken]) != string(good.Data[v1alpha1.SecretKeyAccessToken]) || len(s.Data) != len(good.Data) {
		t.Error("a template error changed the output Secret")
	}

	h.update("sales", func(c *v1alpha1.D365Connection) {
		c.Spec.Target.Template.Data = map[string]v1alpha1.TemplateText{"slice": "{{ slice .AccessToken 0 99999 }}"}
	})
	h.reconcile("sales")
	if c := h.condition("sales", v1alpha1.ConditionReady); c.Reason != v1alpha1.ReasonTemplateInvalid || !strings.Contains(c.Message, "slice") {
		t.Errorf("Ready = %s (%s), want TemplateInvalid for the failing call", c.Reason, c.Message)
	}
	// assertNoLeaks (at cleanup) checks that the token is in no condition, event or log.
}

func TestRenamedTargetDeletesThePreviousSecret(t *testing.T) {
	h := newHarness(t)
	h.appSecret(clientSecret)
	h.connection("sales")
	h.reconcile("sales")
	h.update("sales", func(c *v1alpha1.D365Connection) { c.Spec.Target.Name = "sales-bearer" })
	h.reconcile("sales")
	if h.secret("sales-bearer") == nil {
		t.Fatal("the renamed output Secret was not written")
	}
	if h.secret("sales-token") != nil {
		t.Error("the previous output Secret was left behind")
	}
	if got := h.get("sales").Status.TargetSecretName; got != "sales-bearer" {
		t.Errorf("status.targetSecretName = %q, want the current Secret", got)
	}
	if n := h.tokenRequests(); n != 1 {
		t.Errorf("%d token requests, want 1 (a rename reuses the held token)", n)
	}
}

func TestRenameNeverDeletesASecretOfSomeoneElse(t *testing.T) {
	h := newHarness(t)
	h.appSecret(clientSecret)
	h.connection("billing")
	h.reconcile("billing")
	h.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: "theirs"}, StringData: map[string]string{"k": "v"}})
	h.update("billing", func(c *v1alpha1.D365Connection) { c.Spec.Target.Name = "theirs" })
	h.reconcile("billing")
	if c := h.condition("billing", v1alpha1.ConditionReady); c.Reason != v1alpha1.ReasonTargetSecretConflict {
		t.Errorf("Ready = %s, want TargetSecretConflict", c.Reason)
	}
	if h.secret("billing-token") == nil {
		t.Error("the previous Secret, still holding the valid token, was deleted although the new one could not be written")
	}
}

// Drift in the output Secret is repaired through the owned-Secret watch within seconds,
// from the token already held: no token request, and the managed-by label comes back.
func TestOutputSecretDriftIsRepairedWithoutATokenRequest(t *testing.T) {
	h := newHarness(t)
	h.startManager()
	h.appSecret(clientSecret)
	h.connection("sales")
	h.eventually("Ready", func() bool {
		return h.condition("sales", v1alpha1.ConditionReady).Status == metav1.ConditionTrue
	})
	good := h.secret("sales-token")
	token := string(good.Data[v1alpha1.SecretKeyAccessToken])
	restored := func(s *corev1.Secret) bool {
		return s != nil && string(s.Data[v1alpha1.SecretKeyAccessToken]) == token && len(s.Data) == len(good.Data) &&
			s.Labels[v1alpha1.LabelManagedBy] == v1alpha1.ManagedByValue
	}
	for _, c := range []struct {
		name string
		edit func(*corev1.Secret)
	}{
		{"a deleted key", func(s *corev1.Secret) { delete(s.Data, v1alpha1.SecretKeyWebAPIURL) }},
		{"a hand-edited token", func(s *corev1.Secret) { s.Data[v1alpha1.SecretKeyAccessToken] = []byte("not-a-token") }},
		{"an added key", func(s *corev1.Secret) { s.Data["extra"] = []byte("x") }},
		{"the managed-by label stripped", func(s *corev1.Secret) { delete(s.Labels, v1alpha1.LabelManagedBy) }},
	} {
		h.editSecret("sales-token", c.edit)
		h.eventually(c.name+" repaired", func() bool { return restored(h.secret("sales-token")) })
	}
	if n := h.tokenRequests(); n != 1 {
		t.Errorf("%d token requests, want 1: repairs use the token already held", n)
	}
	if c := h.condition("sales", v1alpha1.ConditionReady); c.Status != metav1.ConditionTrue {
		t.Errorf("Ready = %s (%s: %s) after the repairs", c.Status, c.Reason, c.Message)
	}
}
