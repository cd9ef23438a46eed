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

// options are the simulator's flags.
type options struct {
	listen      string
	configPath  string
	caOut       string
	aliasesOut  string
	caCert      string
	caKey       string
	lifetime    time.Duration
	printConfig bool
}

// BindFlags registers the simulator's flags.
func (o *options) BindFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8443", "TCP address to listen on")
	fs.StringVar(&o.configPath, "config", "", "YAML world description (default: the built-in demo world)")
	fs.StringVar(&o.caOut, "ca-out", "", "write the CA certificate (PEM) to this file")
	fs.StringVar(&o.aliasesOut, "aliases-out", "", "write host:443=address lines to this file")
	fs.StringVar(&o.caCert, "ca-cert", "", "reuse this CA certificate (PEM; with --ca-key)")
	fs.StringVar(&o.caKey, "ca-key", "", "reuse this CA private key (PEM; with --ca-cert)")
	fs.DurationVar(&o.lifetime, "token-lifetime", 0, "access-token lifetime (overrides the config; default 75m)")
	fs.BoolVar(&o.printConfig, "print-config", false, "print the demo world as YAML and exit")
}

// run serves the simulated world until SIGINT or SIGTERM.
func run() error {
	var opts options
	opts.BindFlags(flag.CommandLine)
	flag.Parse()

	if opts.printConfig {
		return printDemoConfig()
	}
	cfg, err := opts.config()
	if err != nil {
		return err
	}
	srv, err := simulator.Start(cfg)
	if err != nil {
		return err
	}
	defer srv.Close()
	if err := opts.announce(srv); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	fmt.Println("d365-simulator: shutting down")
	return nil
}

// printDemoConfig writes the built-in demo world as YAML to stdout, a starting point for
// --config.
func printDemoConfig() error {
	demo := fileConfig{TokenLifetime: simulator.DefaultTokenLifetime.String(), Config: simulator.DefaultConfig()}
	out, err := yaml.Marshal(demo)
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(out)
	return err
}

// config is the world of --config with the flags that override it applied.
func (o *options) config() (simulator.Config, error) {
	cfg, err := loadConfig(o.configPath)
	if err != nil {
		return simulator.Config{}, err
	}
	cfg.ListenAddr = o.listen
	if o.lifetime > 0 {
		cfg.TokenLifetime = o.lifetime
	}
	if o.caCert != "" || o.caKey != "" {
		if cfg.CACertPEM, err = os.ReadFile(o.caCert); err != nil {
			return simulator.Config{}, err
		}
		if cfg.CAKeyPEM, err = os.ReadFile(o.caKey); err != nil {
			return simulator.Config{}, err
		}
	}
	cfg.ErrorLog = log.New(os.Stderr, "d365-simulator: ", log.LstdFlags)
	return cfg, nil
}

// announce tells clients how to reach the running simulator: the CA to trust and the
// host aliases to dial, in the files --ca-out and --aliases-out name and on stdout.
func (o *options) announce(srv *simulator.Server) error {
	if err := writePublicFile(o.caOut, srv.CACertPEM()); err != nil {
		return err
	}
	lines := aliasLines(srv.HostAliases())
	if err := writePublicFile(o.aliasesOut, []byte(lines)); err != nil {
		return err
	}
	fmt.Printf("d365-simulator listening on %s\n%s", srv.Addr(), lines)
	return nil
}

// aliasLines renders host aliases as sorted host=address lines.
func aliasLines(aliases map[string]string) string {
	hosts := make([]string, 0, len(aliases))
	for h := range aliases {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	var lines strings.Builder
	for _, h := range hosts {
		fmt.Fprintf(&lines, "%s=%s\n", h, aliases[h])
	}
	return lines.String()
}

// writePublicFile writes data to path unless path is empty. The data (a CA certificate,
// host aliases) is public, and other processes (the operator) must read it.
func writePublicFile(path string, data []byte) error {
	if path == "" {
		return nil
	}
	return os.WriteFile(path, data, 0o644) //nolint:gosec // public data
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
