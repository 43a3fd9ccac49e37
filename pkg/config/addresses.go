package config

// The parsers of addresses and URLs, and the redaction of URLs shown in errors and logs.

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// databaseURL accepts an empty value (SQLite) or a postgres:// or postgresql:// URL.
func databaseURL(c *Config, v string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil {
		return errors.New("not a URL")
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return errors.New("want a postgres:// or postgresql:// URL")
	}
	c.DatabaseURL = v
	return nil
}

func addr(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		*field(c) = v
		host, port, err := net.SplitHostPort(v)
		if err != nil {
			return fmt.Errorf("not a host:port address (IPv6 hosts go in brackets, e.g. [::]:8080): %w", err)
		}
		if host != "" && net.ParseIP(host) == nil && host != "localhost" {
			return fmt.Errorf("host %q must be an IP address, localhost or empty", host)
		}
		if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
			return fmt.Errorf("port %q must be a number from 0 to 65535", port)
		}
		return nil
	}
}

func httpURL(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		*field(c) = strings.TrimRight(v, "/")
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("must be an absolute http:// or https:// URL")
		}
		return nil
	}
}

// hostPortVar parses an optional host:port.
func hostPortVar(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		if v != "" {
			if err := checkHostPort(v); err != nil {
				return err
			}
		}
		*field(c) = v
		return nil
	}
}

// hostPortList parses a comma-separated list of host:port.
func hostPortList(field func(*Config) *[]string) func(*Config, string) error {
	return func(c *Config, v string) error {
		var out []string
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			if err := checkHostPort(s); err != nil {
				return err
			}
			out = append(out, s)
		}
		*field(c) = out
		return nil
	}
}

func checkHostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return fmt.Errorf("%q: want host:port", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q: the port must be 1-65535", s)
	}
	return nil
}

func natsURL(c *Config, v string) error {
	c.NATSURL = v
	for _, s := range strings.Split(v, ",") {
		u, err := url.Parse(strings.TrimSpace(s))
		if err != nil || (u.Scheme != "nats" && u.Scheme != "tls") || u.Host == "" || u.Port() == "" {
			return errors.New("must be nats://host:port (a comma-separated list for a cluster)")
		}
	}
	return nil
}

// RedactURL returns a URL for a log record, an error or a status reply without its
// credentials: the whole user part (a user name and password, or a NATS token written as the
// user, nats://token@host) becomes "REDACTED", and a password query parameter (PostgreSQL's
// ?password=) "xxxxx". A URL that does not parse is not shown at all, since it may hold a
// credential. Every URL a binary logs or shows goes through it (NATS_URL, DATABASE_URL,
// NOTIFIER_URL, IC_URL).
func RedactURL(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "(unparsable URL, not shown)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	if u.User != nil {
		u.User = url.User("REDACTED")
	}
	return u.String()
}

// RedactURLs is RedactURL on each entry of a comma-separated list (a NATS cluster's URLs).
func RedactURLs(v string) string {
	parts := strings.Split(v, ",")
	for i, s := range parts {
		parts[i] = RedactURL(s)
	}
	return strings.Join(parts, ",")
}

func loopbackURL(v string) bool {
	u, err := url.Parse(strings.Split(v, ",")[0])
	if err != nil {
		return false
	}
	if u.Hostname() == "localhost" {
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}

func originList(c *Config, v string) error {
	c.WSAllowedOrigins = splitList(v)
	for _, o := range c.WSAllowedOrigins {
		if o == "*" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
			return fmt.Errorf("origin %q must look like https://example.com (scheme and host, no path) or *", o)
		}
	}
	return nil
}

func proxyList(c *Config, v string) error {
	c.TrustedProxies = []netip.Prefix{} // never nil: "none" trusts no peer
	if strings.EqualFold(v, "none") {
		return nil
	}
	for _, s := range splitList(v) {
		if p, err := netip.ParsePrefix(s); err == nil {
			c.TrustedProxies = append(c.TrustedProxies, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return fmt.Errorf("%q is not an IP address or CIDR (e.g. 10.0.0.0/8, ::1)", s)
		}
		a = a.WithZone("")
		c.TrustedProxies = append(c.TrustedProxies, netip.PrefixFrom(a, a.BitLen()))
	}
	return nil
}
