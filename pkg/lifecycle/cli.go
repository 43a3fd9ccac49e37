package lifecycle

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"canistry/pkg/config"
	"canistry/pkg/version"
)

// The command line every binary shares (README "Command line"):
//
//	canistry-<name> [-env-file FILE]                  serve
//	canistry-<name> [-env-file FILE] check-config     (or -check) validate and print the configuration
//	canistry-<name> --version | --help
//
// Flags take one dash or two. Anything else on the line is an error, so that a mistyped
// command (`canistry-api version`) does not start a server.

// command is what the arguments ask a binary to do.
type command int

const (
	cmdServe command = iota
	cmdVersion
	cmdHelp
	cmdCheck
)

// CheckConfigCommand is the subcommand that validates the configuration and exits.
const CheckConfigCommand = "check-config"

// cliArgs is the parsed command line.
type cliArgs struct {
	cmd     command
	envFile string
	named   bool // -env-file was given: a missing file is an error
}

// parseArgs parses a binary's arguments. Errors say what was wrong and point at --help.
func parseArgs(name string, args []string) (cliArgs, error) {
	var a cliArgs
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&a.envFile, "env-file", ".env", "")
	showVersion := fs.Bool("version", false, "")
	help, h := fs.Bool("help", false, ""), fs.Bool("h", false, "")
	check := fs.Bool("check", false, "")
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			return a, fmt.Errorf("%w (see %s --help)", err, binaryName(name))
		}
		rest = fs.Args()
		if len(rest) == 0 || rest[0] != CheckConfigCommand {
			break
		}
		*check, rest = true, rest[1:] // flags may follow the command too
	}
	if len(rest) > 0 {
		return a, fmt.Errorf("unexpected argument %q (commands: %s; flags: --version, --help, -env-file; see %s --help)",
			rest[0], CheckConfigCommand, binaryName(name))
	}
	fs.Visit(func(f *flag.Flag) { a.named = a.named || f.Name == "env-file" })
	switch {
	case *help || *h:
		a.cmd = cmdHelp
	case *showVersion:
		a.cmd = cmdVersion
	case *check:
		a.cmd = cmdCheck
	}
	return a, nil
}

// withEnv returns getenv merged with the env file: a named file must exist, the default .env
// may be absent.
func (a cliArgs) withEnv(getenv func(string) string) (func(string) string, error) {
	if a.named {
		return config.WithEnvFile(getenv, a.envFile)
	}
	return config.WithDotenv(getenv, a.envFile)
}

func binaryName(name string) string { return "canistry-" + name }

// printVersion writes the --version line.
func printVersion(w io.Writer, name string) {
	fmt.Fprintln(w, version.String(binaryName(name)))
}

// printHelp writes --help: usage, flags, and every variable of the configuration table with its
// default (config.Vars, the one table Load reads).
func printHelp(w io.Writer, name string) {
	bin := binaryName(name)
	var b strings.Builder
	fmt.Fprintf(&b, `Usage:
  %[1]s [-env-file FILE]                 run
  %[1]s [-env-file FILE] check-config    validate the configuration, print it (secrets hidden), exit 0 or 1
  %[1]s --version | --help

Flags (one dash or two):
  -env-file FILE  read variables from FILE; the real environment wins (default .env, which may be
                  absent; a FILE named here must exist; -env-file "" reads none)
  -check          same as check-config
  -version        print version, commit and Go version
  -help, -h       print this help

Environment variables (default in brackets; every binary reads the same set):
`, bin)
	for _, v := range config.Vars() {
		def := v.Default
		if def == "" {
			def = "unset"
		}
		fmt.Fprintf(&b, "  %s [%s]\n      %s\n", v.Name, def, v.Doc)
	}
	io.WriteString(w, b.String())
}

// RunFunc is a binary's run: everything main does, with its inputs injected so that tests run
// the binary in-process.
type RunFunc func(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, opts Options) error

// Main is every binary's main: run with the process's arguments and environment and a context
// that ends on SIGINT or SIGTERM. It returns the process's exit code, which only main hands to
// the runtime: 0, or 1 after writing the error to stderr.
func Main(name string, run RunFunc) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, Options{})
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", binaryName(name), err)
		return 1
	}
	return 0
}
