// Package openapitest checks real replies against an OpenAPI document, for the tests of every
// package that serves or proxies a documented route (the api, the notifier, the relay): one
// loader, one router and one validation, so that they all check the same way.
package openapitest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// ErrNotRouted is Check's error for a request the document has no operation for.
var ErrNotRouted = errors.New("not in the document")

// Document is a valid OpenAPI document with a router for requests to one server.
type Document struct {
	Spec   *openapi3.T
	router routers.Router
}

// Load parses raw, fails tb unless it is a valid OpenAPI document, and routes requests sent to
// base (a URL such as httptest.Server.URL).
func Load(tb testing.TB, raw []byte, base string) *Document {
	tb.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(raw)
	if err != nil {
		tb.Fatalf("load the OpenAPI document: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		tb.Fatalf("not a valid OpenAPI document: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: base}}
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		tb.Fatal(err)
	}
	return &Document{Spec: doc, router: r}
}

// Fetch is Load of the document the server at base serves at GET /openapi.json.
func Fetch(tb testing.TB, base string) *Document {
	tb.Helper()
	res, err := http.Get(base + "/openapi.json")
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		tb.Fatalf("GET %s/openapi.json: %d, %v", base, res.StatusCode, err)
	}
	return Load(tb, raw, base)
}

// Check validates a reply (status, header, body) to req against the operation the document
// defines for req, every undocumented status, field and type included. It returns the
// operation's id, or ErrNotRouted when the document has no operation for req.
func (d *Document) Check(ctx context.Context, req *http.Request, status int, header http.Header, body []byte) (string, error) {
	route, params, err := d.router.FindRoute(req)
	if err != nil {
		return "", fmt.Errorf("%s %s: %w (%v)", req.Method, req.URL.Path, ErrNotRouted, err)
	}
	err = openapi3filter.ValidateResponse(ctx, &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 status, Header: header, Body: io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	})
	return route.Operation.OperationID, err
}
