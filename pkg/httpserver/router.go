package httpserver

import (
	"fmt"
	"log/slog"

	"net/http"
	"slices"
	"strings"
	"time"

	"canistry/pkg/httperror"
	"canistry/pkg/registry"
)

// Router routes requests by exact path and method, on net/http alone, and answers what it
// cannot route as the api's gin router does: a GET route answers HEAD too (RFC 9110 9.3.2), a
// path served for other methods only is 405 with Allow (httperror.MethodNotAllowed), an unknown
// path is 404 in the one error shape, and a path that differs from a route only by a trailing
// slash is redirected to it (301 for GET, else 307). It is the notifier's router.
type Router struct {
	routes  map[string]map[string]http.Handler // path → method → handler
	methods []string                           // every method routed, in the order first seen (Allow's order)
	paths   []string
}

// NewRouter returns an empty Router.
func NewRouter() *Router { return &Router{routes: map[string]map[string]http.Handler{}} }

// Handle routes method and path to h.
func (rt *Router) Handle(method, path string, h http.Handler) {
	if rt.routes[path] == nil {
		rt.routes[path] = map[string]http.Handler{}
		rt.paths = append(rt.paths, path)
	}
	rt.routes[path][method] = h
	if !slices.Contains(rt.methods, method) {
		rt.methods = append(rt.methods, method)
	}
}

// GET routes GET and HEAD of path to h.
func (rt *Router) GET(path string, h http.Handler) {
	rt.Handle(http.MethodGet, path, h)
	rt.Handle(http.MethodHead, path, h)
}

// Routes lists "METHOD path" of every route, in the order they were added.
func (rt *Router) Routes() []string {
	var out []string
	for _, p := range rt.paths {
		for _, m := range rt.methods {
			if rt.routes[p][m] != nil {
				out = append(out, m+" "+p)
			}
		}
	}
	return out
}

// Route is the metrics label of r: its path when a route serves it, else UnmatchedRoute.
func (rt *Router) Route(r *http.Request) string {
	if rt.routes[r.URL.Path][r.Method] != nil {
		return r.URL.Path
	}
	return UnmatchedRoute
}

// ServeHTTP serves r as described on Router.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if h := rt.routes[p][r.Method]; h != nil {
		h.ServeHTTP(w, r)
		return
	}
	if alt := toggleSlash(p); p != "/" && r.Method != http.MethodConnect && rt.routes[alt][r.Method] != nil {
		code := http.StatusMovedPermanently
		if r.Method != http.MethodGet {
			code = http.StatusTemporaryRedirect
		}
		u := *r.URL
		u.Path = alt
		http.Redirect(w, r, u.String(), code)
		return
	}
	var allowed []string
	for _, m := range rt.methods {
		if rt.routes[p][m] != nil {
			allowed = append(allowed, m)
		}
	}
	if len(allowed) > 0 {
		httperror.MethodNotAllowed(w, r.Method, allowed...)
		return
	}
	httperror.Write(w, registry.Errorf(registry.ENOTFOUND, "no route %s", p)) // for any method (else 405): HEAD and GET alike
}

func toggleSlash(p string) string {
	if len(p) > 1 && strings.HasSuffix(p, "/") {
		return p[:len(p)-1]
	}
	return p + "/"
}

// Recover answers a panic in next with 500 (logged once, as an internal error), except
// http.ErrAbortHandler, which net/http handles itself.
func Recover(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if rec := recover(); rec != nil {
				if rec == http.ErrAbortHandler { //nolint:errorlint // net/http panics with the value itself
					panic(rec)
				}
				httperror.Reply(w, r, logger, fmt.Errorf("panic: %v", rec))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// AccessLog logs every request at debug level (replies of 500 and more at warn): method, path,
// status, time taken and the client address (ClientIP).
func AccessLog(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		remote := ClientAddr(r, nil)
		if remote == "" {
			remote = r.RemoteAddr
		}
		LogRequest(logger, r, sw.status, time.Since(start), remote)
	})
}

// LogRequest writes the access-log record of one answered request (status 0 counts as 200).
func LogRequest(logger *slog.Logger, r *http.Request, status int, took time.Duration, remote string) {
	if status == 0 {
		status = http.StatusOK
	}
	level := slog.LevelDebug
	if status >= 500 {
		level = slog.LevelWarn
	}
	logger.Log(r.Context(), level, "http request", "method", r.Method,
		"path", r.URL.Path, "status", status, "took", took, "remote", remote)
}
