package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/simulator"
)

// The platform-team part of the demo: one ClusterD365Identity, its credential in the
// platform namespace, and the identityRef sample applied in two team namespaces: one the
// identity names, one its label selector picks once the demo labels it.
const (
	// platformNamespace holds the identity's credential; the operator runs with
	// --cluster-resource-namespace naming it, as the chart's clusterResourceNamespace does.
	platformNamespace = "d365-system"
	identitySample    = "d365_v1alpha1_clusterd365identity.yaml"
	identityConnFile  = "d365_v1alpha1_d365connection_identityref.yaml"
	// labelledTeam is the team namespace the identity allows by its selector, not by name.
	labelledTeam = "team-b"
)

// platform is the identity sample, the connection sample that uses it, and what the demo
// makes for them: the app's secret (a fresh random value, never printed) and the teams.
type platform struct {
	identity *v1alpha1.ClusterD365Identity
	conn     *v1alpha1.D365Connection
	clientID string
	secret   string
	// named is the team namespace allowedNamespaces.names lists; selected gets the
	// selector's labels from the demo, after its connection was refused.
	named, selected string
	selectorLabels  map[string]string
}

// loadPlatform reads the two samples strictly. The identity must sign in with clientSecret
// and a literal clientID, name at least one namespace and select by matchLabels: what the
// demo knows how to fulfil.
func loadPlatform(root string) (*platform, error) {
	repo := os.DirFS(root)
	id := &v1alpha1.ClusterD365Identity{}
	if err := readStrict(repo, samplesDir+"/"+identitySample, id, "ClusterD365Identity"); err != nil {
		return nil, err
	}
	conn := &v1alpha1.D365Connection{}
	if err := readStrict(repo, samplesDir+"/"+identityConnFile, conn, "D365Connection"); err != nil {
		return nil, err
	}
	cs := id.Spec.Auth.ClientSecret
	allowed := id.Spec.AllowedNamespaces
	switch {
	case cs == nil || cs.ClientID == "":
		return nil, fmt.Errorf("%s: the demo signs in with auth.clientSecret and a literal clientID", identitySample)
	case len(allowed.Names) == 0 || slices.Contains(allowed.Names, labelledTeam):
		return nil, fmt.Errorf("%s: the demo needs a namespace in allowedNamespaces.names, and %s left to the selector",
			identitySample, labelledTeam)
	case allowed.Selector == nil || len(allowed.Selector.MatchLabels) == 0:
		return nil, fmt.Errorf("%s: the demo needs allowedNamespaces.selector.matchLabels", identitySample)
	case conn.Spec.IdentityRef == nil || conn.Spec.IdentityRef.Name != id.Name:
		return nil, fmt.Errorf("%s does not sign in as ClusterD365Identity %q", identityConnFile, id.Name)
	}
	secret := make([]byte, 24)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	return &platform{identity: id, conn: conn, clientID: cs.ClientID, secret: base64.RawURLEncoding.EncodeToString(secret),
		named: allowed.Names[0], selected: labelledTeam, selectorLabels: allowed.Selector.MatchLabels}, nil
}

// readStrict decodes one sample strictly into obj: a field the API does not know is a
// broken sample.
func readStrict(repo fs.FS, path string, obj client.Object, kind string) error {
	raw, err := fs.ReadFile(repo, path)
	if err != nil {
		return fmt.Errorf("reading sample: %w", err)
	}
	if err := yaml.UnmarshalStrict(raw, obj); err != nil {
		return fmt.Errorf("parsing sample %s: %w", path, err)
	}
	if got := obj.GetObjectKind().GroupVersionKind().Kind; got != kind {
		return fmt.Errorf("sample %s is a %q, not a %s", path, got, kind)
	}
	return nil
}

// teams are the two team namespaces.
func (p *platform) teams() []string { return []string{p.named, p.selected} }

// register adds the platform team's app to the simulated tenant, with the demo's secret,
// and makes it an application user of the demo environment.
func (p *platform) register(cfg *simulator.Config) {
	for i := range cfg.Tenants {
		if cfg.Tenants[i].ID == simulator.DemoTenantID {
			cfg.Tenants[i].Apps = append(cfg.Tenants[i].Apps, simulator.App{ClientID: p.clientID,
				DisplayName: "the platform team's app (ClusterD365Identity sample)",
				Secrets:     []simulator.Secret{{Value: p.secret}}})
		}
	}
	for i := range cfg.Environments {
		if cfg.Environments[i].Host == simulator.DemoEnvironmentHost {
			cfg.Environments[i].ApplicationUsers = append(cfg.Environments[i].ApplicationUsers,
				simulator.ApplicationUser{ClientID: p.clientID})
		}
	}
}

