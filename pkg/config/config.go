// Package config reads canistry's configuration from the environment (optionally merged with a
// .env file). Every variable, its default and its validation live in one table, vars; Load
// reports every problem at once, each naming its variable, so a bad value stops a binary at
// start with a message an operator can act on.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/joho/godotenv"
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

	DiscoverSchedule  string // "" when DISCOVER_SCHEDULE is off
	SNSWasmCanisterID string

	NotifyAPIKeys    []string
	AdminAPIKey      string
	DedupWindow      time.Duration
	WSAllowedOrigins []string
	TrustedProxies   []netip.Prefix

	// AdminAuthFailures wrong admin keys from one source within AdminAuthWindow make the api
	// refuse its bearer attempts (429) until the window ends.
	AdminAuthFailures int
	AdminAuthWindow   time.Duration

	EventLogPoll     time.Duration
	EventLogHoldBack time.Duration

	// RelayRoutes is the outcall relay's routes file (pkg/relay); "" means no relay.
	RelayRoutes string
	// RelayLease is how long a notifier holds a running relay call without renewing it.
	RelayLease time.Duration

	// Rate limits of new notifications and new relay calls, per notifier process: a rate
	// (per second, 0 = unlimited) and its burst.
	NotifyRatePerKey    float64
	NotifyBurstPerKey   int
	NotifyRatePerMiner  float64
	NotifyBurstPerMiner int
	RelayRate           float64
	RelayBurst          int

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
	{"DATABASE_MAX_CONNS", "10", "PostgreSQL read connections per process (writes use one more; the notifier's mining follower one more)", intRange(1, 1000, func(c *Config) *int { return &c.DatabaseMaxConns })},
	{"DATABASE_STATEMENT_TIMEOUT", "30s", "PostgreSQL statement_timeout; a statement cut off by it is answered 503 unavailable (0 = the server's)", durRange(0, time.Hour, func(c *Config) *time.Duration { return &c.DatabaseStatementTimeout })},
	{"API_ADDR", "[::]:8080", "api listen address ([::] is dual-stack; [::1] or an IPv6 address alone is IPv6-only)", addr(func(c *Config) *string { return &c.APIAddr })},
	{"NOTIFIER_ADDR", "[::]:8081", "notifier listen address", addr(func(c *Config) *string { return &c.NotifierAddr })},
	{"POLLER_ADDR", "[::1]:8082", "poller health and metrics address", addr(func(c *Config) *string { return &c.PollerAddr })},
	{"IPV6_ONLY", "false", "api and notifier accept IPv6 only, even on [::] (IPV6_V6ONLY)", boolVar(func(c *Config) *bool { return &c.IPv6Only })},
	{"NOTIFIER_URL", "http://[::1]:8081", "where the api proxies /ws, /ws-status, /test, /miner-notifications and the relay's /relay/<route>/…", httpURL(func(c *Config) *string { return &c.NotifierURL })},
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
	{"DISCOVER_SCHEDULE", "@daily", "cron schedule of the poller's SNS discovery (off: only on POST /discover/sns)", discoverSchedule},
	{"SNS_WASM_CANISTER_ID", "qaa6y-5yaaa-aaaaa-aaafa-cai", "the SNS-W canister SNS discovery lists DAOs from", principalVar(func(c *Config) *string { return &c.SNSWasmCanisterID })},
	{"NOTIFY_API_KEYS", "", "comma-separated keys accepted in X-API-Key on /miner-notifications", keyList},
	{"ADMIN_API_KEY", "", "bearer token for REST writes and the /system/status detail; writes are refused while it is unset", adminKey},
	{"ADMIN_AUTH_FAILURES", "10", "wrong admin keys one source (IPv4 address or IPv6 /64) may send within ADMIN_AUTH_WINDOW; then every bearer attempt of it is 429 until the window ends", intRange(1, 10000, func(c *Config) *int { return &c.AdminAuthFailures })},
	{"ADMIN_AUTH_WINDOW", "1m", "the window of ADMIN_AUTH_FAILURES, from a source's first wrong key", durRange(time.Second, 24*time.Hour, func(c *Config) *time.Duration { return &c.AdminAuthWindow })},
	{"DEDUP_WINDOW", "5m", "how long a notification's dedup key is remembered (minimum 3m, the outcall window)", dedupWindow},
	{"NOTIFY_RATE_PER_KEY", "50", "new notifications per second per API key, in each notifier (copies of a stored notification never count; 0 = unlimited)", floatRange(0, 1e6, func(c *Config) *float64 { return &c.NotifyRatePerKey })},
	{"NOTIFY_BURST_PER_KEY", "500", "burst of NOTIFY_RATE_PER_KEY", intRange(1, 1_000_000, func(c *Config) *int { return &c.NotifyBurstPerKey })},
	{"NOTIFY_RATE_PER_MINER", "2", "new notifications per second per miner_id, in each notifier (0 = unlimited)", floatRange(0, 1e6, func(c *Config) *float64 { return &c.NotifyRatePerMiner })},
	{"NOTIFY_BURST_PER_MINER", "60", "burst of NOTIFY_RATE_PER_MINER", intRange(1, 1_000_000, func(c *Config) *int { return &c.NotifyBurstPerMiner })},
	{"EVENT_LOG_POLL", "1s", "how often the notifier's hub reads the event log when no bus doorbell rang (the delay of events during a bus outage)", durRange(10*time.Millisecond, time.Minute, func(c *Config) *time.Duration { return &c.EventLogPoll })},
	{"EVENT_LOG_HOLD_BACK", "2s", "how long the hub waits for a missing event id that may still commit (several writers) before delivering past it", durRange(10*time.Millisecond, 5*time.Minute, func(c *Config) *time.Duration { return &c.EventLogHoldBack })},
	{"RELAY_ROUTES", "", "JSON file of the outcall relay's routes ({\"routes\": [...]}, see README \"Relay\"); SIGHUP to the notifier reloads it; empty = no relay (404 on /relay/…)", func(c *Config, v string) error { c.RelayRoutes = v; return nil }},
	{"RELAY_LEASE", "10s", "how long a notifier holds a running relay call without renewing it: after a crash, its GETs are re-run and other calls answered upstream_outcome_unknown that much later", durRange(time.Second, 5*time.Minute, func(c *Config) *time.Duration { return &c.RelayLease })},
	{"RELAY_RATE", "10", "new relay calls per second per caller key and route, in each notifier (copies of a decided call never count; 0 = unlimited)", floatRange(0, 1e6, func(c *Config) *float64 { return &c.RelayRate })},
	{"RELAY_BURST", "100", "burst of RELAY_RATE", intRange(1, 1_000_000, func(c *Config) *int { return &c.RelayBurst })},
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
	c, errs := Check(getenv)
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("invalid configuration: %w", errors.Join(errs...))
	}
	return c, nil
}

