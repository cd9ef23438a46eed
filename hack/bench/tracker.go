package main

import (
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// tracker records what the watches see: each write to a connection or an output Secret
// (a watch event carrying a new resourceVersion), when each connection became Ready, and
// every token each output Secret held. All times are when the benchmark received the event.
type tracker struct {
	mu      sync.Mutex
	conns   map[string]*connState // by "namespace/name"
	secrets map[string]*secretState
	writes  []write
	notes   []string // watch trouble worth reporting (expired watches, ...)
}

type connState struct {
	created     time.Time // when the benchmark sent the create
	readyAt     time.Time // first event with Ready=True
	rv          string
	nextRefresh time.Time
	// plannedRefresh is the first nextRefreshTime the status showed: when the first token
	// was due for replacement.
	plannedRefresh time.Time
	expires        time.Time
	status         v1alpha1.D365ConnectionStatus // the last one seen
}

type secretState struct {
	rv     string
	tokens []tokenSeen
}

// tokenSeen is one token an output Secret held, from the first event that showed it.
type tokenSeen struct {
	At      time.Time
	Issued  time.Time
	Expires time.Time
}

type writeKind int

const (
	statusWrite writeKind = iota // a MODIFIED connection (the operator writes only its status)
	secretWrite                  // an ADDED or MODIFIED output Secret
)

type write struct {
	At   time.Time
	Kind writeKind
	Key  string // the connection's "namespace/name" (for Secrets: the owning connection's)
	// Changed names the status fields a status write changed.
	Changed []string
	// Issued is the issue time of the token the write is about: the Secret's issued-at,
	// or the status's lastRefreshTime (zero before the first token).
	Issued time.Time
}

func newTracker() *tracker {
	return &tracker{conns: map[string]*connState{}, secrets: map[string]*secretState{}}
}

// created records that the create of a connection was sent at at.
func (t *tracker) created(key string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.conn(key)
	c.created = at
}

func (t *tracker) conn(key string) *connState {
	c := t.conns[key]
	if c == nil {
		c = &connState{}
		t.conns[key] = c
	}
	return c
}

// connectionEvent records an ADDED or MODIFIED connection.
func (t *tracker) connectionEvent(at time.Time, modified bool, conn *v1alpha1.D365Connection) {
	key := conn.Namespace + "/" + conn.Name
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.conn(key)
	if conn.ResourceVersion == c.rv {
		return
	}
	c.rv = conn.ResourceVersion
	if modified {
		w := write{At: at, Kind: statusWrite, Key: key, Changed: statusChanges(&c.status, &conn.Status)}
		if lr := conn.Status.LastRefreshTime; lr != nil {
			w.Issued = lr.Time
		}
		t.writes = append(t.writes, w)
	}
	c.status = *conn.Status.DeepCopy()
	if c.readyAt.IsZero() && meta.IsStatusConditionTrue(conn.Status.Conditions, v1alpha1.ConditionReady) {
		c.readyAt = at
	}
	if tm := conn.Status.NextRefreshTime; tm != nil {
		c.nextRefresh = tm.Time
		if c.plannedRefresh.IsZero() {
			c.plannedRefresh = tm.Time
		}
	}
	if tm := conn.Status.TokenExpiresAt; tm != nil {
		c.expires = tm.Time
	}
}

// secretEvent records an ADDED or MODIFIED output Secret.
func (t *tracker) secretEvent(at time.Time, secret *corev1.Secret) {
	owner := secret.Namespace + "/" + ownerName(secret)
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.secrets[owner]
	if s == nil {
		s = &secretState{}
		t.secrets[owner] = s
	}
	if secret.ResourceVersion == s.rv {
		return
	}
	s.rv = secret.ResourceVersion
	issued, err1 := time.Parse(time.RFC3339, secret.Annotations[v1alpha1.AnnotationIssuedAt])
	expires, err2 := time.Parse(time.RFC3339, string(secret.Data[v1alpha1.SecretKeyExpiresAt]))
	t.writes = append(t.writes, write{At: at, Kind: secretWrite, Key: owner, Issued: issued})
	if err1 != nil || err2 != nil {
		t.notes = append(t.notes,
			"output Secret "+secret.Namespace+"/"+secret.Name+" has no parsable issued-at or expires_at")
		return
	}
	if n := len(s.tokens); n == 0 || !s.tokens[n-1].Issued.Equal(issued) || !s.tokens[n-1].Expires.Equal(expires) {
		s.tokens = append(s.tokens, tokenSeen{At: at, Issued: issued, Expires: expires})
	}
}

// ownerName is the name of the connection controlling an output Secret ("<name>-token"
// by default; the owner reference says it for sure).
func ownerName(secret *corev1.Secret) string {
	if ref := metav1.GetControllerOf(secret); ref != nil {
		return ref.Name
	}
	return secret.Name
}

func (t *tracker) note(s string) {
	t.mu.Lock()
	t.notes = append(t.notes, s)
	t.mu.Unlock()
}

// readyCount returns how many connections are Ready and when the last one became so.
func (t *tracker) readyCount() (int, time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n, last := 0, time.Time{}
	for _, c := range t.conns {
		if !c.readyAt.IsZero() {
			n++
			if c.readyAt.After(last) {
				last = c.readyAt
			}
		}
	}
	return n, last
}

// refreshTimes returns the earliest planned first refresh, the earliest health check due
// (the last WhoAmI plus interval) and the latest token expiry in status.
func (t *tracker) refreshTimes(interval time.Duration) (earliestRefresh, earliestHealth, latestExpiry time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range t.conns {
		if last := c.status.LastHealthCheckTime; last != nil {
			if due := last.Add(interval); earliestHealth.IsZero() || due.Before(earliestHealth) {
				earliestHealth = due
			}
		}
		if !c.plannedRefresh.IsZero() && (earliestRefresh.IsZero() || c.plannedRefresh.Before(earliestRefresh)) {
			earliestRefresh = c.plannedRefresh
		}
		if c.expires.After(latestExpiry) {
			latestExpiry = c.expires
		}
	}
	return earliestRefresh, earliestHealth, latestExpiry
}

// replaced counts the output Secrets that have held a second token (their first refresh)
// and returns when the last of those second tokens was first seen.
func (t *tracker) replaced() (int, time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n, last := 0, time.Time{}
	for _, s := range t.secrets {
		if len(s.tokens) >= 2 {
			n++
			if s.tokens[1].At.After(last) {
				last = s.tokens[1].At
			}
		}
	}
	return n, last
}

// snapshot copies what the report needs, so computing it does not hold the lock.
func (t *tracker) snapshot() (map[string]connState, map[string][]tokenSeen, []write, []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	conns := make(map[string]connState, len(t.conns))
	for k, c := range t.conns {
		conns[k] = *c
	}
	secrets := make(map[string][]tokenSeen, len(t.secrets))
	for k, s := range t.secrets {
		secrets[k] = append([]tokenSeen(nil), s.tokens...)
	}
	writes := append([]write(nil), t.writes...)
	sort.Slice(writes, func(i, j int) bool { return writes[i].At.Before(writes[j].At) })
	return conns, secrets, writes, append([]string(nil), t.notes...)
}
