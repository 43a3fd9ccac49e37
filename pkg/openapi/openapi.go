// Package openapi holds canistry's one OpenAPI 3.1 document (openapi.json, the api's routes and
// the notifier's, which the api proxies) and the notifier's own document cut from it, so that the
// outcall contract is written once. The api (httpapi) and the notifier (cmd/notifier) serve them
// at GET /openapi.json; tests validate real responses of every route against them.
package openapi

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

//go:embed openapi.json
var base []byte

// parts holds one fragment per feature (parts/<feature>.json), merged into the base document by
// Merge so that features own their paths and schemas in their own files (README in parts/).
//
//go:embed parts
var parts embed.FS

// API is the OpenAPI 3.1 description of the api's routes, served by the api at GET /openapi.json:
// openapi.json with every fragment of parts/ merged in.
var API = mustMerge(base, parts)

// notifierPaths are the paths of the api's document that the notifier serves itself; fragments
// add theirs with "x-notifier-paths".
var notifierPaths = []string{"/miner-notifications", "/ws", "/ws/client.js", "/ws/client.d.ts", "/ws-status", "/test", "/healthz", "/readyz", "/metrics", "/openapi.json"}

// Notifier returns the notifier's own OpenAPI document, cut from API so that the outcall
// contract is written once: its paths, without the 502 only the api's proxy answers, and the
// components they use.
func Notifier() ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(API, &doc); err != nil {
		return nil, fmt.Errorf("parse openapi.json: %w", err)
	}
	paths, _ := doc["paths"].(map[string]any)
	kept := map[string]any{}
	for _, p := range notifierPaths {
		item, ok := paths[p].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("openapi.json has no path %s", p)
		}
		for _, op := range item {
			if op, ok := op.(map[string]any); ok {
				if responses, ok := op["responses"].(map[string]any); ok {
					delete(responses, "502")
				}
			}
		}
		kept[p] = item
	}
	kept["/openapi.json"].(map[string]any)["options"] = notifierNoPreflight
	info, _ := doc["info"].(map[string]any)
	info["title"] = "canistry notifier"
	info["description"] = "Canister HTTPS outcall intake, WebSocket fan-out and the live page. " +
		"The api serves the same routes on its origin by proxy; its document describes the registry."
	out := map[string]any{"openapi": doc["openapi"], "info": info, "servers": doc["servers"], "paths": kept}
	tags := map[string]bool{}
	for _, item := range kept {
		for _, op := range item.(map[string]any) {
			if op, ok := op.(map[string]any); ok {
				for _, t := range asSlice(op["tags"]) {
					tags[fmt.Sprint(t)] = true
				}
			}
		}
	}
	var keptTags []any
	for _, t := range asSlice(doc["tags"]) {
		if m, ok := t.(map[string]any); ok && tags[fmt.Sprint(m["name"])] {
			keptTags = append(keptTags, t)
		}
	}
	out["tags"] = keptTags
	out["components"] = usedComponents(doc["components"].(map[string]any), kept)
	return json.MarshalIndent(out, "", "  ")
}

// notifierNoPreflight replaces the api's CORS preflight of /openapi.json in the notifier's
// document: the notifier answers OPTIONS with its one 405 (Allow: GET, HEAD).
var notifierNoPreflight = map[string]any{
	"operationId": "openapiPreflight",
	"summary":     "No CORS preflight: 405",
	"description": "The notifier serves its document without CORS; OPTIONS answers 405 in the one error shape.",
	"tags":        []any{}, "security": []any{},
	"responses": map[string]any{"405": map[string]any{
		"description": "method not allowed",
		"headers":     map[string]any{"Allow": map[string]any{"description": "GET, HEAD", "schema": map[string]any{"type": "string"}}},
		"content":     map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}},
	}},
}

