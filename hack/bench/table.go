package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
)

// printTable writes the report as tables: the figures by phase, time to Ready, the refresh
// wave, and the targets with PASS or MISS.
func printTable(out io.Writer, r *report) {
	o := r.Options
	health := "operator default"
	if o.HealthInterval > 0 {
		health = o.HealthInterval.String()
	}
	_, _ = fmt.Fprintf(out, "\nd365-operator benchmark: N=%d connections, K=%d identities, %d environments, "+
		"%d per namespace, token lifetime %s, health interval %s, %d operator process(es), %d CPUs\n",
		o.Connections, o.Identities, o.Environments, o.PerNamespace, o.TokenLifetime, health, o.Shards, r.Machine.CPUs)
	_, _ = fmt.Fprintf(out, "operator flags: %s\n\n", strings.Join(r.Operator.Args, " "))

	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(label string, cell func(p phaseFigures) string) {
		_, _ = fmt.Fprint(tw, label+"\t")
		for _, p := range r.Phases {
			_, _ = fmt.Fprint(tw, cell(p)+"\t")
		}
		_, _ = fmt.Fprintln(tw)
	}
	row("phase", func(p phaseFigures) string { return p.Name })
	row("seconds", func(p phaseFigures) string { return fmt.Sprintf("%.1f", p.Seconds) })
	row("Secret writes (per conn, worst)", func(p phaseFigures) string {
		return fmt.Sprintf("%d (%.2f, %d)", p.SecretWrites, p.SecretWritesPerConn, p.SecretWritesPerConnMax)
	})
	row("status writes (per conn, worst)", func(p phaseFigures) string {
		return fmt.Sprintf("%d (%.2f, %d)", p.StatusWrites, p.StatusWritesPerConn, p.StatusWritesPerConnMax)
	})
	row("token requests (per pair, worst)", func(p phaseFigures) string {
		return fmt.Sprintf("%d (%.2f, %.2f)", p.TokenRequests, p.TokenRequestsPerPair, p.TokenRequestsPerPairMax)
	})
	row("discovery requests", func(p phaseFigures) string { return fmt.Sprint(p.Discoveries) })
	row("WhoAmI (per conn)", func(p phaseFigures) string {
		if p.Name == phaseRest {
			return fmt.Sprintf("%d (%.2f; %.2f/interval)", p.WhoAmI, p.WhoAmIPerConn, p.WhoAmIPerConnPerInterval)
		}
		return fmt.Sprintf("%d (%.2f)", p.WhoAmI, p.WhoAmIPerConn)
	})
	row("privilege checks / health calls, worst pair", func(p phaseFigures) string {
		return fmt.Sprintf("%d / %d", p.Privileges, p.HealthCallsPerPairMax)
	})
	row("other Entra requests / failed", func(p phaseFigures) string {
		return fmt.Sprintf("%d / %d", p.EntraMetadata, p.FailedRequests)
	})
	for _, proc := range append(operatorNames(r), "kube-apiserver", "etcd", "bench", othersName, machineName) {
		row(proc+" CPU s (cores)", func(p phaseFigures) string {
			u := p.Processes[proc]
			return fmt.Sprintf("%.2f (%.2f)", u.CPUSeconds, u.CPUCores)
		})
	}
	for _, proc := range operatorNames(r) {
		row(proc+" peak RSS MiB", func(p phaseFigures) string {
			return fmt.Sprintf("%.1f", p.Processes[proc].PeakRSSMiB)
		})
		row(proc+" VmHWM MiB", func(p phaseFigures) string { return fmt.Sprintf("%.1f", p.Processes[proc].HWMMiB) })
	}
	heapLabel := "operator heap in use MiB"
	if o.Shards > 1 {
		heapLabel = "operator heap in use MiB (all processes)"
	}
	row(heapLabel, func(p phaseFigures) string {
		if p.Metrics == nil {
			return "-"
		}
		return fmt.Sprintf("%.1f", p.Metrics.HeapInuseMiB)
	})
	row("mean reconcile / queue wait ms", func(p phaseFigures) string {
		if p.Metrics == nil {
			return "-"
		}
		return fmt.Sprintf("%.1f / %.1f", p.Metrics.ReconcileSecondsMean*1000, p.Metrics.QueueWaitSecondsMean*1000)
	})
	_ = tw.Flush()

	for _, p := range r.Phases {
		printPhaseDetails(out, p)
	}

	rd := r.Ready
	_, _ = fmt.Fprintf(out, "\ntime to Ready (create sent -> Ready seen): p50 %.2fs  p90 %.2fs  p99 %.2fs  max %.2fs; "+
		"creates took %.2fs; all %d Ready %.2fs after the first create; the control plane alone kept all CPUs busy %.2fs\n",
		rd.P50Seconds, rd.P90Seconds, rd.P99Seconds, rd.MaxSeconds, rd.CreateSeconds, rd.Ready, rd.AllReadySeconds,
		rd.ControlPlaneSeconds)
	if f := r.RequestCosts; f != nil {
		_, _ = fmt.Fprintf(out, "request costs (after the run): kube-apiserver + etcd CPU per request, ms:")
		for _, kind := range requestKinds {
			_, _ = fmt.Fprintf(out, " %s %.2f;", kind, f.CPUMsPerRequest[kind])
		}
		_, _ = fmt.Fprintf(out, " %.1f per connection, %.1fs of all %d CPUs for %d connections\n",
			f.CPUMsPerConnection, f.Seconds, r.Machine.CPUs, r.Ready.Of)
	}
	_, _ = fmt.Fprintf(out, "discovery requests by environment: %v\n", r.DiscoveryByEnvironment)
	if f := r.Shards; f != nil {
		_, _ = fmt.Fprintf(out, "shards: %d processes;", f.Shards)
		for _, p := range f.Processes {
			_, _ = fmt.Fprintf(out, " %s (%s): %d connections, peak RSS %.1f MiB, CPU %.2f s;",
				p.Name, p.Selector, p.Reconciled, p.PeakRSSMiB, p.CPUSeconds)
		}
		_, _ = fmt.Fprintf(out, " reconciled by two %d, by none %d; identities split %d; shard assign would relabel %d\n",
			f.ReconciledByTwo, f.ReconciledByNone, f.IdentitiesSplit, f.AssignWouldRelabel)
	}
	if w := r.Wave; w != nil {
		_, _ = fmt.Fprintf(out, "refresh wave: %d/%d replaced over %.1fs (jitter window %.0fs); "+
			"lag after plan p50 %.2fs p99 %.2fs max %.2fs; least validity left %.0fs; expired %d\n",
			w.Refreshed, w.Of, w.SpanSeconds, w.JitterWindowSeconds,
			w.LagP50Seconds, w.LagP99Seconds, w.LagMaxSeconds, w.MinRemainingSeconds, w.Expired)
		_, _ = fmt.Fprintf(out, "refreshes per %gs bucket: %v (max %d, mean %.1f)\n",
			w.BucketSeconds, w.Histogram, w.MaxPerBucket, w.MeanPerBucket)
	}

	_, _ = fmt.Fprintln(out)
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "target\twant\tfigure\t")
	for _, t := range r.Targets {
		verdict := "PASS"
		if !t.Pass {
			verdict = "MISS"
		}
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, t.Want, t.Figure, verdict)
	}
	_ = tw.Flush()
	for _, p := range r.Phases {
		for _, line := range p.RepeatedWrites {
			_, _ = fmt.Fprintf(out, "%s: %s\n", p.Name, line)
		}
	}
	for _, n := range r.Notes {
		_, _ = fmt.Fprintf(out, "note: %s\n", n)
	}
	for _, f := range r.Files {
		_, _ = fmt.Fprintf(out, "file: %s\n", f)
	}
}

// printPhaseDetails prints the operator's and the API server's metrics for a phase.
func printPhaseDetails(out io.Writer, p phaseFigures) {
	if m := p.Metrics; m != nil && len(m.Reconciles) > 0 {
		_, _ = fmt.Fprintf(out, "%s: operator reconciles %s; operator API requests %s\n",
			p.Name, formatCounts(m.Reconciles), formatCounts(m.APIRequests))
	}
	if c := p.ControlPlane; c != nil && len(c.Requests) > 0 {
		_, _ = fmt.Fprintf(out, "%s: API server requests %s; latency ms %s; etcd ms %s\n",
			p.Name, formatCounts(c.Requests), formatCounts(c.RequestLatencyMs), formatCounts(c.EtcdLatencyMs))
	}
}

// writeJSON writes the report to path.
func writeJSON(path string, r *report) error {
	doc, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(doc, '\n'), 0o644) //nolint:gosec // a report, meant to be read
}
