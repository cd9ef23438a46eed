package simulator

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"time"
)

// Refresh tokens, device codes and authorization codes are opaque random strings.
// The store keys them by SHA-256 so that the simulator never keeps a usable
// credential in memory longer than needed to compare it.

const (
	// refreshInactivity is Entra ID's rolling refresh-token lifetime (AADSTS700082).
	refreshInactivity = 90 * 24 * time.Hour
	deviceCodeTTL     = 15 * time.Minute
	authCodeTTL       = 10 * time.Minute
	// maxGrants bounds each map; beyond it stale entries go first, then any.
	maxGrants = 100_000
)

type refreshGrant struct {
	tenantID, clientID, userOID string
	issuedAt, lastUsed          time.Time
	seq                         uint64 // issue order, for revocation
}

// revocation is a user's TokensValidFrom: refresh tokens issued before it (by
// issue order, not time, so that a fake clock standing still still orders a
// revocation after the tokens it revokes) are invalid.
type revocation struct {
	at  time.Time
	seq uint64
}

type deviceState int

const (
	devicePending deviceState = iota
	deviceApproved
	deviceDeclined
	deviceRedeemed
)

type deviceGrant struct {
	host      string
	tenantID  string // "" when requested at /common or /organizations
	clientID  string
	scope     string
	userCode  string
	expiresAt time.Time
	state     deviceState
	// set on approval
	userTenantID, userOID string
}

type codeGrant struct {
	tenantID, clientID, userOID string
	redirectURI                 string
	challenge, challengeMethod  string
	scope                       string
	expiresAt                   time.Time
	redeemed                    bool
}

type grantStore struct {
	mu      sync.Mutex
	seq     uint64
	revoked map[string]revocation // tenantID|oid
	refresh map[string]*refreshGrant
	devices map[string]*deviceGrant
	codes   map[string]*codeGrant
}

func (g *grantStore) init() {
	g.refresh = map[string]*refreshGrant{}
	g.revoked = map[string]revocation{}
	g.devices = map[string]*deviceGrant{}
	g.codes = map[string]*codeGrant{}
}

func hashKey(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// prune makes room in m: first entries that stale reports, then arbitrary ones.
func prune[V any](m map[string]V, stale func(V) bool) {
	if len(m) < maxGrants {
		return
	}
	for k, v := range m {
		if stale(v) {
			delete(m, k)
		}
	}
	for k := range m {
		if len(m) < maxGrants {
			return
		}
		delete(m, k)
	}
}

// newRefreshToken issues a refresh token for a user through an app. The "1.A"
// prefix imitates the shape of Entra ID's refresh tokens.
func (g *grantStore) newRefreshToken(tenantID, clientID, userOID string, now time.Time) string {
	rt := "1.AS" + randomID(48)
	g.mu.Lock()
	defer g.mu.Unlock()
	prune(g.refresh, func(r *refreshGrant) bool { return now.Sub(r.lastUsed) > refreshInactivity })
	g.seq++
	g.refresh[hashKey(rt)] = &refreshGrant{tenantID: tenantID, clientID: clientID, userOID: userOID, issuedAt: now, lastUsed: now, seq: g.seq}
	return rt
}

// revoke invalidates the refresh tokens a user holds now.
func (g *grantStore) revoke(tenantID, userOID string, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.revoked[tenantID+"|"+userOID] = revocation{at: now, seq: g.seq}
}

// revokedAt returns the user's TokensValidFrom if the grant was issued before it.
func (g *grantStore) revokedAt(r refreshGrant) (time.Time, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	rev, ok := g.revoked[r.tenantID+"|"+r.userOID]
	return rev.at, ok && r.seq <= rev.seq
}

// useRefreshToken returns the grant of rt as it was before this use, and records
// the use (Entra ID's lifetime is inactivity based).
func (g *grantStore) useRefreshToken(rt string, now time.Time) (refreshGrant, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	r, ok := g.refresh[hashKey(rt)]
	if !ok {
		return refreshGrant{}, false
	}
	before := *r
	if now.Sub(r.lastUsed) <= refreshInactivity {
		r.lastUsed = now
	}
	return before, true
}

// userCodeAlphabet avoids look-alike characters (0/O, 1/I).
const userCodeAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

func newUserCode() string {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = userCodeAlphabet[int(b[i])%len(userCodeAlphabet)]
	}
	return string(b)
}

// newDeviceCode starts a device authorization and returns (device_code, user_code).
func (g *grantStore) newDeviceCode(d deviceGrant, now time.Time) (string, string) {
	dc := "DAQABAAEAAAD" + randomID(48)
	d.userCode = newUserCode()
	d.expiresAt = now.Add(deviceCodeTTL)
	d.state = devicePending
	g.mu.Lock()
	defer g.mu.Unlock()
	prune(g.devices, func(x *deviceGrant) bool { return !now.Before(x.expiresAt) })
	g.devices[hashKey(dc)] = &d
	return dc, d.userCode
}

// deviceByUserCode returns a copy of the pending authorization with this user code.
func (g *grantStore) deviceByUserCode(userCode string, now time.Time) (deviceGrant, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, d := range g.devices {
		if strings.EqualFold(d.userCode, strings.TrimSpace(userCode)) && d.state == devicePending && now.Before(d.expiresAt) {
			return *d, true
		}
	}
	return deviceGrant{}, false
}

// decideDevice approves (userOID != "") or declines a pending authorization.
func (g *grantStore) decideDevice(userCode, userTenantID, userOID string, now time.Time) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, d := range g.devices {
		if strings.EqualFold(d.userCode, strings.TrimSpace(userCode)) && d.state == devicePending && now.Before(d.expiresAt) {
			if userOID == "" {
				d.state = deviceDeclined
			} else {
				d.state, d.userTenantID, d.userOID = deviceApproved, userTenantID, userOID
			}
			return nil
		}
	}
	return errors.New("simulator: no pending device code " + userCode)
}

// pollDevice returns the authorization of a device code; an approved one is marked
// redeemed, so it yields tokens once.
func (g *grantStore) pollDevice(dc string) (deviceGrant, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	d, ok := g.devices[hashKey(dc)]
	if !ok {
		return deviceGrant{}, false
	}
	before := *d
	if d.state == deviceApproved {
		d.state = deviceRedeemed
	}
	return before, true
}

// newAuthCode issues an authorization code.
func (g *grantStore) newAuthCode(c codeGrant, now time.Time) string {
	code := "1.AQ" + randomID(48)
	c.expiresAt = now.Add(authCodeTTL)
	g.mu.Lock()
	defer g.mu.Unlock()
	prune(g.codes, func(x *codeGrant) bool { return !now.Before(x.expiresAt) })
	g.codes[hashKey(code)] = &c
	return code
}

// redeemAuthCode returns the code's grant as it was and marks it redeemed.
func (g *grantStore) redeemAuthCode(code string) (codeGrant, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	c, ok := g.codes[hashKey(code)]
	if !ok {
		return codeGrant{}, false
	}
	before := *c
	c.redeemed = true
	return before, true
}
