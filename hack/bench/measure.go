package main

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// The run's phases, one after the other:
//   idle      the operator started, nothing to reconcile yet (its baseline)
//   creation  the N connections are created, until all are Ready (plus -settle)
//   rest      a quiet period: every token is fresh, no refresh or health check is due
//   wave      the first refresh of every token (plus -settle)
// Writes, simulator requests, CPU and memory are attributed to phases by time.

const (
	phaseIdle     = "idle"
	phaseCreation = "creation"
	phaseRest     = "rest"
	phaseWave     = "wave"
	// restMargin keeps the rest phase clear of the first refresh (whole seconds in status).
	restMargin = 2 * time.Second
)

// measure runs the phases.
func (b *bench) measure(ctx context.Context) error {
	b.scrape(ctx, "start")
	idleStart := time.Now()
	if err := sleepUntil(ctx, idleStart.Add(2*time.Second)); err != nil {
		return err
	}
	t0 := time.Now()
	b.addPhase(ctx, phaseIdle, idleStart, t0)

	// A guess at the creation phase's length, for its CPU profile.
	guess := min(max(10*time.Second, time.Duration(b.o.Connections)*10*time.Millisecond), 2*time.Minute)
	creationProfile := b.profiler.cpu(ctx, phaseCreation, guess)
	b.logf("Creating %d connections in %d namespaces", b.o.Connections, b.o.namespaces())
	took, err := createConnections(ctx, b.client, b.o, b.w, func(i int, at time.Time) {
		ns, name := b.o.connectionKey(i)
		b.tracker.created(ns+"/"+name, at)
	})
	if err != nil {
		return err
	}
	b.logf("Created in %.1fs; waiting for all to be Ready", took.Seconds())
	lastReady, ready := b.waitAllReady(ctx, t0)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if !ready {
		n, _ := b.tracker.readyCount()
		b.logf("Only %d of %d connections became Ready within %s; the operator's log ends with:\n%s",
			n, b.o.Connections, b.o.ReadyTimeout, b.logTails())
		b.addPhase(ctx, phaseCreation, t0, time.Now())
		<-creationProfile
		return nil
	}
	b.logf("All Ready %.2fs after the first create", lastReady.Sub(t0).Seconds())
	restStart := lastReady.Add(b.o.Settle)
	if err := sleepUntil(ctx, restStart); err != nil {
		return err
	}
	b.addPhase(ctx, phaseCreation, t0, restStart)
	b.profiler.heap(ctx, "after-creation")

	earliest, health, latestExpiry := b.tracker.refreshTimes(b.o.healthInterval())
	if !health.IsZero() && health.Before(earliest) {
		b.tracker.note(fmt.Sprintf("the rest phase ends at the first health check, %.0fs before the first refresh",
			earliest.Sub(health).Seconds()))
		earliest = health
	}
	restEnd := earliest.Add(-restMargin)
	waveStart := restStart
	if restEnd.After(restStart.Add(time.Second)) {
		b.logf("Resting until %.0fs before the first refresh is due (%.0fs)",
			restMargin.Seconds(), restEnd.Sub(restStart).Seconds())
		if err := sleepUntil(ctx, restEnd); err != nil {
			return err
		}
		b.addPhase(ctx, phaseRest, restStart, restEnd)
		waveStart = restEnd
	} else {
		b.tracker.note(fmt.Sprintf("no rest phase: the first refresh was due %.1fs after all were Ready; "+
			"raise -token-lifetime",
			earliest.Sub(lastReady).Seconds()))
	}
	<-creationProfile
	if b.o.SkipWave {
		return nil
	}
	return b.refreshWave(ctx, waveStart, latestExpiry)
}

// refreshWave waits until every output Secret has held a second token, or until a little
// after the last first token expired.
func (b *bench) refreshWave(ctx context.Context, start, latestExpiry time.Time) error {
	jitterWindow := b.o.TokenLifetime / 10 // a fifth of half the lifetime (the default window)
	profile := b.profiler.cpu(ctx, phaseWave, time.Until(start.Add(jitterWindow+restMargin+b.o.Settle)))
	deadline := latestExpiry.Add(30 * time.Second)
	b.logf("Waiting for the refresh wave (every token replaced; gives up at %s)", deadline.Format("15:04:05"))
	var last time.Time
	for {
		n, l := b.tracker.replaced()
		last = l
		if n >= b.o.Connections {
			break
		}
		if time.Now().After(deadline) {
			b.logf("Only %d of %d tokens were replaced by %s", n, b.o.Connections, deadline.Format("15:04:05"))
			break
		}
		if err := b.alive(); err != nil {
			return err
		}
		if err := sleepUntil(ctx, time.Now().Add(200*time.Millisecond)); err != nil {
			return err
		}
	}
	end := time.Now()
	if !last.IsZero() {
		end = last.Add(b.o.Settle)
	}
	if err := sleepUntil(ctx, end); err != nil {
		return err
	}
	b.logf("Refresh wave done: %.1fs from its start to the last replaced token", last.Sub(start).Seconds())
	b.addPhase(ctx, phaseWave, start, end)
	b.profiler.heap(ctx, "after-wave")
	<-profile
	return nil
}

// waitAllReady waits until every connection is Ready; it returns when the last became so.
func (b *bench) waitAllReady(ctx context.Context, t0 time.Time) (time.Time, bool) {
	deadline := t0.Add(b.o.ReadyTimeout)
	lastLog := time.Now()
	for {
		n, last := b.tracker.readyCount()
		if n >= b.o.Connections {
			return last, true
		}
		if time.Now().After(deadline) || b.alive() != nil || ctx.Err() != nil {
			return last, false
		}
		if time.Since(lastLog) > 10*time.Second {
			b.logf("%d of %d Ready", n, b.o.Connections)
			lastLog = time.Now()
		}
		if sleepUntil(ctx, time.Now().Add(50*time.Millisecond)) != nil {
			return last, false
		}
	}
}

// addPhase records a phase and scrapes the operator's metrics at its end.
func (b *bench) addPhase(ctx context.Context, name string, start, end time.Time) {
	b.phases = append(b.phases, phase{Name: name, Start: start, End: end})
	b.scrape(ctx, name)
	b.sampler.sampleOnce()
}

// scrape reads the operator's and the API server's metrics at the end of phase name.
func (b *bench) scrape(ctx context.Context, name string) {
	b.scrapes[name] = b.scrapeOperators(ctx)
	b.apiScrapes[name] = scrapeMetrics(ctx, b.apiHTTP, strings.TrimSuffix(b.env.Config.Host, "/")+"/metrics")
}

// sleepUntil sleeps until t or until ctx ends.
func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
