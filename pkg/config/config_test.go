package config_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"canistry/pkg/config"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoad_Defaults(t *testing.T) {
	c, err := config.Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"DataDir", c.DataDir, "./data"},
		{"DatabasePath", c.DatabasePath, "./data/registry.db"},
		{"DatabaseURL", c.DatabaseURL, ""},
		{"DatabaseMaxConns", c.DatabaseMaxConns, 10},
		{"DatabaseStatementTimeout", c.DatabaseStatementTimeout, 30 * time.Second},
		{"APIAddr", c.APIAddr, "[::]:8080"},
		{"NotifierAddr", c.NotifierAddr, "[::]:8081"},
		{"PollerAddr", c.PollerAddr, "[::1]:8082"},
		{"IPv6Only", c.IPv6Only, false},
		{"NotifierURL", c.NotifierURL, "http://[::1]:8081"},
		{"NATSURL", c.NATSURL, "nats://127.0.0.1:4222"},
		{"NATSEmbed", c.NATSEmbed, true},
		{"NATSToken", c.NATSToken, ""},
		{"NATSClusterName", c.NATSClusterName, "canistry"},
		{"NATSClusterListen", c.NATSClusterListen, ""},
		{"NATSClusterRoutes", len(c.NATSClusterRoutes), 0},
		{"ICURL", c.ICURL, "https://icp-api.io"},
		{"ICFetchRootKey", c.ICFetchRootKey, false},
		{"ICVerifyQuerySignatures", c.ICVerifyQuerySignatures, true},
		{"RefreshSchedule", c.RefreshSchedule, "@every 1m"},
		{"RefreshConcurrency", c.RefreshConcurrency, 16},
		{"RefreshTimeout", c.RefreshTimeout, 30 * time.Second},
		{"RefreshRate", c.RefreshRate, 100.0},
		{"StatsRetention", c.StatsRetention, 30 * 24 * time.Hour},
		{"NotificationsRetention", c.NotificationsRetention, 90 * 24 * time.Hour},
		{"DiscoverSchedule", c.DiscoverSchedule, "@daily"},
		{"SNSWasmCanisterID", c.SNSWasmCanisterID, "qaa6y-5yaaa-aaaaa-aaafa-cai"},
		{"NotifyAPIKeys", len(c.NotifyAPIKeys), 0},
		{"AdminAPIKey", c.AdminAPIKey, ""},
		{"AdminAuthFailures", c.AdminAuthFailures, 10},
		{"AdminAuthWindow", c.AdminAuthWindow, time.Minute},
		{"DedupWindow", c.DedupWindow, 5 * time.Minute},
		{"WSAllowedOrigins", len(c.WSAllowedOrigins), 0},
		{"TrustedProxies", len(c.TrustedProxies), 2},
		{"EventLogPoll", c.EventLogPoll, time.Second},
		{"EventLogHoldBack", c.EventLogHoldBack, 2 * time.Second},
		{"RelayRoutes", c.RelayRoutes, ""},
		{"RelayLease", c.RelayLease, 10 * time.Second},
		{"NotifyRatePerKey", c.NotifyRatePerKey, 50.0},
		{"NotifyBurstPerKey", c.NotifyBurstPerKey, 500},
		{"NotifyRatePerMiner", c.NotifyRatePerMiner, 2.0},
		{"NotifyBurstPerMiner", c.NotifyBurstPerMiner, 60},
		{"RelayRate", c.RelayRate, 10.0},
		{"RelayBurst", c.RelayBurst, 100},
		{"WebhookTimeout", c.WebhookTimeout, 10 * time.Second},
		{"WebhookRetryBase", c.WebhookRetryBase, 5 * time.Second},
		{"WebhookRetries", c.WebhookRetries, 14},
		{"UseHTTPS", c.UseHTTPS, false},
		{"LocalDev", c.LocalDev, false},
		{"LogLevel", c.LogLevel, slog.LevelInfo},
		{"ShutdownTimeout", c.ShutdownTimeout, 10 * time.Second},
		{"HeartbeatInterval", c.HeartbeatInterval, 5 * time.Second},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	// Every variable has a default check above, except the two certificate paths (no default).
	if got, want := len(config.Vars()), len(checks)+2; got != want {
		t.Errorf("%d variables in the table but %d covered here: add the new one to this test", got, want)
	}
	seen := map[string]bool{}
	for _, v := range config.Vars() {
		if v.Doc == "" || seen[v.Name] {
			t.Errorf("variable %s: missing doc or listed twice", v.Name)
		}
		seen[v.Name] = true
	}
}

