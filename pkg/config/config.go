// Package config reads canistry's configuration from the environment (optionally merged with a
// .env file). Every variable, its default and its validation live in one table, vars; Load
// reports every problem at once, each naming its variable, so a bad value stops a binary at
// start with a message an operator can act on.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/joho/godotenv"
	"github.com/robfig/cron/v3"
)

// Config is the whole configuration of all three binaries.
type Config struct {
	DataDir      string
	DatabasePath string
	// DatabaseURL, when set, is a postgres:// URL: every binary uses PostgreSQL instead of
	// the SQLite file. DatabaseMaxConns and DatabaseStatementTimeout tune its pool.
	DatabaseURL              string
	DatabaseMaxConns         int
	DatabaseStatementTimeout time.Duration

	APIAddr      string
	NotifierAddr string
	PollerAddr   string
	NotifierURL  string
	IPv6Only     bool

	NATSURL   string
	NATSEmbed bool
	NATSToken string
	// NATSCluster* join the embedded server into a NATS cluster (one node per api host).
	NATSClusterName   string
	NATSClusterListen string
	NATSClusterRoutes []string

	ICURL                   string
	ICFetchRootKey          bool
	ICVerifyQuerySignatures bool

	RefreshSchedule    string
	RefreshConcurrency int
	RefreshTimeout     time.Duration
	RefreshRate        float64
	StatsRetention     time.Duration

	NotificationsRetention time.Duration

	NotifyAPIKeys    []string
	AdminAPIKey      string
	DedupWindow      time.Duration
	WSAllowedOrigins []string
	TrustedProxies   []netip.Prefix

	EventLogPoll     time.Duration
	EventLogHoldBack time.Duration

	WebhookTimeout   time.Duration
	WebhookRetryBase time.Duration
	WebhookRetries   int

	UseHTTPS    bool
	SSLCertPath string
	SSLKeyPath  string
	LocalDev    bool

	LogLevel          slog.Level
	ShutdownTimeout   time.Duration
	HeartbeatInterval time.Duration
}

// Var describes one environment variable.
type Var struct {
	Name    string
	Default string // "" means unset; defaults may refer to other variables ($DATA_DIR)
	Doc     string
	set     func(c *Config, v string) error
}

// Vars returns the table of every variable, in documentation order.
func Vars() []Var { return vars }

// secrets are the variables whose values are never printed, not even in an error.
var secrets = map[string]bool{"NATS_TOKEN": true, "NOTIFY_API_KEYS": true, "ADMIN_API_KEY": true}

// urlVars may carry a user or password inside the URL; errors show them redacted.
var urlVars = map[string]bool{"NATS_URL": true, "NOTIFIER_URL": true, "IC_URL": true, "DATABASE_URL": true}

// Secret reports whether the variable holds a secret: its value never appears in an error.
// URLs (NATS_URL, NOTIFIER_URL, IC_URL) are not secret as a whole, but any user or password in
// them is redacted.
func (v Var) Secret() bool { return secrets[v.Name] }

