package shard

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	logf.SetLogger(logr.Discard())
	os.Exit(testenv.RunTests(m, "shard tests", func(e *testenv.Env) error {
		env = e
		return nil
	}))
}

func TestIndexIsStableAndSpread(t *testing.T) {
	// Pinned values: a change of hash would move every connection to another shard.
	for key, want := range map[string]int{"client-id:a": 1, "client-id:b": 1, "client-id:c": 2, "client-id:d": 1} {
		if got := Index(key, 3); got != want {
			t.Errorf("Index(%q, 3) = %d, want %d (the hash must not change between releases)", key, got, want)
		}
	}
	counts := make([]int, 4)
	for i := range 4000 {
		counts[Index(fmt.Sprintf("client-id:%08d", i), 4)]++
	}
	for s, n := range counts {
		if n < 800 || n > 1200 {
			t.Errorf("shard %d got %d of 4000 identities, want about 1000: %v", s, n, counts)
		}
	}
	if Index("anything", 1) != 0 {
		t.Error("with one shard everything is the default shard")
	}
}

func TestSelectorsPartitionTheConnections(t *testing.T) {
	const shards = 3
	for _, value := range []string{"", "1", "2"} {
		set := labels.Set{}
		if value != "" {
			set[Label] = value
		}
		matched := 0
		for i := range shards {
			sel, err := ParseSelector(Selector(i, shards))
			if err != nil {
				t.Fatal(err)
			}
			if sel.Matches(set) {
				matched++
				if LabelValue(i) != value {
					t.Errorf("shard %d's selector %q matches label %q", i, Selector(i, shards), value)
				}
			}
		}
		if matched != 1 {
			t.Errorf("label %q is matched by %d shards, want exactly 1", value, matched)
		}
	}
	if sel, err := ParseSelector(Selector(0, 1)); err != nil || sel != nil {
		t.Errorf("one shard: selector %v, %v; want none", sel, err)
	}
	if _, err := ParseSelector("a in (b"); err == nil {
		t.Error("a malformed selector was accepted")
	}
}

// One identity's connections, in any namespace and whether the client ID is inline or in
// a Secret, share a shard; a second run changes nothing; one shard removes the labels.
func TestAssignKeepsAnIdentityTogether(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := env.Client
	ns := []string{fmt.Sprintf("shard-a-%d", time.Now().UnixNano()), fmt.Sprintf("shard-b-%d", time.Now().UnixNano())}
	const identities = 6
	for _, n := range ns {
		mustCreate(t, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}})
		for id := range identities {
			mustCreate(t, c, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: n, Name: fmt.Sprintf("app-%d", id)},
				StringData: map[string]string{"client-id": clientID(id) + "\n", "client-secret": "x"}})
			for j := range 2 {
				conn := connection(n, fmt.Sprintf("c-%d-%d", id, j), id)
				if j == 1 { // the same identity, its client ID written inline and in capitals
					conn.Spec.Auth.ClientSecret.ClientIDRef = nil
					conn.Spec.Auth.ClientSecret.ClientID = fmt.Sprintf("%08X-0000-0000-0000-000000000000", id)
				}
				mustCreate(t, c, conn)
			}
		}
	}
	for _, n := range ns {
		if _, err := Assign(ctx, c, n, 3, false); err != nil {
			t.Fatal(err)
		}
	}
	var list v1alpha1.D365ConnectionList
	if err := c.List(ctx, &list); err != nil {
		t.Fatal(err)
	}
	byIdentity := map[string]map[string]bool{}
	for _, conn := range list.Items {
		if conn.Namespace != ns[0] && conn.Namespace != ns[1] {
			continue
		}
		var id string
		_, _ = fmt.Sscanf(conn.Name, "c-%s", &id)
		id = id[:1]
		if byIdentity[id] == nil {
			byIdentity[id] = map[string]bool{}
		}
		byIdentity[id][conn.Labels[Label]] = true
	}
	shardsUsed := map[string]bool{}
	for id, shards := range byIdentity {
		if len(shards) != 1 {
			t.Errorf("identity %s spread over shards %v, want one", id, shards)
		}
		for s := range shards {
			shardsUsed[s] = true
		}
	}
	if len(shardsUsed) < 2 {
		t.Errorf("%d identities all landed on shards %v", identities, shardsUsed)
	}
	again, err := Assign(ctx, c, ns[0], 3, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range again {
		if a.Changed || !a.Exact {
			t.Errorf("second run: %+v, want unchanged and exact", a)
		}
	}
	if _, err := Assign(ctx, c, ns[0], 1, false); err != nil {
		t.Fatal(err)
	}
	if err := c.List(ctx, &list, client.InNamespace(ns[0]), client.HasLabels{Label}); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 0 {
		t.Errorf("one shard: %d connections still labelled", len(list.Items))
	}
}

