// Package shard assigns D365Connections to operator shards (Flux's label-selector scheme):
// each operator Deployment reconciles the connections its --watch-label-selector selects,
// and the label d365.operators.dev/shard says which one. The rule that keeps the figures of
// one replica true across many: every connection of one app registration (client ID) lands
// on the same shard, so its token is still requested once per refresh, by one process.
package shard

import (
	"context"
	"fmt"
	"hash/fnv"
	"reflect"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// Label is the connection label that names its shard.
const Label = v1alpha1.LabelShard

// DefaultShard is the shard of connections without the label, and the status column's
// name for it.
const DefaultShard = "default"

// Index is the shard, 0 to shards-1, of an identity key: FNV-1a, so that it is the same in
// every process and release. Index 0 is the default shard.
func Index(key string, shards int) int {
	if shards <= 1 {
		return 0
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(key))
	return int(h.Sum64() % uint64(shards)) //nolint:gosec // shards > 1, the result fits an int
}

// LabelValue is the label value of shard index; "" for the default shard (no label).
func LabelValue(index int) string {
	if index == 0 {
		return ""
	}
	return strconv.Itoa(index)
}

// Selector is the --watch-label-selector of shard index out of shards: the default shard
// (0) takes every connection without the label, shard n those labelled n. With one shard
// there is no selector: the operator reconciles every connection.
func Selector(index, shards int) string {
	switch {
	case shards <= 1:
		return ""
	case index == 0:
		return "!" + Label
	default:
		return Label + "=" + strconv.Itoa(index)
	}
}

// Of names a connection's shard from its label, for people: "default" without one.
func Of(conn *v1alpha1.D365Connection) string {
	if v := conn.Labels[Label]; v != "" {
		return v
	}
	return DefaultShard
}

// ParseSelector parses --watch-label-selector; "" selects everything (nil).
func ParseSelector(s string) (labels.Selector, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	sel, err := labels.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("--watch-label-selector %q: %w", s, err)
	}
	return sel, nil
}

// IdentityKey is what a connection's shard is hashed from: its app registration's client ID
// (from spec.auth.<kind>.clientID or the Secret key clientIDRef names), lower-cased, so that
// connections of one identity in any namespace share a shard. When the client ID cannot be
// read (a missing Secret), the key is the namespace and the Secrets the connection reads:
// the connection still lands somewhere stable, and `shard assign` says so.
func IdentityKey(ctx context.Context, c client.Reader, conn *v1alpha1.D365Connection) (key string, exact bool) {
	if conn.Spec.IdentityRef != nil {
		return ClusterIdentityKey(conn.Spec.IdentityRef.Name), true
	}
	auth := reflect.ValueOf(&conn.Spec.Auth).Elem()
	for _, member := range auth.Fields() {
		if member.Kind() != reflect.Pointer || member.IsNil() {
			continue
		}
		m := member.Elem()
		if ref, ok := reflect.TypeAssert[*v1alpha1.SecretKeyRef](m.FieldByName("ClientIDRef")); ok && ref != nil {
			if id, err := secretKey(ctx, c, conn.Namespace, *ref); err == nil && id != "" {
				return ClientIDKey(id), true
			}
			break
		}
		if f := m.FieldByName("ClientID"); f.IsValid() && f.String() != "" {
			return ClientIDKey(f.String()), true
		}
	}
	return "secrets:" + conn.Namespace + "/" + strings.Join(referencedSecrets(conn), ","), false
}

// ClusterIdentityKey is the identity key of the connections that sign in as a
// ClusterD365Identity, and of the identity itself: its status is written by the shard that
// holds its connections.
func ClusterIdentityKey(name string) string {
	return "clusterd365identity:" + name
}

// ClientIDKey is the identity key of an app registration's client ID.
func ClientIDKey(clientID string) string {
	return "client-id:" + strings.ToLower(strings.TrimSpace(clientID))
}

func secretKey(ctx context.Context, c client.Reader, namespace string, ref v1alpha1.SecretKeyRef) (string, error) {
	var s corev1.Secret
	if err := c.Get(ctx, types.NamespacedName{Namespace: namespace, Name: ref.Name}, &s); err != nil {
		return "", err
	}
	return strings.TrimSpace(string(s.Data[ref.Key])), nil
}

// referencedSecrets lists, sorted, the names of the Secrets spec.auth references.
func referencedSecrets(conn *v1alpha1.D365Connection) []string {
	seen := map[string]bool{}
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case reflect.Struct:
			switch ref := v.Interface().(type) {
			case v1alpha1.SecretKeyRef:
				seen[ref.Name] = true
				return
			case v1alpha1.SecretRef:
				seen[ref.Name] = true
				return
			}
			for _, field := range v.Fields() {
				walk(field)
			}
		}
	}
	walk(reflect.ValueOf(conn.Spec.Auth))
	names := make([]string, 0, len(seen))
	for n := range seen {
		if n != "" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}
