package plugin

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/d365-operator/d365-operator/internal/dataverse"
	"github.com/d365-operator/d365-operator/internal/transport"
	"github.com/d365-operator/d365-operator/internal/trust"
)

func whoamiCommand(g *globals) *cobra.Command {
	var (
		caFile                string
		extraEnvironmentHosts []string
		hostAliases           map[string]string
		timeout               time.Duration
	)
	cmd := &cobra.Command{
		Use:   "whoami NAME",
		Short: "Call Dataverse WhoAmI from this machine with the token in a connection's output Secret",
		Long: `Read the token from the connection's output Secret and call WhoAmI on its environment
from this machine: the answer is the application user (or user) the token acts as, its
business unit and organization. Dataverse hosts outside the public and sovereign clouds are
refused unless listed in --extra-environment-hosts. The token is never printed.`,
		Example:           `  kubectl d365 whoami sales -n team-a`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: g.completeConnections,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ns, err := g.client()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			conn, token, err := outputToken(ctx, c, ns, args[0])
			if err != nil {
				return err
			}
			var roots *x509.CertPool
			if caFile != "" {
				pem, err := os.ReadFile(caFile) //nolint:gosec // a file the user names
				if err != nil {
					return err
				}
				if roots, err = x509.SystemCertPool(); err != nil || roots == nil {
					roots = x509.NewCertPool()
				}
				if !roots.AppendCertsFromPEM(pem) {
					return fmt.Errorf("--ca-file %s holds no PEM certificate", caFile)
				}
			}
			httpClient := transport.NewHTTPClient(transport.Options{RootCAs: roots, HostAliases: hostAliases, Timeout: timeout})
			dv := dataverse.NewClient(httpClient, dataverse.WithTrust(trust.NewPolicy(nil, extraEnvironmentHosts)))
			who, err := dv.WhoAmI(ctx, conn.Spec.EnvironmentURL, token)
			if err != nil {
				return fmt.Errorf("WhoAmI on %s: %w", conn.Spec.EnvironmentURL, err)
			}
			_, _ = fmt.Fprintf(g.stdout, "d365connection/%s on %s:\n  UserId:          %s\n  BusinessUnitId:  %s\n  OrganizationId:  %s\n",
				conn.Name, conn.Spec.EnvironmentURL, who.UserID, who.BusinessUnitID, who.OrganizationID)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&caFile, "ca-file", "", "PEM file of more CA certificates to trust (a local simulator).")
	f.StringSliceVar(&extraEnvironmentHosts, "extra-environment-hosts", nil,
		"Dataverse hosts (or .suffixes) to trust besides the built-in ones (a local simulator).")
	f.StringToStringVar(&hostAliases, "host-alias", nil, "host[:port]=ip:port to dial instead, TLS still verified for the host (a local simulator).")
	f.DurationVar(&timeout, "timeout", 30*time.Second, "Timeout of the call.")
	return cmd
}
