package transport_test

import (
	"maps"
	"testing"
	"time"

	"github.com/d365-operator/d365-operator/internal/transport"
)

func TestParseHostAliases(t *testing.T) {
	tests := []struct {
		name    string
		flags   []string
		want    map[string]string
		wantErr bool
	}{
		{"no flags give an empty map", nil, map[string]string{}, false},
		{"a bare host implies port 443", []string{"login.microsoftonline.com=127.0.0.1:8443"},
			map[string]string{"login.microsoftonline.com:443": "127.0.0.1:8443"}, false},
		{"an explicit port is kept", []string{"contoso.crm.dynamics.com:8443=127.0.0.1:9443"},
			map[string]string{"contoso.crm.dynamics.com:8443": "127.0.0.1:9443"}, false},
		{"host names are lower-cased", []string{"Login.MicrosoftOnline.com=127.0.0.1:1"},
			map[string]string{"login.microsoftonline.com:443": "127.0.0.1:1"}, false},
		{"comma-separated entries and spaces are accepted", []string{" a.example=127.0.0.1:1 , b.example=[::1]:2", ""},
			map[string]string{"a.example:443": "127.0.0.1:1", "b.example:443": "[::1]:2"}, false},
		{"the same alias twice is fine", []string{"a.example=127.0.0.1:1", "a.example:443=127.0.0.1:1"},
			map[string]string{"a.example:443": "127.0.0.1:1"}, false},
		{"conflicting aliases are an error", []string{"a.example=127.0.0.1:1", "a.example=127.0.0.1:2"}, nil, true},
		{"a missing = is an error", []string{"a.example"}, nil, true},
		{"a target without a port is an error", []string{"a.example=127.0.0.1"}, nil, true},
		{"an empty host is an error", []string{"=127.0.0.1:1"}, nil, true},
		{"a bad port is an error", []string{"a.example:99999=127.0.0.1:1"}, nil, true},
		{"a URL is not a host", []string{"https://a.example=127.0.0.1:1"}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := transport.ParseHostAliases(tc.flags)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want error=%v", err, tc.wantErr)
			}
			if !tc.wantErr && !maps.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		value  string
		want   time.Duration
		wantOK bool
	}{
		{"delay-seconds", "7", 7 * time.Second, true},
		{"fractional seconds, as Dataverse may send", "1.5", 1500 * time.Millisecond, true},
		{"surrounding spaces are ignored", " 60 ", time.Minute, true},
		{"an HTTP date is relative to now", "Sat, 21 Nov 2026 10:00:30 GMT", 30 * time.Second, true},
		{"a past HTTP date means now", "Sat, 21 Nov 2026 09:00:00 GMT", 0, true},
		{"absurd values are capped at a day", "99999999999", 24 * time.Hour, true},
		{"an empty header is absent", "", 0, false},
		{"a negative number is unreadable", "-5", 0, false},
		{"garbage is unreadable", "soon", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := transport.ParseRetryAfter(tc.value, now)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tc.value, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}