var vars = []Var{
	{"DATA_DIR", "./data", "directory of the SQLite database", func(c *Config, v string) error { c.DataDir = v; return nonEmpty(v) }},
	{"DATABASE_PATH", "$DATA_DIR/registry.db", "SQLite file shared by the three binaries", func(c *Config, v string) error { c.DatabasePath = v; return nonEmpty(v) }},
	{"DATABASE_URL", "", "postgres://user:password@host:5432/db?sslmode=verify-full: use PostgreSQL instead of the SQLite file (several hosts); empty = SQLite", databaseURL},
	{"DATABASE_MAX_CONNS", "10", "PostgreSQL read connections per process (writes use one more)", intRange(1, 1000, func(c *Config) *int { return &c.DatabaseMaxConns })},
	{"DATABASE_STATEMENT_TIMEOUT", "30s", "PostgreSQL statement_timeout; a statement cut off by it is answered 503 unavailable (0 = the server's)", durRange(0, time.Hour, func(c *Config) *time.Duration { return &c.DatabaseStatementTimeout })},
	{"API_ADDR", "[::]:8080", "api listen address ([::] is dual-stack; [::1] or an IPv6 address alone is IPv6-only)", addr(func(c *Config) *string { return &c.APIAddr })},
	{"NOTIFIER_ADDR", "[::]:8081", "notifier listen address", addr(func(c *Config) *string { return &c.NotifierAddr })},
	{"POLLER_ADDR", "[::1]:8082", "poller health and metrics address", addr(func(c *Config) *string { return &c.PollerAddr })},
	{"IPV6_ONLY", "false", "api and notifier accept IPv6 only, even on [::] (IPV6_V6ONLY)", boolVar(func(c *Config) *bool { return &c.IPv6Only })},
	{"NOTIFIER_URL", "http://[::1]:8081", "where the api proxies /ws, /ws-status, /test and /miner-notifications", httpURL(func(c *Config) *string { return &c.NotifierURL })},
	{"NATS_URL", "nats://127.0.0.1:4222", "NATS server; the embedded server listens on its host and port", natsURL},
	{"NATS_EMBED", "true", "the api runs the NATS server itself", boolVar(func(c *Config) *bool { return &c.NATSEmbed })},
	{"NATS_CLUSTER_LISTEN", "", "host:port the embedded NATS server takes cluster routes on; set it on every api host to join their servers into one cluster (needs NATS_TOKEN)", hostPortVar(func(c *Config) *string { return &c.NATSClusterListen })},
	{"NATS_CLUSTER_ROUTES", "", "comma-separated host:port route addresses of the cluster's nodes (this node's own may be listed too)", hostPortList(func(c *Config) *[]string { return &c.NATSClusterRoutes })},
	{"NATS_CLUSTER_NAME", "canistry", "the NATS cluster's name, the same on every node", func(c *Config, v string) error { c.NATSClusterName = v; return nil }},
	{"NATS_TOKEN", "", "NATS auth token (required when the embedded server listens beyond loopback); unset: generated once per data directory into nats.token beside the database (0600)", func(c *Config, v string) error { c.NATSToken = v; return nil }},
	{"IC_URL", "https://icp-api.io", "IC API boundary node or local replica", httpURL(func(c *Config) *string { return &c.ICURL })},
	{"IC_FETCH_ROOT_KEY", "false", "fetch the root key from IC_URL (only for a local replica or the double)", boolVar(func(c *Config) *bool { return &c.ICFetchRootKey })},
	{"IC_VERIFY_QUERY_SIGNATURES", "true", "verify replica node signatures on query replies", boolVar(func(c *Config) *bool { return &c.ICVerifyQuerySignatures })},
	{"REFRESH_SCHEDULE", "@every 1m", "cron schedule of the poller's sweeps", schedule},
	{"REFRESH_CONCURRENCY", "16", "canisters refreshed at once (1-1024)", intRange(1, 1024, func(c *Config) *int { return &c.RefreshConcurrency })},
	{"REFRESH_TIMEOUT", "30s", "deadline of one canister's refresh", durRange(time.Second, time.Hour, func(c *Config) *time.Duration { return &c.RefreshTimeout })},
	{"REFRESH_RATE", "100", "calls per second towards the IC (0 = unlimited)", floatRange(0, 1e6, func(c *Config) *float64 { return &c.RefreshRate })},
	{"STATS_RETENTION", "720h", "how long miner_stats rows are kept (Go duration, or Nd for days)", durRange(time.Hour, 100*365*24*time.Hour, func(c *Config) *time.Duration { return &c.StatsRetention })},
	{"NOTIFICATIONS_RETENTION", "2160h", "how long the outcall log (notifications, WebSocket replay history) is kept", durRange(24*time.Hour, 100*365*24*time.Hour, func(c *Config) *time.Duration { return &c.NotificationsRetention })},
	{"NOTIFY_API_KEYS", "", "comma-separated keys accepted in X-API-Key on /miner-notifications", keyList},
	{"ADMIN_API_KEY", "", "bearer token for REST writes and the /system/status detail; writes are refused while it is unset", adminKey},
	{"DEDUP_WINDOW", "5m", "how long a notification's dedup key is remembered (minimum 3m, the outcall window)", dedupWindow},
	{"EVENT_LOG_POLL", "1s", "how often the notifier's hub reads the event log when no bus doorbell rang (the delay of events during a bus outage)", durRange(10*time.Millisecond, time.Minute, func(c *Config) *time.Duration { return &c.EventLogPoll })},
	{"EVENT_LOG_HOLD_BACK", "2s", "how long the hub waits for a missing event id that may still commit (several writers) before delivering past it", durRange(10*time.Millisecond, 5*time.Minute, func(c *Config) *time.Duration { return &c.EventLogHoldBack })},
	{"WEBHOOK_TIMEOUT", "10s", "deadline of one webhook delivery attempt: connect, TLS handshake, reply headers and in total", durRange(time.Second, 5*time.Minute, func(c *Config) *time.Duration { return &c.WebhookTimeout })},
	{"WEBHOOK_RETRY_BASE", "5s", "wait before a failed webhook delivery's first retry; each next wait doubles (±25 % jitter)", durRange(time.Millisecond, time.Hour, func(c *Config) *time.Duration { return &c.WebhookRetryBase })},
	{"WEBHOOK_RETRIES", "14", "retries of one event before its webhook is marked failing (14 with the 5s base: about 23 h in all)", intRange(1, 30, func(c *Config) *int { return &c.WebhookRetries })},
	{"WS_ALLOWED_ORIGINS", "", "comma-separated origins allowed on /ws; empty = same host only; * = any", originList},
	{"TRUSTED_PROXIES", "127.0.0.0/8,::1", "comma-separated IPs or CIDRs of reverse proxies whose X-Forwarded-* headers the notifier believes (the api's proxy connects from loopback); none = trust no proxy", proxyList},
	{"USE_HTTPS", "false", "serve TLS on the api and the notifier", boolVar(func(c *Config) *bool { return &c.UseHTTPS })},
	{"SSL_CERT_PATH", "", "certificate chain (PEM), required with USE_HTTPS", func(c *Config, v string) error { c.SSLCertPath = v; return nil }},
	{"SSL_KEY_PATH", "", "private key (PEM), required with USE_HTTPS", func(c *Config, v string) error { c.SSLKeyPath = v; return nil }},
	{"LOCAL_DEV", "false", "development mode: self-signed certificates, /test simulation buttons", boolVar(func(c *Config) *bool { return &c.LocalDev })},
	{"LOG_LEVEL", "info", "debug, info, warn or error", logLevel},
	{"SHUTDOWN_TIMEOUT", "10s", "graceful shutdown budget of each binary", durRange(100*time.Millisecond, 5*time.Minute, func(c *Config) *time.Duration { return &c.ShutdownTimeout })},
	{"HEARTBEAT_INTERVAL", "5s", "how often each binary writes its processes row", durRange(100*time.Millisecond, time.Minute, func(c *Config) *time.Duration { return &c.HeartbeatInterval })},
}

