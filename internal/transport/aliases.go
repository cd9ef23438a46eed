package transport

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// ParseHostAliases reads host-alias entries as given to an operator flag: "host=ip:port"
// (port 443 implied on the left) or "host:port=ip:port". An entry may also hold several
// comma-separated aliases. The result maps lower-cased "host:port" to "ip:port".
func ParseHostAliases(flags []string) (map[string]string, error) {
	out := map[string]string{}
	for _, flag := range flags {
		for entry := range strings.SplitSeq(flag, ",") {
			entry = strings.TrimSpace(entry)
			if entry == "" {
				continue
			}
			from, to, err := parseAlias(entry)
			if err != nil {
				return nil, err
			}
			if prev, dup := out[from]; dup && prev != to {
				return nil, fmt.Errorf("host alias %q: %s is already aliased to %s", entry, from, prev)
			}
			out[from] = to
		}
	}
	return out, nil
}

// parseAlias splits one "host[:port]=ip:port" entry.
func parseAlias(entry string) (from, to string, err error) {
	left, right, found := strings.Cut(entry, "=")
	if !found {
		return "", "", fmt.Errorf("host alias %q: want host=ip:port or host:port=ip:port", entry)
	}
	left, right = strings.TrimSpace(left), strings.TrimSpace(right)

	host, port := left, "443"
	if h, p, splitErr := net.SplitHostPort(left); splitErr == nil {
		host, port = h, p
	}
	if host == "" || strings.ContainsAny(host, "/@ ") {
		return "", "", fmt.Errorf("host alias %q: %q is not a host name", entry, left)
	}
	if !validPort(port) {
		return "", "", fmt.Errorf("host alias %q: %q is not a port", entry, port)
	}

	th, tp, splitErr := net.SplitHostPort(right)
	if splitErr != nil || th == "" || !validPort(tp) {
		return "", "", fmt.Errorf("host alias %q: target %q must be ip:port", entry, right)
	}
	return strings.ToLower(net.JoinHostPort(host, port)), net.JoinHostPort(th, tp), nil
}

// validPort reports whether p is a TCP port number.
func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n > 0 && n < 65536
}