// createNamespaces creates the platform and team namespaces; none has the selector's
// labels yet.
func (p *platform) createNamespaces(ctx context.Context, c client.Client) error {
	for _, ns := range append([]string{platformNamespace}, p.teams()...) {
		if err := createNamespace(ctx, c, ns); err != nil {
			return err
		}
	}
	return nil
}

// apply creates the credential Secret in the platform namespace, the identity, and the
// connection in each team namespace, and returns the connections.
func (p *platform) apply(ctx context.Context, c client.Client,
	say func(string, ...any)) ([]*v1alpha1.D365Connection, error) {
	ref := p.identity.Spec.Auth.ClientSecret.ClientSecretRef
	ns := ref.Namespace
	if ns == "" {
		ns = platformNamespace
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: ref.Name},
		StringData: map[string]string{ref.Key: p.secret}}
	say("Creating Secret %s/%s (the platform team's app secret, made by the demo: no team connection names it)",
		ns, ref.Name)
	if err := c.Create(ctx, secret); err != nil {
		return nil, fmt.Errorf("creating Secret %s/%s: %w", ns, ref.Name, err)
	}
	say("Applying %s/%s: ClusterD365Identity %s, allowing %s",
		samplesDir, identitySample, p.identity.Name, p.allowedText())
	if err := c.Create(ctx, p.identity.DeepCopy()); err != nil {
		return nil, fmt.Errorf("creating ClusterD365Identity %s: %w", p.identity.Name, err)
	}
	var conns []*v1alpha1.D365Connection
	for _, team := range p.teams() {
		conn := p.conn.DeepCopy()
		conn.Namespace = team
		say("Applying %s/%s as %s/%s (spec.identityRef: %s, no Secret of its own)",
			samplesDir, identityConnFile, team, conn.Name, p.identity.Name)
		if err := c.Create(ctx, conn); err != nil {
			return nil, fmt.Errorf("creating %s/%s: %w", team, conn.Name, err)
		}
		conns = append(conns, conn)
	}
	return conns, nil
}

// allowedText is allowedNamespaces as the progress lines say it.
func (p *platform) allowedText() string {
	return fmt.Sprintf("namespaces %s and those labelled %s", strings.Join(p.identity.Spec.AllowedNamespaces.Names, ", "),
		labels.SelectorFromSet(p.selectorLabels))
}

// admitLabelledTeam shows the guard and then lifts it: the selected team's connection is
// refused (IdentityNotAllowed, no token requested) until the demo gives its namespace the
// selector's labels, which the operator notices at once.
func (p *platform) admitLabelledTeam(ctx context.Context, c client.Client, conns []*v1alpha1.D365Connection,
	op *operator, timeout time.Duration, say func(string, ...any)) (refusal string, err error) {
	i := slices.IndexFunc(conns, func(cn *v1alpha1.D365Connection) bool { return cn.Namespace == p.selected })
	if i < 0 {
		return "", fmt.Errorf("no connection in namespace %s", p.selected)
	}
	conn := conns[i]
	cond, err := waitReason(ctx, c, conn, v1alpha1.ReasonIdentityNotAllowed, op, timeout)
	if err != nil {
		return "", err
	}
	refusal = fmt.Sprintf("%s/%s: Ready=%s, reason %s: %s",
		conn.Namespace, conn.Name, cond.Status, cond.Reason, cond.Message)
	say("%s", refusal)
	say("Labelling namespace %s %s (the identity's allowedNamespaces.selector)",
		p.selected, labels.SelectorFromSet(p.selectorLabels))
	ns := &corev1.Namespace{}
	if err := c.Get(ctx, client.ObjectKey{Name: p.selected}, ns); err != nil {
		return "", fmt.Errorf("reading namespace %s: %w", p.selected, err)
	}
	base := ns.DeepCopy()
	if ns.Labels == nil {
		ns.Labels = map[string]string{}
	}
	maps.Copy(ns.Labels, p.selectorLabels)
	if err := c.Patch(ctx, ns, client.MergeFrom(base)); err != nil {
		return "", fmt.Errorf("labelling namespace %s: %w", p.selected, err)
	}
	return refusal, nil
}

// tokenRequests is how many token requests for the identity's app the simulator answered
// with a token: one for both teams, since connections of one identity share its token.
func (p *platform) tokenRequests(sim *simulator.Server) int {
	return sim.CountRequests(func(r simulator.Request) bool {
		return strings.EqualFold(r.ClientID, p.clientID) && r.Grant == "client_credentials" && r.Status == 200
	})
}