// Load builds a Config from getenv, applying defaults, and returns every problem found joined
// into one error.
func Load(getenv func(string) string) (Config, error) {
	var c Config
	var errs []error
	resolved := map[string]string{}
	for _, v := range vars {
		val := strings.TrimSpace(getenv(v.Name))
		if val == "" {
			val = os.Expand(v.Default, func(k string) string { return resolved[k] })
		}
		resolved[v.Name] = val
		if err := v.set(&c, val); err != nil {
			switch {
			case v.Secret():
				errs = append(errs, fmt.Errorf("%s (value not shown): %w", v.Name, err))
			case urlVars[v.Name]:
				errs = append(errs, fmt.Errorf("%s=%q: %w", v.Name, redactURLs(val), err))
			default:
				errs = append(errs, fmt.Errorf("%s=%q: %w", v.Name, val, err))
			}
		}
	}
	if c.UseHTTPS && (c.SSLCertPath == "" || c.SSLKeyPath == "") {
		errs = append(errs, errors.New("USE_HTTPS=true needs SSL_CERT_PATH and SSL_KEY_PATH"))
	}
	if c.NATSClusterListen != "" && (!c.NATSEmbed || c.NATSToken == "") {
		errs = append(errs, errors.New("NATS_CLUSTER_LISTEN needs NATS_EMBED=true and NATS_TOKEN (the same token on every node: it authenticates clients and routes)"))
	}
	if c.NATSEmbed && c.NATSToken == "" && !loopbackURL(c.NATSURL) {
		errs = append(errs, fmt.Errorf("NATS_TOKEN is required when the embedded NATS server listens on NATS_URL=%s (not loopback)", redactURLs(c.NATSURL)))
	}
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("invalid configuration: %w", errors.Join(errs...))
	}
	return c, nil
}