// usedComponents returns the components that from refers to, directly or through each other.
func usedComponents(all map[string]any, from any) map[string]any {
	used := map[string]any{}
	use := func(kind, name string) bool {
		sect, _ := all[kind].(map[string]any)
		if sect[name] == nil {
			return false
		}
		dst, _ := used[kind].(map[string]any)
		if dst == nil {
			dst = map[string]any{}
			used[kind] = dst
		}
		if dst[name] != nil {
			return false
		}
		dst[name] = sect[name]
		return true
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for _, req := range asSlice(v["security"]) { // an operation's security requirements
				for scheme := range asMap(req) {
					use("securitySchemes", scheme)
				}
			}
			if ref, ok := v["$ref"].(string); ok {
				if kind, name, ok := strings.Cut(strings.TrimPrefix(ref, "#/components/"), "/"); ok && use(kind, name) {
					walk(asMap(all[kind])[name])
				}
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(from)
	return used
}

// Merge returns doc with every parts/*.json fragment of fsys merged in. A fragment is an object
// with any of "paths", "components" (by section), "tags" and "x-notifier-paths"; a path,
// component or tag that the document or an earlier fragment already has is an error, so that
// two features never silently replace each other's definitions.
func Merge(doc []byte, fsys fs.FS) ([]byte, []string, error) {
	var out map[string]any
	if err := json.Unmarshal(doc, &out); err != nil {
		return nil, nil, fmt.Errorf("parse openapi.json: %w", err)
	}
	names, err := fs.Glob(fsys, "parts/*.json")
	if err != nil {
		return nil, nil, err
	}
	sort.Strings(names)
	var notifier []string
	for _, name := range names {
		raw, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, nil, err
		}
		var frag map[string]any
		if err := json.Unmarshal(raw, &frag); err != nil {
			return nil, nil, fmt.Errorf("parse %s: %w", name, err)
		}
		if err := mergeFragment(out, frag, path.Base(name)); err != nil {
			return nil, nil, err
		}
		for _, p := range asSlice(frag["x-notifier-paths"]) {
			notifier = append(notifier, fmt.Sprint(p))
		}
	}
	merged, err := json.MarshalIndent(out, "", "  ")
	return merged, notifier, err
}

func mergeFragment(doc, frag map[string]any, name string) error {
	for key := range frag {
		switch key {
		case "paths", "components", "tags", "x-notifier-paths":
		default:
			return fmt.Errorf("%s: unknown top-level key %q", name, key)
		}
	}
	if err := mergeInto(doc, "paths", asMap(frag["paths"]), name); err != nil {
		return err
	}
	comps := asMap(doc["components"])
	if comps == nil {
		comps = map[string]any{}
		doc["components"] = comps
	}
	for sect, defs := range asMap(frag["components"]) {
		if err := mergeInto(comps, sect, asMap(defs), name); err != nil {
			return err
		}
	}
	have := map[string]bool{}
	for _, t := range asSlice(doc["tags"]) {
		have[fmt.Sprint(asMap(t)["name"])] = true
	}
	for _, t := range asSlice(frag["tags"]) {
		n := fmt.Sprint(asMap(t)["name"])
		if have[n] {
			return fmt.Errorf("%s: tag %q is already defined", name, n)
		}
		have[n] = true
		doc["tags"] = append(asSlice(doc["tags"]), t)
	}
	return nil
}

func mergeInto(parent map[string]any, key string, add map[string]any, name string) error {
	if len(add) == 0 {
		return nil
	}
	dst := asMap(parent[key])
	if dst == nil {
		dst = map[string]any{}
		parent[key] = dst
	}
	for k, v := range add {
		if _, dup := dst[k]; dup {
			return fmt.Errorf("%s: %s %q is already defined", name, key, k)
		}
		dst[k] = v
	}
	return nil
}

func mustMerge(doc []byte, fsys fs.FS) []byte {
	merged, notifier, err := Merge(doc, fsys)
	if err != nil {
		panic("openapi: " + err.Error())
	}
	notifierPaths = append(notifierPaths, notifier...)
	return merged
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}