// A connection whose client-ID Secret is missing still gets a stable shard, flagged inexact.
func TestAssignFallsBackWithoutTheSecret(t *testing.T) {
	ctx := context.Background()
	n := fmt.Sprintf("shard-c-%d", time.Now().UnixNano())
	mustCreate(t, env.Client, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}})
	mustCreate(t, env.Client, connection(n, "orphan", 99))
	got, err := Assign(ctx, env.Client, n, 4, true)
	if err != nil || len(got) != 1 {
		t.Fatalf("%v, %v", got, err)
	}
	if got[0].Exact {
		t.Errorf("%+v: want the fallback key flagged", got[0])
	}
	want := LabelValue(Index("secrets:"+n+"/app-99", 4))
	if got[0].Shard != want {
		t.Errorf("shard %q, want %q", got[0].Shard, want)
	}
}

func clientID(id int) string { return fmt.Sprintf("%08x-0000-0000-0000-000000000000", id) }

func connection(namespace, name string, id int) *v1alpha1.D365Connection {
	ref := fmt.Sprintf("app-%d", id)
	return &v1alpha1.D365Connection{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: v1alpha1.D365ConnectionSpec{
			EnvironmentURL: "https://contoso.crm.dynamics.com",
			Auth: v1alpha1.AuthSpec{ClientSecret: &v1alpha1.ClientSecretAuth{
				ClientIDRef:     &v1alpha1.SecretKeyRef{Name: ref, Key: "client-id"},
				ClientSecretRef: v1alpha1.SecretKeyRef{Name: ref, Key: "client-secret"},
			}},
		},
	}
}

func mustCreate(t *testing.T, c client.Client, o client.Object) {
	t.Helper()
	if err := c.Create(context.Background(), o); err != nil {
		t.Fatal(err)
	}
}

// Connections that sign in as a ClusterD365Identity share its shard, whatever their
// namespaces, and the identity gets that shard's label too: that shard writes its status.
func TestAssignLabelsAClusterIdentityWithItsConnections(t *testing.T) {
	ctx := context.Background()
	suffix := time.Now().UnixNano()
	id := &v1alpha1.ClusterD365Identity{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("shard-id-%d", suffix)},
		Spec: v1alpha1.ClusterD365IdentitySpec{Auth: v1alpha1.AuthSpec{ClientSecret: &v1alpha1.ClientSecretAuth{
			ClientID: clientID(7), ClientSecretRef: v1alpha1.SecretKeyRef{Name: "app", Key: "client-secret"}}}}}
	mustCreate(t, env.Client, id)
	t.Cleanup(func() { _ = env.Client.Delete(ctx, id) })
	want := LabelValue(Index(ClusterIdentityKey(id.Name), 3))
	for _, team := range []string{"x", "y"} {
		n := fmt.Sprintf("shard-%s-%d", team, suffix)
		mustCreate(t, env.Client, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}})
		mustCreate(t, env.Client, &v1alpha1.D365Connection{ObjectMeta: metav1.ObjectMeta{Namespace: n, Name: "orders"},
			Spec: v1alpha1.D365ConnectionSpec{EnvironmentURL: "https://contoso.crm.dynamics.com",
				IdentityRef: &v1alpha1.IdentityRef{Name: id.Name}}})
	}
	got, err := Assign(ctx, env.Client, "", 3, false)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, a := range got {
		if a.Name == "clusterd365identity/"+id.Name || (a.Name == "orders" && strings.HasSuffix(a.Namespace, fmt.Sprint(suffix))) {
			seen++
			if a.Shard != want || !a.Exact {
				t.Errorf("%+v: want shard %q, exact", a, want)
			}
		}
	}
	if seen != 3 {
		t.Errorf("assigned %d of the identity and its two connections", seen)
	}
	labelled := &v1alpha1.ClusterD365Identity{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(id), labelled); err != nil {
		t.Fatal(err)
	}
	if labelled.Labels[Label] != want {
		t.Errorf("the identity's shard label = %q, want %q", labelled.Labels[Label], want)
	}
}