// WithDotenv returns a getenv that prefers the real environment and falls back to the values of
// the .env file at path. A missing file is not an error; a malformed one is.
func WithDotenv(getenv func(string) string, path string) (func(string) string, error) {
	if path == "" {
		return getenv, nil
	}
	m, err := godotenv.Read(path)
	if errors.Is(err, os.ErrNotExist) {
		return getenv, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return m[k]
	}, nil
}

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

func nonEmpty(v string) error {
	if v == "" {
		return errors.New("must not be empty")
	}
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

// redactURLs returns a comma-separated list of URLs with any user and password replaced by
// "REDACTED"; an entry that does not parse is replaced whole, since it may hold a credential.
func redactURLs(v string) string {
	parts := strings.Split(v, ",")
	for i, s := range parts {
		s = strings.TrimSpace(s)
		u, err := url.Parse(s)
		switch {
		case err != nil:
			parts[i] = "(unparsable, not shown)"
		case u.User != nil:
			u.User = url.User("REDACTED")
			parts[i] = u.String()
		default:
			parts[i] = s
		}
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

func boolVar(field func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errors.New("must be true or false")
		}
		*field(c) = b
		return nil
	}
}

func intRange(lo, hi int, field func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("must be a whole number from %d to %d", lo, hi)
		}
		*field(c) = n
		return nil
	}
}

func floatRange(lo, hi float64, field func(*Config) *float64) func(*Config, string) error {
	return func(c *Config, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < lo || f > hi || f != f {
			return fmt.Errorf("must be a number from %g to %g", lo, hi)
		}
		*field(c) = f
		return nil
	}
}

// ParseDuration accepts Go durations and a whole number of days written "30d".
func ParseDuration(v string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 {
			return 0, errors.New("days must be a whole number, e.g. 30d")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(v)
}

func durRange(lo, hi time.Duration, field func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := ParseDuration(v)
		if err != nil {
			return errors.New("must be a duration such as 30s, 5m, 720h or 30d")
		}
		if d < lo || d > hi {
			return fmt.Errorf("must be between %s and %s", lo, hi)
		}
		*field(c) = d
		return nil
	}
}

func schedule(c *Config, v string) error {
	c.RefreshSchedule = v
	if _, err := cron.ParseStandard(v); err != nil {
		return fmt.Errorf("not a cron schedule (e.g. \"@every 1m\" or \"*/5 * * * *\"): %w", err)
	}
	return nil
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// MinKeyLen is the shortest API key accepted.
const MinKeyLen = 16

func keyList(c *Config, v string) error {
	c.NotifyAPIKeys = splitList(v)
	for i, k := range c.NotifyAPIKeys {
		if len(k) < MinKeyLen {
			return fmt.Errorf("key %d is %d characters; each key needs at least %d", i+1, len(k), MinKeyLen)
		}
	}
	return nil
}

func adminKey(c *Config, v string) error {
	c.AdminAPIKey = v
	if v != "" && len(v) < MinKeyLen {
		return fmt.Errorf("must be at least %d characters", MinKeyLen)
	}
	return nil
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

func logLevel(c *Config, v string) error {
	if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
		return errors.New("must be debug, info, warn or error")
	}
	return nil
}
