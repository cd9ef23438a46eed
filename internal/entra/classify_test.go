package entra

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"

	"github.com/d365-operator/d365-operator/internal/transport"
	"github.com/d365-operator/d365-operator/internal/trust"
)

// testSecret stands in for a client secret; no error message may ever contain it.
const testSecret = "Xy7~Q8.testSecretValue-never-printed_0123456789" //nolint:gosec // a fake

// aad renders an Entra ID error body in the documented shape (older \r\n separators).
func aad(errCode string, code int, description string) string {
	return fmt.Sprintf(`{"error":%q,"error_description":"AADSTS%d: %s\r\nTrace ID: 0d4ab2c0-0000-0000-0000-000000000000\r\nCorrelation ID: 1e5bc3d1-0000-0000-0000-000000000000\r\nTimestamp: 2024-12-18 23:10:03Z","error_codes":[%d],"timestamp":"2024-12-18 23:10:03Z","trace_id":"0d4ab2c0-0000-0000-0000-000000000000","correlation_id":"1e5bc3d1-0000-0000-0000-000000000000","error_uri":"https://login.microsoftonline.com/error?code=%d"}`,
		errCode, code, description, code, code)
}

func TestClassifyEntraAnswers(t *testing.T) {
	id := Identity{Authority: "https://login.microsoftonline.com/contoso-tenant/", ClientID: "11111111-2222-3333-4444-555555555555", Credential: ClientSecret(testSecret)}
	tests := []struct {
		name       string
		method     string
		status     int
		retryAfter string
		body       string
		wantKind   Kind
		wantAADSTS int
		wantText   []string
	}{
		{"a wrong secret (2022+ wording) asks for the secret's value", http.MethodPost, 401, "",
			aad("invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '11111111-2222-3333-4444-555555555555'."),
			InvalidClientSecret, 7000215,
			[]string{"AADSTS7000215", "Invalid client secret provided.", "VALUE, not its secret ID"}},
		{"a wrong secret (2021 wording) is classified the same", http.MethodPost, 401, "",
			aad("invalid_client", 7000215, "Invalid client secret is provided."),
			InvalidClientSecret, 7000215, []string{"AADSTS7000215"}},
		{"an expired secret asks for a new one", http.MethodPost, 401, "",
			aad("invalid_client", 7000222, "The provided client secret keys for app '11111111-2222-3333-4444-555555555555' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds."),
			ClientSecretExpired, 7000222,
			[]string{"AADSTS7000222", "are expired.", "Create a new client secret"}},
		{"an unknown application names the client id and tenant", http.MethodPost, 400, "",
			aad("unauthorized_client", 700016, "Application with identifier '11111111-2222-3333-4444-555555555555' was not found in the directory 'Contoso'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."),
			ApplicationNotFound, 700016,
			[]string{"AADSTS700016", "was not found in the directory 'Contoso'.", "client ID 11111111-2222-3333-4444-555555555555", "tenant contoso-tenant"}},
		{"an unknown tenant from the OpenID configuration GET", http.MethodGet, 400, "",
			aad("invalid_tenant", 90002, "Tenant 'contoso-tenant' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."),
			TenantNotFound, 90002,
			[]string{"AADSTS90002", "OpenID configuration request of tenant contoso-tenant", "Tenant 'contoso-tenant' not found."}},
		{"an unknown tenant from the token POST (older invalid_request)", http.MethodPost, 400, "",
			aad("invalid_request", 90002, "Tenant 'contoso-tenant' not found."),
			TenantNotFound, 90002, []string{"AADSTS90002"}},
		{"a missing service principal for the environment", http.MethodPost, 400, "",
			aad("invalid_resource", 500011, "The resource principal named https://contoso.crm.dynamics.com was not found in the tenant named Contoso. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."),
			ResourceNotFound, 500011, []string{"AADSTS500011", "https://contoso.crm.dynamics.com was not found"}},
		{"an invalid scope", http.MethodPost, 400, "",
			aad("invalid_scope", 70011, "The provided value for the input parameter 'scope' isn't valid. The scope https://example.contoso.com/activity.read isn't valid."),
			InvalidScope, 70011, []string{"AADSTS70011", "/.default"}},
		{"a scope without /.default", http.MethodPost, 400, "",
			aad("invalid_scope", 1002012, "The provided value for scope https://contoso.crm.dynamics.com is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."),
			InvalidScope, 1002012, []string{"AADSTS1002012"}},
		{"no credential sent is a rejected credential", http.MethodPost, 401, "",
			aad("invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."),
			CredentialRejected, 7000218, []string{"AADSTS7000218"}},
		{"another invalid_client is a rejected credential", http.MethodPost, 401, "",
			aad("invalid_client", 7000999, "Something new."),
			CredentialRejected, 7000999, []string{"AADSTS7000999"}},
		{"MFA required (v1 interaction_required)", http.MethodPost, 400, "",
			aad("interaction_required", 50076, "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '00000007-0000-0000-c000-000000000000'."),
			InteractionRequired, 50076, []string{"AADSTS50076", "Multi-factor authentication"}},
		{"MFA required (v2 invalid_grant) is still interaction", http.MethodPost, 400, "",
			aad("invalid_grant", 50079, "Due to a configuration change made by your administrator, you must enroll in multi-factor authentication."),
			InteractionRequired, 50079, nil},
		{"Conditional Access block", http.MethodPost, 400, "",
			aad("invalid_grant", 53003, "Access has been blocked by Conditional Access policies."),
			InteractionRequired, 53003, nil},
		{"an external security challenge", http.MethodPost, 400, "",
			aad("interaction_required", 50158, "External security challenge not satisfied."),
			InteractionRequired, 50158, nil},
		{"an inactive refresh token means sign in again", http.MethodPost, 400, "",
			aad("invalid_grant", 700082, "The refresh token has expired due to inactivity. The token was issued on 2024-01-01T00:00:00Z and was inactive for 90.00:00:00."),
			SignInExpired, 700082, []string{"AADSTS700082", "sign in again"}},
		{"a revoked refresh token means sign in again", http.MethodPost, 400, "",
			aad("invalid_grant", 50173, "The provided grant has expired due to it being revoked, a fresh auth token is needed."),
			SignInExpired, 50173, nil},
		{"a plain-text 429 is throttling with Retry-After", http.MethodPost, 429, "60", "Too Many Requests",
			Throttled, 0, []string{"HTTP 429 (Too Many Requests)", "retrying after 1m0s"}},
		{"a JSON 429 is throttling", http.MethodPost, 429, "7",
			aad("temporarily_unavailable", 90055, "The tenant is being throttled."),
			Throttled, 90055, []string{"AADSTS90055", "retrying after 7s"}},
		{"a 503 with Retry-After is throttling", http.MethodPost, 503, "5", "",
			Throttled, 0, []string{"HTTP 503"}},
		{"a 503 without Retry-After is an outage", http.MethodPost, 503, "", "",
			Unavailable, 0, []string{"unavailable"}},
		{"a 500 is an outage", http.MethodPost, 500, "", "<html>oops</html>",
			Unavailable, 0, nil},
		{"an unknown 400 is a retryable failure", http.MethodPost, 400, "",
			aad("invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'."),
			RequestFailed, 900144, []string{"AADSTS900144"}},
		{"error_codes missing: the code comes from the description", http.MethodPost, 401, "",
			`{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}`,
			InvalidClientSecret, 7000215, nil},
		{"a description that echoes the secret is redacted", http.MethodPost, 401, "",
			aad("invalid_client", 7000215, "Invalid client secret "+testSecret+" provided."),
			InvalidClientSecret, 7000215, []string{"[redacted]"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, "https://login.microsoftonline.com/contoso-tenant/oauth2/v2.0/token", strings.NewReader("client_secret="+testSecret))
			resp := &http.Response{StatusCode: tc.status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(tc.body))}
			if tc.retryAfter != "" {
				resp.Header.Set("Retry-After", tc.retryAfter)
			}
			// MSAL's own text embeds the URL and body: wrap it as MSAL does.
			callErr := msalerrors.CallErr{Req: req, Resp: resp, Err: fmt.Errorf("http call(%s)(%s) error: reply status code was %d:\n%s", req.URL, tc.method, tc.status, tc.body)}
			err := classify(fmt.Errorf("wrapped: %w", callErr), id, "contoso-tenant", time.Now())

			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("classify = %T %v, want *Error", err, err)
			}
			if e.Kind != tc.wantKind || e.AADSTS != tc.wantAADSTS || e.StatusCode != tc.status {
				t.Errorf("got kind %s AADSTS %d status %d; want %s %d %d\nmessage: %s",
					e.Kind, e.AADSTS, e.StatusCode, tc.wantKind, tc.wantAADSTS, tc.status, e.Message)
			}
			for _, want := range tc.wantText {
				if !strings.Contains(e.Message, want) {
					t.Errorf("message %q lacks %q", e.Message, want)
				}
			}
			for _, leak := range []string{testSecret, "Trace ID", "Correlation ID", "http call(", "\n"} {
				if strings.Contains(e.Error(), leak) {
					t.Errorf("message contains %q", strings.ReplaceAll(leak, testSecret, "<the secret>"))
				}
			}
		})
	}
}

