// Command d365-simulator runs the project's simulator of Microsoft Entra ID and the
// Dataverse Web API as a process, for demos and manual testing. It answers for the
// real host names on one local TLS port; clients must trust its CA (--ca-out) and
// dial the hosts through its alias table (--aliases-out).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/d365-operator/d365-operator/internal/simulator"
)

// fileConfig is the YAML shape of --config: simulator.Config with durations as
// strings ("75m") and the CA as file paths.
type fileConfig struct {
	TokenLifetime string `json:"tokenLifetime,omitempty"`
	RefreshIn     string `json:"refreshIn,omitempty"`
	simulator.Config
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "d365-simulator:", err)
		os.Exit(1)
	}
}

func run() error {
	listen := flag.String("listen", "127.0.0.1:8443", "TCP address to listen on")
	configPath := flag.String("config", "", "YAML world description (default: the built-in demo world)")
	caOut := flag.String("ca-out", "", "write the CA certificate (PEM) to this file")
	aliasesOut := flag.String("aliases-out", "", "write host:443=address lines to this file")
	caCert := flag.String("ca-cert", "", "reuse this CA certificate (PEM; with --ca-key)")
	caKey := flag.String("ca-key", "", "reuse this CA private key (PEM; with --ca-cert)")
	lifetime := flag.Duration("token-lifetime", 0, "access-token lifetime (overrides the config; default 75m)")
	printConfig := flag.Bool("print-config", false, "print the demo world as YAML and exit")
	flag.Parse()

	if *printConfig {
		demo := fileConfig{TokenLifetime: simulator.DefaultTokenLifetime.String(), Config: simulator.DefaultConfig()}
		out, err := yaml.Marshal(demo)
		if err != nil {
			return err
		}
		_, err = os.Stdout.Write(out)
		return err
	}
	cfg, err := loadConfig(*configPath)
	if err != nil {
		return err
	}
	cfg.ListenAddr = *listen
	if *lifetime > 0 {
		cfg.TokenLifetime = *lifetime
	}
	if *caCert != "" || *caKey != "" {
		if cfg.CACertPEM, err = os.ReadFile(*caCert); err != nil {
			return err
		}
		if cfg.CAKeyPEM, err = os.ReadFile(*caKey); err != nil {
			return err
		}
	}
	cfg.ErrorLog = log.New(os.Stderr, "d365-simulator: ", log.LstdFlags)

	srv, err := simulator.Start(cfg)
	if err != nil {
		return err
	}
	defer srv.Close()
	if *caOut != "" {
		// A CA certificate is public; other processes (the operator) must read it.
		if err := os.WriteFile(*caOut, srv.CACertPEM(), 0o644); err != nil { //nolint:gosec // public data
			return err
		}
	}
	aliases := srv.HostAliases()
	hosts := make([]string, 0, len(aliases))
	for h := range aliases {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	var lines strings.Builder
	for _, h := range hosts {
		fmt.Fprintf(&lines, "%s=%s\n", h, aliases[h])
	}
	if *aliasesOut != "" {
		if err := os.WriteFile(*aliasesOut, []byte(lines.String()), 0o644); err != nil { //nolint:gosec // public data
			return err
		}
	}
	fmt.Printf("d365-simulator listening on %s\n%s", srv.Addr(), lines.String())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	fmt.Println("d365-simulator: shutting down")
	return nil
}

// loadConfig reads the YAML world, or returns the demo world when path is empty.
func loadConfig(path string) (simulator.Config, error) {
	if path == "" {
		return simulator.DefaultConfig(), nil
	}
	data, err := os.ReadFile(path) //nolint:gosec // the operator of the process names its config file
	if err != nil {
		return simulator.Config{}, err
	}
	var fc fileConfig
	if err := yaml.UnmarshalStrict(data, &fc); err != nil {
		return simulator.Config{}, fmt.Errorf("%s: %w", path, err)
	}
	cfg := fc.Config
	for name, d := range map[string]struct {
		s   string
		dst *time.Duration
	}{"tokenLifetime": {fc.TokenLifetime, &cfg.TokenLifetime}, "refreshIn": {fc.RefreshIn, &cfg.RefreshIn}} {
		if d.s == "" {
			continue
		}
		v, err := time.ParseDuration(d.s)
		if err != nil {
			return simulator.Config{}, fmt.Errorf("%s: %s: %w", path, name, err)
		}
		*d.dst = v
	}
	return cfg, nil
}
