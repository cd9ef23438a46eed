package crd_test

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	d365v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// longName is a valid object name of n characters (dot-separated segments of 62).
func longName(n int) string {
	var b strings.Builder
	for b.Len() < n {
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strings.Repeat("a", min(62, n-b.Len())))
	}
	return b.String()
}

func TestBadInputIsRefusedByTheAPIServer(t *testing.T) {
	ns := newNamespace(t, "badinput")
	for name, c := range map[string]struct {
		url, message string
	}{
		"user information in the environment URL": {
			"https://user:pass@contoso.crm.dynamics.com", "must not carry user information"},
		"a port in the environment URL": {"https://contoso.crm.dynamics.com:8443", "must not name a port"},
	} {
		t.Run(name, func(t *testing.T) {
			spec := validSpec()
			spec.EnvironmentURL = c.url
			if err := create(t, ns, spec); err == nil || !strings.Contains(err.Error(), c.message) {
				t.Errorf("err = %v, want a refusal mentioning %q", err, c.message)
			}
		})
	}

	t.Run("a name too long for the default output Secret name", func(t *testing.T) {
		named := metav1.ObjectMeta{Name: longName(250), Namespace: ns}
		conn := &d365v1alpha1.D365Connection{ObjectMeta: named, Spec: validSpec()}
		err := env.Client.Create(context.Background(), conn)
		if err == nil || !strings.Contains(err.Error(), "too long for the default output Secret name") {
			t.Errorf("err = %v, want a refusal naming the output Secret name", err)
		}
		conn = &d365v1alpha1.D365Connection{ObjectMeta: named, Spec: validSpec()}
		conn.Spec.Target.Name = "short-token"
		if err := env.Client.Create(context.Background(), conn); err != nil {
			t.Errorf("a long name with spec.target.name set was refused: %v", err)
		}
	})
}
