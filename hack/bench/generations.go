package main

import (
	"math"
	"time"
)

// Writes and token requests "per refresh" are counted per token generation, not per phase:
// each write names the token it is about (the Secret's issued-at, the status's
// lastRefreshTime), so the figures stay right when phases overlap (a slow creation that
// runs into the first refreshes, a wave that outlasts half a lifetime).

// generationFigures are the worst (connection, token) figures of the whole run.
type generationFigures struct {
	// First token (creation): writes for it, worst connection.
	SecretWritesFirstMax int `json:"secretWritesFirstTokenMax"`
	StatusWritesFirstMax int `json:"statusWritesFirstTokenMax"`
	// Refreshed tokens: writes for each, worst (connection, token).
	SecretWritesRefreshMax int `json:"secretWritesPerRefreshMax"`
	StatusWritesRefreshMax int `json:"statusWritesPerRefreshMax"`
	// Refreshes counted (connection, token) pairs after the first token.
	Refreshes int `json:"refreshes"`
	// TokenRequestsPerGeneration: for the worst identity, token requests over the run
	// divided by the token generations its (identity, environment) pairs went through (the
	// most tokens any one of their connections held).
	TokenRequestsPerGeneration float64 `json:"tokenRequestsPerGeneration"`
}

func generationFiguresOf(o options, w world, secrets map[string][]tokenSeen, writes []write,
	tokenRequests map[string]int) generationFigures {
	var g generationFigures
	type genKey struct {
		conn   string
		issued time.Time
	}
	first := map[string]time.Time{} // each connection's first token
	for key, tokens := range secrets {
		if len(tokens) > 0 {
			first[key] = tokens[0].Issued
		}
	}
	secretPer, statusPer := map[genKey]int{}, map[genKey]int{}
	for _, wr := range writes {
		issued := wr.Issued
		if issued.IsZero() { // a status write before the first token: count it with the first
			issued = first[wr.Key]
		}
		k := genKey{conn: wr.Key, issued: issued.UTC()}
		if wr.Kind == secretWrite {
			secretPer[k]++
		} else {
			statusPer[k]++
		}
	}
	isFirst := func(k genKey) bool { return k.issued.Equal(first[k.conn]) }
	for k, n := range secretPer {
		if isFirst(k) {
			g.SecretWritesFirstMax = max(g.SecretWritesFirstMax, n)
		} else {
			g.SecretWritesRefreshMax = max(g.SecretWritesRefreshMax, n)
			g.Refreshes++
		}
	}
	for k, n := range statusPer {
		if isFirst(k) {
			g.StatusWritesFirstMax = max(g.StatusWritesFirstMax, n)
		} else {
			g.StatusWritesRefreshMax = max(g.StatusWritesRefreshMax, n)
		}
	}

	// Token generations per (identity, environment): the most tokens one connection held.
	gens := map[pair]int{}
	for i := range o.Connections {
		ns, name := o.connectionKey(i)
		p := w.assignment(i)
		gens[p] = max(gens[p], len(secrets[ns+"/"+name]))
	}
	perClient := map[string]int{}
	for p, n := range gens {
		perClient[w.Identities[p.Identity].ClientID] += n
	}
	for client, n := range tokenRequests {
		switch {
		case perClient[client] > 0:
			g.TokenRequestsPerGeneration = math.Max(g.TokenRequestsPerGeneration, float64(n)/float64(perClient[client]))
		case n > 0:
			g.TokenRequestsPerGeneration = math.Max(g.TokenRequestsPerGeneration, float64(n))
		}
	}
	return g
}
