// Command depcheck enforces the dependency direction of STYLE.md:
//
//	cmd/* → poll, discover, notify, relay, httpapi → lifecycle, webhook → store, egress, ic, bus, ws, eventlog, tlsconfig, httpserver → httperror → registry, config, version, openapi, metrics, ratelimit
//
// A package may import only canistry packages of a strictly lower layer (never sideways, never
// up). Test files are not checked. Run from the module root: go run ./scripts/depcheck
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

const module = "canistry"

// layer of each package below pkg/ (by its first path element); cmd/* is layer 0.
var layers = map[string]int{
	"poll": 1, "notify": 1, "httpapi": 1, "relay": 1, "discover": 1,
	"lifecycle": 2, "webhook": 2,
	"store": 3, "egress": 3, "ic": 3, "bus": 3, "ws": 3, "tlsconfig": 3, "eventlog": 3, "httpserver": 3,
	"httperror": 4,
	"registry":  5, "config": 5, "version": 5, "openapi": 5, "metrics": 5, "ratelimit": 5,
	"internal": 5, // test support (internal/testclock): imported by tests only, by convention
}

// forbidden lists, per command, packages it must not link (directly or not): the poller serves
// only probes and the notifier its own routes (pkg/notify), both on net/http; gin and the api's
// REST adapter are the api's alone (STYLE.md: each binary's HTTP has one home); the api proxies
// the notifier's routes and links none of the notifier's code (the webhook secret is the
// domain's, registry.NewWebhookSecret).
var forbidden = map[string][]string{
	module + "/cmd/api":      {module + "/pkg/notify", module + "/pkg/ws", module + "/pkg/webhook", module + "/pkg/eventlog"},
	module + "/cmd/poller":   {"github.com/gin-gonic/gin", "github.com/gorilla/websocket", module + "/pkg/httpapi", module + "/pkg/ws"},
	module + "/cmd/notifier": {"github.com/gin-gonic/gin", module + "/pkg/httpapi"},
}

type pkg struct {
	ImportPath string
	Imports    []string
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "depcheck:", err)
		os.Exit(1)
	}
}

func layerOf(path string) (int, string, bool) {
	rel := strings.TrimPrefix(path, module+"/")
	switch {
	case strings.HasPrefix(rel, "cmd/"), rel == "scripts", strings.HasPrefix(rel, "scripts/"),
		rel == "systemd", strings.HasPrefix(rel, "systemd/"):
		return 0, rel, true
	case strings.HasPrefix(rel, "pkg/"):
		top := strings.SplitN(strings.TrimPrefix(rel, "pkg/"), "/", 2)[0]
		l, ok := layers[top]
		return l, top, ok
	}
	return 0, rel, false
}

func run(w io.Writer) error {
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		return fmt.Errorf("go list: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var problems []string
	n := 0
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			return err
		}
		n++
		from, fromTop, ok := layerOf(p.ImportPath)
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: package is not in the layer table of scripts/depcheck", p.ImportPath))
			continue
		}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			if strings.HasPrefix(imp, module+"/pkg/internal/") && !strings.HasPrefix(p.ImportPath, module+"/pkg/internal/") {
				problems = append(problems, fmt.Sprintf("%s imports %s: pkg/internal is test support, for test files only", p.ImportPath, imp))
			}
			to, toTop, ok := layerOf(imp)
			if !ok {
				continue // reported on its own
			}
			if fromTop == toTop && from != 0 {
				continue // inside one package tree (e.g. ic/ictest → ic)
			}
			if from != 0 && to <= from {
				problems = append(problems, fmt.Sprintf("%s imports %s: %s (layer %d) may import only lower layers", p.ImportPath, imp, fromTop, from))
			}
			if from == 0 && strings.HasPrefix(strings.TrimPrefix(imp, module+"/"), "cmd/") {
				problems = append(problems, fmt.Sprintf("%s imports %s: nothing imports a command", p.ImportPath, imp))
			}
		}
	}
	for cmd, bad := range forbidden {
		deps, err := exec.Command("go", "list", "-deps", cmd).Output()
		if err != nil {
			return fmt.Errorf("go list -deps %s: %w", cmd, err)
		}
		for _, d := range strings.Fields(string(deps)) {
			for _, b := range bad {
				if d == b {
					problems = append(problems, fmt.Sprintf("%s links %s, which it must not", cmd, b))
				}
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("dependency direction violated:\n  %s", strings.Join(problems, "\n  "))
	}
	fmt.Fprintf(w, "depcheck: %d packages, dependencies point one way\n", n)
	return nil
}
