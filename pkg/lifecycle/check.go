package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"canistry/pkg/config"
	"canistry/pkg/store"
	"canistry/pkg/tlsconfig"
)

// DatabaseCheckTimeout bounds check-config's connection to DATABASE_URL.
const DatabaseCheckTimeout = 5 * time.Second

// certExpirySoon is how close to its end a certificate makes check-config warn (not fail).
const certExpirySoon = 14 * 24 * time.Hour

// checkConfig is the check-config command: it reads the env file and the environment as the
// binary would, prints every variable's effective value (secrets hidden, URLs redacted), checks
// what can be checked without starting (the values, the TLS pair, the database's reachability,
// the relay routes file) and returns one error listing every problem, or nil.
func checkConfig(ctx context.Context, name string, a cliArgs, getenv func(string) string, w io.Writer,
	checkRoutes func(string, func(string) string) error) error {
	var problems []error
	env, err := a.withEnv(getenv)
	if err != nil {
		problems = append(problems, err)
		env = getenv
	}
	source := "none"
	if a.envFile != "" {
		source = a.envFile
	}
	fmt.Fprintf(w, "%s: effective configuration (env file: %s; the real environment wins)\n", binaryName(name), source)
	for _, s := range config.Resolve(env) {
		from := ""
		if s.Default {
			from = "  # default"
		}
		fmt.Fprintf(w, "  %s=%s%s\n", s.Name, s.Shown(), from)
	}
	cfg, errs := config.Check(env)
	problems = append(problems, errs...)
	problems = append(problems, checkTLS(cfg, w)...)
	problems = append(problems, checkDatabase(ctx, cfg, w)...)
	problems = append(problems, checkRelayRoutes(env("RELAY_ROUTES"), env, checkRoutes)...)
	if len(problems) == 0 {
		fmt.Fprintln(w, "configuration OK")
		return nil
	}
	lines := make([]string, len(problems))
	for i, p := range problems {
		lines[i] = "  - " + p.Error()
	}
	return fmt.Errorf("configuration has %d problem(s):\n%s", len(problems), strings.Join(lines, "\n"))
}

// checkTLS loads the certificate pair as the server would and reports an expired certificate;
// one that ends within certExpirySoon is a warning on w.
func checkTLS(cfg config.Config, w io.Writer) []error {
	if !cfg.UseHTTPS || cfg.SSLCertPath == "" || cfg.SSLKeyPath == "" {
		return nil
	}
	r, err := tlsconfig.Load(cfg.SSLCertPath, cfg.SSLKeyPath, cfg.LocalDev, nil)
	if err != nil {
		return []error{fmt.Errorf("USE_HTTPS: %w", err)}
	}
	leaf := r.Leaf()
	left := time.Until(leaf.NotAfter)
	switch {
	case left <= 0:
		return []error{fmt.Errorf("SSL_CERT_PATH=%s: certificate expired on %s", cfg.SSLCertPath, leaf.NotAfter.UTC().Format(time.RFC3339))}
	case left < certExpirySoon:
		fmt.Fprintf(w, "warning: SSL_CERT_PATH=%s expires on %s\n", cfg.SSLCertPath, leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(w, "tls: %s, valid until %s\n", leaf.Subject.CommonName, leaf.NotAfter.UTC().Format(time.RFC3339))
	return nil
}

// checkDatabase connects to DATABASE_URL within DatabaseCheckTimeout (nothing is created or
// migrated). For SQLite it reports whether the file exists yet (the first start creates it).
func checkDatabase(ctx context.Context, cfg config.Config, w io.Writer) []error {
	if cfg.DatabaseURL != "" {
		ctx, cancel := context.WithTimeout(ctx, DatabaseCheckTimeout)
		defer cancel()
		if err := store.Reachable(ctx, cfg.DatabaseURL); err != nil {
			return []error{fmt.Errorf("DATABASE_URL unreachable within %s: %w", DatabaseCheckTimeout, err)}
		}
		fmt.Fprintf(w, "database: postgres reachable at %s\n", config.RedactURL(cfg.DatabaseURL))
		return nil
	}
	if cfg.DatabasePath == "" {
		return nil
	}
	if _, err := os.Stat(cfg.DatabasePath); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(w, "database: sqlite %s does not exist yet (created at first start)\n", cfg.DatabasePath)
		return nil
	}
	fmt.Fprintf(w, "database: sqlite %s\n", cfg.DatabasePath)
	return nil
}

// checkRelayRoutes checks RELAY_ROUTES, the relay's route file: with the binary's loader
// (Options.CheckRelayRoutes, the notifier's pkg/relay) every route and field as the notifier will
// read them, else that a named file is readable JSON.
func checkRelayRoutes(path string, getenv func(string) string, load func(string, func(string) string) error) []error {
	path = strings.TrimSpace(path)
	if path == "" {
		return nil
	}
	if load != nil {
		if err := load(path, getenv); err != nil {
			return []error{fmt.Errorf("RELAY_ROUTES=%s: %w", path, err)}
		}
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return []error{fmt.Errorf("RELAY_ROUTES=%s: %w", path, err)}
	}
	if !json.Valid(b) {
		return []error{fmt.Errorf("RELAY_ROUTES=%s: not valid JSON", path)}
	}
	return nil
}
