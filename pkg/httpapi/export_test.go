package httpapi

// APIRoutes lists "METHOD path" of every route of the api's router for d (the proxied notifier
// routes are not in it).
func APIRoutes(d APIDeps) []string {
	var out []string
	for _, r := range newAPIEngine(d, newAPIMetrics(nil)).Routes() {
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

// NotifierRoutes lists "METHOD path" of every gin route of the notifier for d (the intake and
// /ws are mounted beside it).
func NotifierRoutes(d NotifierDeps) ([]string, error) {
	e, err := newNotifierEngine(d)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range e.Routes() {
		out = append(out, r.Method+" "+r.Path)
	}
	return out, nil
}
