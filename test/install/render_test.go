package install_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// tool returns the path of a binary that `make test` builds (and names in $HELM, $KUSTOMIZE),
// by default in ./bin. A missing binary fails the test: skipping would let a broken install
// path pass unnoticed.
func tool(t *testing.T, name string) string {
	t.Helper()
	path := os.Getenv(strings.ToUpper(name))
	if path == "" {
		path = filepath.Join(env.RepoRoot, "bin", name)
	}
	if _, err := os.Stat(path); err != nil { //nolint:gosec // G703: a path make passes, in a test
		t.Fatalf("%s is missing (%v): run `make %s` (`make test` builds it first)", path, err, name)
	}
	return path
}

// command runs a binary from the repository root and returns its standard output.
func command(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = env.RepoRoot
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

// decodeYAML splits a multi-document YAML stream into objects, dropping empty documents.
func decodeYAML(raw []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
	var objs []*unstructured.Unstructured
	for {
		var o unstructured.Unstructured
		if err := dec.Decode(&o.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, err
		}
		if len(o.Object) > 0 {
			objs = append(objs, &o)
		}
	}
}

// decode is decodeYAML for tests.
func decode(t *testing.T, raw []byte) []*unstructured.Unstructured {
	t.Helper()
	objs, err := decodeYAML(raw)
	if err != nil {
		t.Fatalf("decoding rendered manifests: %v", err)
	}
	if len(objs) == 0 {
		t.Fatal("the rendered manifests hold no object")
	}
	return objs
}

// createNamespaces creates namespaces for real: a dry run of an object in a namespace that
// does not exist fails, and a dry-run Namespace is never stored.
func createNamespaces(t *testing.T, names ...string) {
	t.Helper()
	for _, name := range names {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if err := env.Client.Create(context.Background(), ns); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("creating namespace %s: %v", name, err)
		}
	}
}

// serverDryRun has the API server validate every object as a server-side apply with
// dryRun=All: schema (including the CRDs' CEL rules), defaulting and admission, nothing
// stored. Every refusal is reported, not just the first.
func serverDryRun(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	ctx := context.Background()
	for _, o := range objs {
		err := env.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(o.DeepCopy()),
			client.FieldOwner("install-test"), client.ForceOwnership, client.DryRunAll)
		if err != nil {
			t.Errorf("the API server refuses %s %s: %v", o.GetKind(), objectName(o), err)
		}
	}
}

func objectName(o *unstructured.Unstructured) string {
	if o.GetNamespace() == "" {
		return o.GetName()
	}
	return o.GetNamespace() + "/" + o.GetName()
}

// find returns the objects of a kind.
func find(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

// only returns the one object of a kind, failing otherwise.
func only(t *testing.T, objs []*unstructured.Unstructured, kind string) *unstructured.Unstructured {
	t.Helper()
	found := find(objs, kind)
	if len(found) != 1 {
		t.Fatalf("want exactly one %s in the rendered manifests, found %d", kind, len(found))
	}
	return found[0]
}

// waitForKind waits until the API server serves a kind (a new CRD takes a moment).
func waitForKind(ctx context.Context, group, version, kind string) error {
	gk := schema.GroupKind{Group: group, Kind: kind}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := env.Client.RESTMapper().RESTMapping(gk, version)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s %s/%s is not served: %w", kind, group, version, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
