package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/simulator"
)

// samplesDir holds one D365Connection per auth kind.
const samplesDir = "config/samples"

// demoSample is a sample the operator can acquire a token for today, and how to make the
// credential Secrets it references from the simulator's demo world.
type demoSample struct {
	file    string
	secrets func(conn *v1alpha1.D365Connection) ([]*corev1.Secret, error)
}

// demoSamples lists the samples whose auth kind the operator supports: the others would
// only report AuthModeNotSupported. Add a row when an auth kind lands.
var demoSamples = []demoSample{
	{file: "d365_v1alpha1_d365connection_clientsecret.yaml", secrets: clientSecretCredentials},
}

// clientSecretCredentials fills the Secrets the sample's clientSecret member names with the
// simulator's demo app. The names and keys come from the sample itself, so editing the
// sample cannot silently break the demo.
func clientSecretCredentials(conn *v1alpha1.D365Connection) ([]*corev1.Secret, error) {
	cs := conn.Spec.Auth.ClientSecret
	if cs == nil {
		return nil, fmt.Errorf("%s has no spec.auth.clientSecret", conn.Name)
	}
	values := secretValues{}
	if cs.ClientIDRef != nil {
		values.set(*cs.ClientIDRef, simulator.DemoClientID)
	}
	values.set(cs.ClientSecretRef, simulator.DemoClientSecret)
	return values.secrets(conn.Namespace), nil
}

// secretValues collects key/value pairs per Secret name.
type secretValues map[string]map[string]string

func (v secretValues) set(ref v1alpha1.SecretKeyRef, value string) {
	if v[ref.Name] == nil {
		v[ref.Name] = map[string]string{}
	}
	v[ref.Name][ref.Key] = value
}

func (v secretValues) secrets(namespace string) []*corev1.Secret {
	out := make([]*corev1.Secret, 0, len(v))
	for name, data := range v {
		out = append(out, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
			Type:       corev1.SecretTypeOpaque,
			StringData: data,
		})
	}
	return out
}

// applySamples creates the namespace, then for each demo sample its credential Secrets and
// the connection itself, and returns the connections.
func applySamples(ctx context.Context, c client.Client, root, namespace string,
	say func(string, ...any)) ([]*v1alpha1.D365Connection, error) {
	if err := createNamespace(ctx, c, namespace); err != nil {
		return nil, err
	}
	var conns []*v1alpha1.D365Connection
	for _, s := range demoSamples {
		path := samplesDir + "/" + s.file
		conn, err := readSample(os.DirFS(root), path)
		if err != nil {
			return nil, err
		}
		conn.Namespace = namespace
		secrets, err := s.secrets(conn)
		if err != nil {
			return nil, err
		}
		for _, sec := range secrets {
			say("Creating Secret %s/%s (the simulator's demo app credentials)", sec.Namespace, sec.Name)
			if err := c.Create(ctx, sec); err != nil {
				return nil, fmt.Errorf("creating Secret %s/%s: %w", sec.Namespace, sec.Name, err)
			}
		}
		say("Applying %s as %s/%s", path, namespace, conn.Name)
		if err := c.Create(ctx, conn); err != nil {
			return nil, fmt.Errorf("creating %s from %s: %w", conn.Name, path, err)
		}
		conns = append(conns, conn)
	}
	return conns, nil
}

// readSample decodes one sample strictly: a field the API does not know is a broken sample.
func readSample(repo fs.FS, path string) (*v1alpha1.D365Connection, error) {
	raw, err := fs.ReadFile(repo, path)
	if err != nil {
		return nil, fmt.Errorf("reading sample: %w", err)
	}
	var conn v1alpha1.D365Connection
	if err := yaml.UnmarshalStrict(raw, &conn); err != nil {
		return nil, fmt.Errorf("parsing sample %s: %w", path, err)
	}
	if conn.Kind != "D365Connection" {
		return nil, fmt.Errorf("sample %s is a %q, not a D365Connection", path, conn.Kind)
	}
	return &conn, nil
}