func TestLoad_Values(t *testing.T) {
	c, err := config.Load(env(map[string]string{
		"DATA_DIR":            "/var/lib/canistry",
		"API_ADDR":            "127.0.0.1:9000",
		"IPV6_ONLY":           "true",
		"NATS_URL":            "nats://10.0.0.1:4222,nats://10.0.0.2:4222",
		"NATS_EMBED":          "false",
		"REFRESH_CONCURRENCY": "64",
		"STATS_RETENTION":     "7d",
		"NOTIFY_API_KEYS":     " key-one-0123456789 ,key-two-0123456789,",
		"WS_ALLOWED_ORIGINS":  "https://a.example, http://localhost:3000",
		"LOG_LEVEL":           "DEBUG",
		"USE_HTTPS":           "true",
		"SSL_CERT_PATH":       "/c.pem",
		"SSL_KEY_PATH":        "/k.pem",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabasePath != "/var/lib/canistry/registry.db" {
		t.Errorf("DatabasePath = %q: $DATA_DIR not expanded", c.DatabasePath)
	}
	if got := strings.Join(c.NotifyAPIKeys, "|"); got != "key-one-0123456789|key-two-0123456789" {
		t.Errorf("NotifyAPIKeys = %q", got)
	}
	if len(c.WSAllowedOrigins) != 2 || c.StatsRetention != 7*24*time.Hour || !c.IPv6Only || c.NATSEmbed {
		t.Errorf("parsed wrong: %+v", c)
	}
	if c.LogLevel != slog.LevelDebug || c.RefreshConcurrency != 64 {
		t.Errorf("LogLevel=%v RefreshConcurrency=%d", c.LogLevel, c.RefreshConcurrency)
	}
}

func TestLoad_Invalid(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string // substring of the error, naming the variable
	}{
		{map[string]string{"API_ADDR": "8080"}, "API_ADDR"},
		{map[string]string{"API_ADDR": "::1:8080"}, "API_ADDR"},
		{map[string]string{"NOTIFIER_ADDR": "[::]:70000"}, "NOTIFIER_ADDR"},
		{map[string]string{"POLLER_ADDR": "example.com:80"}, "POLLER_ADDR"},
		{map[string]string{"IPV6_ONLY": "maybe"}, "IPV6_ONLY"},
		{map[string]string{"NOTIFIER_URL": "ftp://x"}, "NOTIFIER_URL"},
		{map[string]string{"NATS_URL": "http://127.0.0.1:4222"}, "NATS_URL"},
		{map[string]string{"NATS_URL": "nats://127.0.0.1"}, "NATS_URL"},
		{map[string]string{"NATS_EMBED": "yes please"}, "NATS_EMBED"},
		{map[string]string{"NATS_URL": "nats://0.0.0.0:4222"}, "NATS_TOKEN"},
		{map[string]string{"NATS_CLUSTER_LISTEN": "6222"}, "NATS_CLUSTER_LISTEN"},
		{map[string]string{"NATS_CLUSTER_LISTEN": "127.0.0.1:6222"}, "needs NATS_EMBED=true and NATS_TOKEN"},
		{map[string]string{"NATS_CLUSTER_LISTEN": "127.0.0.1:6222", "NATS_EMBED": "false", "NATS_TOKEN": "t0123456789abcdef"}, "needs NATS_EMBED=true and NATS_TOKEN"},
		{map[string]string{"NATS_CLUSTER_ROUTES": "a:1,b"}, "NATS_CLUSTER_ROUTES"},
		{map[string]string{"NATS_CLUSTER_ROUTES": "a:0"}, "NATS_CLUSTER_ROUTES"},
		{map[string]string{"IC_URL": "icp-api.io"}, "IC_URL"},
		{map[string]string{"IC_FETCH_ROOT_KEY": "2"}, "IC_FETCH_ROOT_KEY"},
		{map[string]string{"IC_VERIFY_QUERY_SIGNATURES": "on"}, "IC_VERIFY_QUERY_SIGNATURES"},
		{map[string]string{"REFRESH_SCHEDULE": "every minute"}, "REFRESH_SCHEDULE"},
		{map[string]string{"DISCOVER_SCHEDULE": "daily"}, "DISCOVER_SCHEDULE"},
		{map[string]string{"SNS_WASM_CANISTER_ID": "qaa6y-5yaaa-aaaaa-aaafa-caa"}, "SNS_WASM_CANISTER_ID"},
		{map[string]string{"REFRESH_CONCURRENCY": "0"}, "REFRESH_CONCURRENCY"},
		{map[string]string{"REFRESH_CONCURRENCY": "ten"}, "REFRESH_CONCURRENCY"},
		{map[string]string{"REFRESH_TIMEOUT": "5"}, "REFRESH_TIMEOUT"},
		{map[string]string{"REFRESH_TIMEOUT": "10ms"}, "REFRESH_TIMEOUT"},
		{map[string]string{"REFRESH_RATE": "-1"}, "REFRESH_RATE"},
		{map[string]string{"REFRESH_RATE": "NaN"}, "REFRESH_RATE"},
		{map[string]string{"NOTIFY_RATE_PER_KEY": "-1"}, "NOTIFY_RATE_PER_KEY"},
		{map[string]string{"NOTIFY_BURST_PER_MINER": "0"}, "NOTIFY_BURST_PER_MINER"},
		{map[string]string{"RELAY_RATE": "fast"}, "RELAY_RATE"},
		{map[string]string{"RELAY_BURST": "1.5"}, "RELAY_BURST"},
		{map[string]string{"STATS_RETENTION": "1.5d"}, "STATS_RETENTION"},
		{map[string]string{"STATS_RETENTION": "1m"}, "STATS_RETENTION"},
		{map[string]string{"NOTIFICATIONS_RETENTION": "1h"}, "NOTIFICATIONS_RETENTION"},
		{map[string]string{"NOTIFY_API_KEYS": "short"}, "NOTIFY_API_KEYS"},
		{map[string]string{"ADMIN_API_KEY": "tooshort"}, "ADMIN_API_KEY"},
		{map[string]string{"DEDUP_WINDOW": "30s"}, "DEDUP_WINDOW"},
		{map[string]string{"WS_ALLOWED_ORIGINS": "example.com"}, "WS_ALLOWED_ORIGINS"},
		{map[string]string{"WS_ALLOWED_ORIGINS": "https://a.example/path"}, "WS_ALLOWED_ORIGINS"},
		{map[string]string{"USE_HTTPS": "true"}, "SSL_CERT_PATH"},
		{map[string]string{"WEBHOOK_TIMEOUT": "100ms"}, "WEBHOOK_TIMEOUT"},
		{map[string]string{"WEBHOOK_RETRY_BASE": "0s"}, "WEBHOOK_RETRY_BASE"},
		{map[string]string{"WEBHOOK_RETRIES": "0"}, "WEBHOOK_RETRIES"},
		{map[string]string{"WEBHOOK_RETRIES": "31"}, "WEBHOOK_RETRIES"},
		{map[string]string{"LOCAL_DEV": "dev"}, "LOCAL_DEV"},
		{map[string]string{"LOG_LEVEL": "verbose"}, "LOG_LEVEL"},
		{map[string]string{"SHUTDOWN_TIMEOUT": "1h"}, "SHUTDOWN_TIMEOUT"},
		{map[string]string{"HEARTBEAT_INTERVAL": "0s"}, "HEARTBEAT_INTERVAL"},
		{map[string]string{"DATABASE_PATH": " "}, ""}, // blank means default: valid
		{map[string]string{"DATABASE_URL": "mysql://db/canistry"}, "DATABASE_URL"},
		{map[string]string{"DATABASE_URL": "postgres://u:pw@db.example:5432/canistry?sslmode=verify-full"}, ""},
		{map[string]string{"DATABASE_MAX_CONNS": "0"}, "DATABASE_MAX_CONNS"},
		{map[string]string{"DATABASE_STATEMENT_TIMEOUT": "-1s"}, "DATABASE_STATEMENT_TIMEOUT"},
		{map[string]string{"DATABASE_STATEMENT_TIMEOUT": "0s"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.want+"/"+strings.Join(keys(tt.env), ","), func(t *testing.T) {
			_, err := config.Load(env(tt.env))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want an error naming %s, got none", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not name %s", err, tt.want)
			}
		})
	}
}

func TestLoad_ReportsAllProblems(t *testing.T) {
	_, err := config.Load(env(map[string]string{"API_ADDR": "x", "LOG_LEVEL": "loud", "DEDUP_WINDOW": "1s"}))
	if err == nil {
		t.Fatal("want error")
	}
	for _, name := range []string{"API_ADDR", "LOG_LEVEL", "DEDUP_WINDOW"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not mention %s: %v", name, err)
		}
	}
}