func TestClassifyLocalFailures(t *testing.T) {
	id := Identity{Authority: "https://login.microsoftonline.com/t/", ClientID: "c", Credential: ClientSecret(testSecret)}
	refused := trust.NewPolicy(nil, nil).CheckAuthority(&url.URL{Scheme: "https", Host: "login.evil.example"})
	tests := []struct {
		name      string
		err       error
		wantKind  Kind // empty: a *trust.Error
		wantCause error
	}{
		{"a trust refusal from the guard stays a trust error",
			fmt.Errorf("server response error:\n %w", &url.Error{Op: "Post", URL: "https://login.evil.example/t", Err: refused}), "", nil},
		{"a refused connection is an outage",
			fmt.Errorf("server response error:\n %w", &url.Error{Op: "Post", URL: "https://login.microsoftonline.com/t/oauth2/v2.0/token?x=1", Err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}}),
			Unavailable, nil},
		{"a deadline is an outage that unwraps to the context error",
			fmt.Errorf("server response error:\n %w", context.DeadlineExceeded), Unavailable, context.DeadlineExceeded},
		{"an oversized answer is a request failure",
			fmt.Errorf("could not read the body of an HTTP Response: %w", transport.ErrBodyTooLarge), RequestFailed, nil},
		{"an MSAL validation error is a request failure, redacted",
			errors.New("ResolveEndpoints(): issuer mismatch for " + testSecret), RequestFailed, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := classify(tc.err, id, "t", time.Now())
			if strings.Contains(err.Error(), testSecret) {
				t.Fatal("the message contains the secret")
			}
			if tc.wantKind == "" {
				if _, ok := errors.AsType[*trust.Error](err); !ok {
					t.Fatalf("got %T %v, want *trust.Error", err, err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Kind != tc.wantKind {
				t.Fatalf("got %v, want %s", err, tc.wantKind)
			}
			if tc.wantCause != nil && !errors.Is(err, tc.wantCause) {
				t.Errorf("%v does not unwrap to %v", err, tc.wantCause)
			}
		})
	}
}

func TestFirstSentence(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"the AADSTS prefix and trace tail go", "AADSTS7000215: Invalid client secret provided. Ensure the secret…\r\nTrace ID: x\r\nCorrelation ID: y", "Invalid client secret provided."},
		{"space-separated tails go too", "AADSTS7000222: The provided client secret keys are expired. Trace ID: x Correlation ID: y Timestamp: z", "The provided client secret keys are expired."},
		{"a single sentence without period is kept", "AADSTS50049: Unknown or invalid instance", "Unknown or invalid instance"},
		{"URLs with dots stay whole", "The resource principal named https://contoso.crm.dynamics.com was not found. More.", "The resource principal named https://contoso.crm.dynamics.com was not found."},
		{"empty stays empty", "", ""},
		{"long text is capped", strings.Repeat("a", 500), strings.Repeat("a", 300) + "…"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := firstSentence(tc.in); got != tc.want {
				t.Errorf("firstSentence(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
