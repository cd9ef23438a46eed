package dataverse_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/d365-operator/d365-operator/internal/dataverse"
	"github.com/d365-operator/d365-operator/internal/transport/transporttest"
)

const (
	tenant        = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	realChallenge = "Bearer authorization_uri=https://login.microsoftonline.com/" + tenant + "/oauth2/authorize, resource_id=https://contoso.crm.dynamics.com/"
)

// challengeWith answers every request with status, the given WWW-Authenticate values and body.
func challengeWith(status int, body string, values ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for _, v := range values {
			w.Header().Add("WWW-Authenticate", v)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

func TestDiscover(t *testing.T) {
	publicAuthority := dataverse.Authority{
		TenantID:      tenant,
		AuthorityHost: "https://login.microsoftonline.com",
		Authority:     "https://login.microsoftonline.com/" + tenant + "/",
		Resource:      "https://contoso.crm.dynamics.com/",
	}
	tests := []struct {
		name     string
		envURL   string
		handler  http.HandlerFunc
		wantPath string
		want     dataverse.Authority
	}{
		{"the real challenge gives the tenant's authority and the resource", "https://contoso.crm.dynamics.com",
			challengeWith(401, "", realChallenge), "/api/data/v9.2/", publicAuthority},
		{"a trailing slash on the environment URL changes nothing", "https://contoso.crm.dynamics.com/",
			challengeWith(401, "", realChallenge), "/api/data/v9.2/", publicAuthority},
		{"non-Bearer challenges before the Bearer one are skipped", "https://contoso.crm.dynamics.com",
			challengeWith(401, "", "Negotiate", `Basic realm="x"`, realChallenge), "/api/data/v9.2/", publicAuthority},
		{"an unusable Bearer value before a good one is skipped", "https://contoso.crm.dynamics.com",
			challengeWith(401, "", "Bearer", realChallenge), "/api/data/v9.2/", publicAuthority},
		{"the common tenant becomes organizations", "https://contoso.crm.dynamics.com",
			challengeWith(401, "", "Bearer authorization_uri=https://login.microsoftonline.com/common/oauth2/authorize, resource_id=https://contoso.crm.dynamics.com/"),
			"/api/data/v9.2/", dataverse.Authority{TenantID: "organizations", AuthorityHost: "https://login.microsoftonline.com",
				Authority: "https://login.microsoftonline.com/organizations/", Resource: "https://contoso.crm.dynamics.com/"}},
		{"a resource_id without trailing slash gets one, and hosts are lower-cased", "https://contoso.crm.dynamics.com",
			challengeWith(401, "", "Bearer authorization_uri=https://Login.MicrosoftOnline.US/"+tenant+"/oauth2/authorize, resource_id=https://Contoso.crm.microsoftdynamics.us"),
			"/api/data/v9.2/", dataverse.Authority{TenantID: tenant, AuthorityHost: "https://login.microsoftonline.us",
				Authority: "https://login.microsoftonline.us/" + tenant + "/", Resource: "https://contoso.crm.microsoftdynamics.us/"}},
		{"the Online Management API is probed at /api/aad/challenge", "https://admin.services.crm.dynamics.com",
			challengeWith(401, "", "Bearer authorization_uri=https://login.microsoftonline.com/"+tenant+"/oauth2/authorize, resource_id=https://admin.services.crm.dynamics.com/"),
			"/api/aad/challenge", dataverse.Authority{TenantID: tenant, AuthorityHost: "https://login.microsoftonline.com",
				Authority: "https://login.microsoftonline.com/" + tenant + "/", Resource: "https://admin.services.crm.dynamics.com/"}},
		{"Global Discovery is probed at /api/aad/challenge", "https://globaldisco.crm.dynamics.com",
			challengeWith(401, "", realChallenge), "/api/aad/challenge", publicAuthority},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := transporttest.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodGet || r.URL.Path != tc.wantPath {
					t.Errorf("request %s %s, want GET %s", r.Method, r.URL.Path, tc.wantPath)
				}
				if r.Header.Get("Authorization") != "" {
					t.Error("the discovery probe carried an Authorization header")
				}
				tc.handler(w, r)
			}), hostOf(tc.envURL))
			got, err := dataverse.NewClient(srv.Client()).Discover(context.Background(), tc.envURL)
			if err != nil {
				t.Fatalf("Discover: %v", err)
			}
			if got != tc.want {
				t.Errorf("Discover = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestDiscoverFailures(t *testing.T) {
	tests := []struct {
		name      string
		envURL    string
		handler   http.HandlerFunc
		wantKind  dataverse.Kind
		wantText  string
		wantRetry string
	}{
		{"a 401 without WWW-Authenticate is a discovery failure", "https://contoso.crm.dynamics.com",
			challengeWith(401, ""), dataverse.NoChallenge, "no WWW-Authenticate header", ""},
		{"a 401 with only a malformed challenge quotes it", "https://contoso.crm.dynamics.com",
			challengeWith(401, "", "Bearer resource_id=https://contoso.crm.dynamics.com/"), dataverse.NoChallenge, "lacks authorization_uri", ""},
		{"an authorization_uri without tenant is refused", "https://contoso.crm.dynamics.com",
			challengeWith(401, "", "Bearer authorization_uri=https://login.microsoftonline.com/, resource_id=https://contoso.crm.dynamics.com/"), dataverse.NoChallenge, "names no tenant", ""},
		{"a relative authorization_uri is refused", "https://contoso.crm.dynamics.com",
			challengeWith(401, "", "Bearer authorization_uri=/t/oauth2/authorize, resource_id=https://contoso.crm.dynamics.com/"), dataverse.NoChallenge, "not an absolute URL", ""},
		{"a 200 to an anonymous request is not Dataverse", "https://contoso.crm.dynamics.com",
			challengeWith(200, "<html>"), dataverse.NoChallenge, "HTTP 200", ""},
		{"a 404 means the URL is wrong", "https://contoso.crm.dynamics.com",
			challengeWith(404, ""), dataverse.NoChallenge, "check that spec.environmentURL", ""},
		{"a 429 is throttling with Retry-After", "https://contoso.crm.dynamics.com",
			retryAfter("7", 429, `{"error":{"code":"0x80072322","message":"Number of requests exceeded the limit of 6000 over time window of 300 seconds."}}`),
			dataverse.Throttled, "number of requests", "7s"},
		{"a 503 with Retry-After is throttling", "https://contoso.crm.dynamics.com",
			retryAfter("30", 503, ""), dataverse.Throttled, "HTTP 503", "30s"},
		{"a 502 is an outage", "https://contoso.crm.dynamics.com",
			challengeWith(502, ""), dataverse.Unavailable, "unavailable (HTTP 502)", ""},
		{"plain http is refused without a request", "http://contoso.crm.dynamics.com",
			failOnRequest(t), dataverse.InvalidRequest, "must be https", ""},
		{"a path is refused without a request", "https://contoso.crm.dynamics.com/main.aspx",
			failOnRequest(t), dataverse.InvalidRequest, "no path", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := transporttest.NewServer(t, tc.handler, "contoso.crm.dynamics.com")
			_, err := dataverse.NewClient(srv.Client()).Discover(context.Background(), tc.envURL)
			checkError(t, err, dataverse.OpDiscover, tc.wantKind, tc.wantText, tc.wantRetry)
		})
	}
}

func TestDiscoverUnreachable(t *testing.T) {
	srv := transporttest.NewServer(t, http.NotFoundHandler(), "contoso.crm.dynamics.com")
	client := srv.Client()
	srv.Close()
	_, err := dataverse.NewClient(client).Discover(context.Background(), "https://contoso.crm.dynamics.com")
	checkError(t, err, dataverse.OpDiscover, dataverse.Unavailable, "Could not reach contoso.crm.dynamics.com", "")
}

func TestDiscoverHonoursCancellation(t *testing.T) {
	srv := transporttest.NewServer(t, challengeWith(401, "", realChallenge), "contoso.crm.dynamics.com")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := dataverse.NewClient(srv.Client()).Discover(ctx, "https://contoso.crm.dynamics.com")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want one wrapping context.Canceled", err)
	}
}

func retryAfter(value string, status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", value)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

func failOnRequest(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected request %s %s", r.Method, r.URL)
		w.WriteHeader(http.StatusTeapot)
	}
}

func checkError(t *testing.T, err error, op dataverse.Op, kind dataverse.Kind, text, retry string) {
	t.Helper()
	var de *dataverse.Error
	if !errors.As(err, &de) {
		t.Fatalf("error %v (%T), want *dataverse.Error", err, err)
	}
	if de.Op != op || de.Kind != kind {
		t.Errorf("op %s kind %s, want %s %s (%s)", de.Op, de.Kind, op, kind, de.Message)
	}
	if !strings.Contains(de.Message, text) {
		t.Errorf("message %q lacks %q", de.Message, text)
	}
	if retry != "" && de.RetryAfter.String() != retry {
		t.Errorf("RetryAfter %v, want %s", de.RetryAfter, retry)
	}
	if de.Error() != string(de.Kind)+": "+de.Message {
		t.Errorf("Error() = %q", de.Error())
	}
}

func hostOf(envURL string) string {
	h := strings.TrimPrefix(envURL, "https://")
	return strings.TrimSuffix(h, "/")
}