func TestWithDotenv(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ".env")
	if err := os.WriteFile(path, []byte("# comment\nLOG_LEVEL=warn\nAPI_ADDR=\"127.0.0.1:1234\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	getenv, err := config.WithDotenv(env(map[string]string{"LOG_LEVEL": "error"}), path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(getenv)
	if err != nil {
		t.Fatal(err)
	}
	if c.LogLevel != slog.LevelError {
		t.Errorf("environment must win over .env: LogLevel = %v", c.LogLevel)
	}
	if c.APIAddr != "127.0.0.1:1234" {
		t.Errorf(".env value not used: APIAddr = %q", c.APIAddr)
	}

	t.Run("Missing", func(t *testing.T) {
		if _, err := config.WithDotenv(env(nil), filepath.Join(dir, "nope.env")); err != nil {
			t.Fatalf("a missing .env is not an error: %v", err)
		}
	})
	t.Run("Malformed", func(t *testing.T) {
		bad := filepath.Join(dir, "bad.env")
		if err := os.WriteFile(bad, []byte("A='unterminated\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := config.WithDotenv(env(nil), bad); err == nil {
			t.Fatal("want error for a malformed .env")
		}
	})
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// The README's configuration table must list every variable with its default.
func TestREADMEListsEveryVariable(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, v := range config.Vars() {
		def := "—"
		if v.Default != "" {
			def = "`" + v.Default + "`"
		}
		if row := "| `" + v.Name + "` | " + def + " |"; !strings.Contains(readme, row) {
			t.Errorf("README.md has no row starting %q", row)
		}
	}
}

// A bad DATABASE_URL is reported without its password.
func TestLoad_DatabaseURLRedacted(t *testing.T) {
	_, err := config.Load(env(map[string]string{"DATABASE_URL": "mysql://canistry:hunter2secret@db/x"}))
	if err == nil || !strings.Contains(err.Error(), "DATABASE_URL") || strings.Contains(err.Error(), "hunter2secret") {
		t.Errorf("error %v: want one naming DATABASE_URL without the password", err)
	}
	c, err := config.Load(env(map[string]string{"DATABASE_URL": "postgresql://canistry:pw@db:5432/canistry", "DATABASE_MAX_CONNS": "25",
		"DATABASE_STATEMENT_TIMEOUT": "5s"}))
	if err != nil || c.DatabaseURL != "postgresql://canistry:pw@db:5432/canistry" || c.DatabaseMaxConns != 25 ||
		c.DatabaseStatementTimeout != 5*time.Second {
		t.Errorf("Load = %+v, %v", c, err)
	}
}

func TestLoad_NATSCluster(t *testing.T) {
	env := map[string]string{"NATS_URL": "nats://127.0.0.2:4222,nats://127.0.0.3:4222", "NATS_TOKEN": "cluster-token-0123456789",
		"NATS_CLUSTER_LISTEN": "127.0.0.2:6222", "NATS_CLUSTER_ROUTES": "127.0.0.2:6222, 127.0.0.3:6222,[::1]:6224", "NATS_CLUSTER_NAME": "prod"}
	c, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.NATSClusterListen != "127.0.0.2:6222" || c.NATSClusterName != "prod" ||
		strings.Join(c.NATSClusterRoutes, " ") != "127.0.0.2:6222 127.0.0.3:6222 [::1]:6224" {
		t.Errorf("cluster config %q %q %q", c.NATSClusterListen, c.NATSClusterName, c.NATSClusterRoutes)
	}
}
