package plugin

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// shownClaims are the claims inspect prints: who issued the token, to whom, for what, and
// when. Nothing else of the token is ever printed.
var shownClaims = []string{"aud", "iss", "tid", "appid", "azp", "oid", "upn", "preferred_username", "roles", "scp",
	"iat", "nbf", "exp"}

func inspectCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "inspect NAME",
		Short: "Show the non-secret claims of the token in a connection's output Secret",
		Long: `Read the connection's output Secret and print its token's claims: aud, iss, tid, appid/azp,
oid, upn, roles/scp, iat, nbf and exp. The token itself and its signature are never printed.
Needs get on the output Secret (your RBAC).`,
		Example:           `  kubectl d365 inspect sales -n team-a`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: g.completeConnections,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ns, err := g.client()
			if err != nil {
				return err
			}
			conn, token, err := outputToken(cmd.Context(), c, ns, args[0])
			if err != nil {
				return err
			}
			claims, err := jwtClaims(token)
			if err != nil {
				return fmt.Errorf("the token in Secret %s/%s: %w", ns, secretName(conn), err)
			}
			_, _ = fmt.Fprintf(g.stdout, "d365connection/%s, Secret %s:\n", conn.Name, secretName(conn))
			printClaims(g.stdout, claims, time.Now())
			return nil
		},
	}
}

// secretName is the connection's output Secret.
func secretName(conn *v1alpha1.D365Connection) string {
	switch {
	case conn.Status.TargetSecretName != "":
		return conn.Status.TargetSecretName
	case conn.Spec.Target.Name != "":
		return conn.Spec.Target.Name
	default:
		return conn.Name + "-token"
	}
}

var jwtPattern = regexp.MustCompile(`eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`)

// outputToken reads the access token from the connection's output Secret: its access_token
// key, or, with a template that renamed it, the first value holding a JWT.
func outputToken(ctx context.Context, c client.Client, ns, name string) (*v1alpha1.D365Connection, string, error) {
	conn, err := getConnection(ctx, c, ns, name)
	if err != nil {
		return nil, "", err
	}
	var secret corev1.Secret
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: secretName(conn)}, &secret); err != nil {
		return nil, "", fmt.Errorf("reading the output Secret %s/%s: %w", ns, secretName(conn), err)
	}
	if t := strings.TrimSpace(string(secret.Data[v1alpha1.SecretKeyAccessToken])); t != "" {
		return conn, t, nil
	}
	keys := make([]string, 0, len(secret.Data))
	for k := range secret.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if t := jwtPattern.Find(secret.Data[k]); t != nil {
			return conn, string(t), nil
		}
	}
	return nil, "", fmt.Errorf("the output Secret %s/%s holds no token yet", ns, secretName(conn))
}

// jwtClaims decodes a JWT's payload without verifying it (the operator did, and Dataverse
// will); errors never quote the token.
func jwtClaims(token string) (map[string]any, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a JWT (want three dot-separated parts)")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, errors.New("the JWT's payload is not base64url")
	}
	claims := map[string]any{}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, errors.New("the JWT's payload is not a JSON object")
	}
	return claims, nil
}

// printClaims writes the shown claims that are present; times also in UTC and relative.
func printClaims(w io.Writer, claims map[string]any, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, name := range shownClaims {
		v, ok := claims[name]
		if !ok {
			continue
		}
		var text string
		switch x := v.(type) {
		case float64:
			if name == "iat" || name == "nbf" || name == "exp" {
				t := time.Unix(int64(x), 0).UTC()
				text = fmt.Sprintf("%d  %s  (%s)", int64(x), t.Format(time.RFC3339), relativeTime(t, now))
			} else {
				text = fmt.Sprint(x)
			}
		case []any:
			parts := make([]string, 0, len(x))
			for _, p := range x {
				parts = append(parts, fmt.Sprint(p))
			}
			text = strings.Join(parts, ", ")
		default:
			text = fmt.Sprint(x)
		}
		_, _ = fmt.Fprintf(tw, "  %s:\t%s\n", name, text)
	}
	_ = tw.Flush()
}

func relativeTime(t, now time.Time) string {
	if d := t.Sub(now).Round(time.Second); d >= 0 {
		return "in " + d.String()
	}
	return now.Sub(t).Round(time.Second).String() + " ago"
}
