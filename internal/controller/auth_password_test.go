package controller

import (
	"testing"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// passwordAuth signs in as the user in Secret "user" through client, with the client secret
// of Secret "d365-app" when withSecret.
func passwordAuth(client string, withSecret bool) v1alpha1.AuthSpec {
	up := &v1alpha1.UsernamePasswordAuth{
		ClientID:    client,
		UsernameRef: v1alpha1.SecretKeyRef{Name: "user", Key: "username"},
		PasswordRef: v1alpha1.SecretKeyRef{Name: "user", Key: "password"},
	}
	if withSecret {
		up.ClientSecretRef = &v1alpha1.SecretKeyRef{Name: "d365-app", Key: "client-secret"}
	}
	return v1alpha1.AuthSpec{UsernamePassword: up}
}

func (a *authHarness) userSecret(name, upn, password string) {
	a.secretOf(name, map[string]string{"username": upn, "password": password + "\n"})
}

func TestUsernamePasswordThroughAPublicClientApp(t *testing.T) {
	a := newAuthHarness(t)
	a.userSecret("user", aliceUPN, alicePassword)
	a.connectionWith("sales", envURL, passwordAuth(publicClientID, false))

	a.reconcile("sales")
	claims := a.expectReady("sales")
	if claims.UPN != aliceUPN || claims.AppID != publicClientID || claims.AppIDACR != "0" {
		t.Errorf("token for %q through %s (appidacr %s), want %s through the public client %s", claims.UPN, claims.AppID, claims.AppIDACR, aliceUPN, publicClientID)
	}
	if id := a.get("sales").Status.Identity; id == nil || id.UserID != aliceUserID {
		t.Errorf("WhoAmI identity %+v, want the user's %s", id, aliceUserID)
	}
	if n := a.requests(publicClientID, "password"); n != 1 {
		t.Errorf("%d password grants, want 1", n)
	}

	// A new password in the Secret is a new identity: a token with it at once.
	a.sim.SetUserPassword(tenantID, aliceUPN, alicePassword+"2")
	a.addSecret(alicePassword + "2")
	s := a.secret("user")
	s.Data["password"] = []byte(alicePassword + "2")
	if err := env.Client.Update(a.ctx, s); err != nil {
		t.Fatal(err)
	}
	a.reconcile("sales")
	a.expectReady("sales")
	if n := a.requests(publicClientID, "password"); n != 2 {
		t.Errorf("%d password grants after the password change, want 2", n)
	}
}

// MSAL's password grant sends no client authentication; for an app that requires it, the
// client secret from clientSecretRef is what makes the grant work.
func TestUsernamePasswordThroughAConfidentialApp(t *testing.T) {
	a := newAuthHarness(t)
	a.appSecret(clientSecret)
	a.userSecret("user", aliceUPN, alicePassword)
	a.connectionWith("with-secret", envURL, passwordAuth(clientID, true))
	a.connectionWith("without-secret", envURL, passwordAuth(clientID, false))

	a.reconcile("with-secret")
	if claims := a.expectReady("with-secret"); claims.UPN != aliceUPN || claims.AppIDACR != "1" {
		t.Errorf("token for %q with appidacr %s, want %s authenticated with the client secret (1)", claims.UPN, claims.AppIDACR, aliceUPN)
	}

	a.reconcile("without-secret")
	a.expectFailure("without-secret", v1alpha1.ReasonCredentialRejected, "AADSTS7000218", "clientSecretRef", "Allow public client flows")
	if n := a.requests(clientID, "password"); n != 2 {
		t.Errorf("%d password grants, want 2", n)
	}
}

func TestUsernamePasswordRefusalsRecommendWhatToDo(t *testing.T) {
	a := newAuthHarness(t)
	a.userSecret("user", bobUPN, alicePassword)
	a.connectionWith("mfa", envURL, passwordAuth(publicClientID, false))
	a.reconcile("mfa")
	a.expectFailure("mfa", v1alpha1.ReasonInteractionRequired, "AADSTS50076", "auth.clientCertificate", "auth.workloadIdentity", "auth.delegated", "d365-operator login")
	if !conditionTrue(a.get("mfa"), v1alpha1.ConditionStalled) {
		t.Error("an MFA refusal is not Stalled")
	}

	a.userSecret("wrong", aliceUPN, "not-the-password")
	a.connectionWith("wrong", envURL, passwordAuth(publicClientID, false), func(c *v1alpha1.D365Connection) {
		c.Spec.Auth.UsernamePassword.UsernameRef.Name = "wrong"
		c.Spec.Auth.UsernamePassword.PasswordRef.Name = "wrong"
	})
	a.reconcile("wrong")
	a.expectFailure("wrong", v1alpha1.ReasonCredentialRejected, "AADSTS50126", "user name and password")
	a.addSecret("not-the-password")

	a.connectionWith("no-user", envURL, passwordAuth(publicClientID, false), func(c *v1alpha1.D365Connection) {
		c.Spec.Auth.UsernamePassword.UsernameRef.Name = "missing"
	})
	a.reconcile("no-user")
	a.expectFailure("no-user", v1alpha1.ReasonSecretNotFound, `"missing"`, "auth.usernamePassword.usernameRef")
}
