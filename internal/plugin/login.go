package plugin

import (
	"github.com/spf13/cobra"

	"github.com/d365-operator/d365-operator/internal/login"
)

// loginCommand is `d365-operator login`, unchanged: its own flags, parsed by it.
func loginCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "login --environment-url URL --client-id ID --secret NAME [flags]",
		Short: "Sign a user in for auth.delegated and store the token cache in a Secret",
		Long: `Sign a user in (browser or --device-code) and write the MSAL token cache the operator
refreshes from into a Secret: the same command as d365-operator login. Run
kubectl d365 login --help for its flags.`,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, a := range args {
				if a == "--help" || a == "-h" || a == "-help" {
					_, _ = cmd.OutOrStdout().Write([]byte(cmd.Long + "\n\n"))
					break
				}
			}
			if code := login.Main(args, g.stdout, g.stderr); code != 0 {
				return exitCode(code)
			}
			return nil
		},
	}
}