// Check is Load that keeps going: it returns the Config as far as it could be built (a bad
// variable keeps its zero value) and every problem, one error each, each naming its variable.
// check-config uses it to look at the TLS files and the database even when another variable
// is wrong.
func Check(getenv func(string) string) (Config, []error) {
	var c Config
	var errs []error
	for _, s := range Resolve(getenv) {
		v, val := s.Var, s.Value
		if err := v.set(&c, val); err != nil {
			switch {
			case v.Secret():
				errs = append(errs, fmt.Errorf("%s (value not shown): %w", v.Name, err))
			case urlVars[v.Name]:
				errs = append(errs, fmt.Errorf("%s=%q: %w", v.Name, RedactURLs(val), err))
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
		errs = append(errs, fmt.Errorf("NATS_TOKEN is required when the embedded NATS server listens on NATS_URL=%s (not loopback)", RedactURLs(c.NATSURL)))
	}
	return c, errs
}

// Setting is one variable's effective value: from getenv, or its default (expanded).
type Setting struct {
	Var
	Value   string
	Default bool // Value is the table's default: the variable was unset or blank
}

// Shown is the value as check-config prints it: a secret as "(set, not shown)" or "(unset)",
// a URL without its user or password (RedactURLs), anything else as is.
func (s Setting) Shown() string {
	switch {
	case s.Secret() && s.Value == "":
		return "(unset)"
	case s.Secret():
		return "(set, not shown)"
	case urlVars[s.Name]:
		return RedactURLs(s.Value)
	}
	return s.Value
}

// Resolve returns every variable of the table with its effective value, in table order.
func Resolve(getenv func(string) string) []Setting {
	out := make([]Setting, 0, len(vars))
	resolved := map[string]string{}
	for _, v := range vars {
		val := strings.TrimSpace(getenv(v.Name))
		def := val == ""
		if def {
			val = os.Expand(v.Default, func(k string) string { return resolved[k] })
		}
		resolved[v.Name] = val
		out = append(out, Setting{Var: v, Value: val, Default: def})
	}
	return out
}

// WithDotenv returns a getenv that prefers the real environment and falls back to the values of
// the .env file at path. A missing file is not an error (the default ./.env of a checkout that
// has none); a malformed one is.
func WithDotenv(getenv func(string) string, path string) (func(string) string, error) {
	return withEnvFile(getenv, path, false)
}

// WithEnvFile is WithDotenv for a file the operator named (-env-file): a missing file is an
// error too, so that a typo in the path is not silently replaced by the defaults.
func WithEnvFile(getenv func(string) string, path string) (func(string) string, error) {
	return withEnvFile(getenv, path, true)
}

func withEnvFile(getenv func(string) string, path string, required bool) (func(string) string, error) {
	if path == "" {
		return getenv, nil
	}
	m, err := godotenv.Read(path)
	if errors.Is(err, os.ErrNotExist) && !required {
		return getenv, nil
	}
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("env file %s does not exist", path)
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
