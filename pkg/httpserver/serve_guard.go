package httpserver

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"canistry/pkg/httperror"
	"canistry/pkg/registry"
)

// guard runs ahead of every handler of a Server:
//
//   - HTTP/2 prior knowledge on an HTTP/1.x connection ("PRI * HTTP/2.0") is answered 400;
//   - a request that had both Content-Length and Transfer-Encoding (request smuggling behind a
//     proxy) is answered 400 and its connection closed, so nothing after it is served;
//   - any other HTTP/1.x request with a Transfer-Encoding is served, and its connection closed
//     after the reply (wireConn follows the framing only up to that request);
//   - a declared Content-Length over maxBody is answered 413 at once, before a byte of the body
//     is read, and the connection closed; a chunked body is cut off at maxBody (the handler's
//     read fails with *http.MaxBytesError and net/http closes the connection);
//   - HTTP/1.1 over TLS gets its Request.TLS back (TLS is terminated before net/http, wire.go);
//   - a path with an encoded slash (%2F) is answered 400 (EncodedSlash): routers match the
//     decoded path, where /canisters%2F<id> would be /canisters/<id> and /x%2F a trailing slash
//     to redirect, so it never reaches one.
func guard(next http.Handler, maxBody int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wc := wireConnOf(r)
		if wc != nil && wc.tlsState != nil && r.TLS == nil {
			r = r.WithContext(r.Context())
			r.TLS = wc.tlsState
		}
		if wc != nil && r.ProtoMajor != 1 { // "PRI * HTTP/2.0": h2 without TLS is not served
			refuse(w, r, registry.Errorf(registry.EINVALID, "HTTP/%d.%d is not served here: use HTTP/1.1, or HTTPS for HTTP/2",
				r.ProtoMajor, r.ProtoMinor))
			return
		}
		if wc != nil && len(r.TransferEncoding) > 0 {
			seen, both := wc.teFraming()
			if !seen || both {
				refuse(w, r, registry.Errorf(registry.EINVALID,
					"a request may not have both Content-Length and Transfer-Encoding"))
				return
			}
			w.Header().Set("Connection", "close")
		}
		if err := EncodedSlash(r); err != nil {
			httperror.Write(w, err)
			return
		}
		if maxBody > 0 && r.ContentLength > maxBody {
			refuse(w, r, registry.Errorf(registry.ETOOLARGE,
				"the body is larger than %d bytes", maxBody))
			return
		}
		if maxBody > 0 && r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		}
		next.ServeHTTP(w, r)
	})
}

// refuse answers err without reading the body and closes the connection. Closing the body
// first tells net/http it was abandoned, so that it shuts the connection down gracefully
// (FIN, then a short wait) and the client can read the reply before the reset.
func refuse(w http.ResponseWriter, r *http.Request, err error) {
	if r.Body != nil {
		_ = r.Body.Close()
	}
	w.Header().Set("Connection", "close")
	httperror.Write(w, err)
}

// EncodedSlash refuses (EINVALID) a path with an encoded slash, %2F: no path parameter of any
// route holds a slash, and a router sees the decoded path, where the escape would become a
// separator.
func EncodedSlash(r *http.Request) error {
	if strings.Contains(strings.ToLower(r.URL.RawPath), "%2f") {
		return registry.Errorf(registry.EINVALID, "the path %.100q has an encoded slash (%%2F), which no route takes", r.URL.RawPath)
	}
	return nil
}

// NoQuery refuses (EINVALID) a request with query parameters, for the routes that take none
// (every write): the same rule as the reads, which refuse any parameter they do not list.
func NoQuery(r *http.Request) error {
	if r.URL.RawQuery == "" {
		return nil
	}
	vals, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil || len(vals) == 0 {
		return registry.Errorf(registry.EINVALID, "this route takes no query parameters, not %.100q", r.URL.RawQuery)
	}
	return registry.Errorf(registry.EINVALID, "unknown query parameter %q (this route takes none)", slices.Sorted(maps.Keys(vals))[0])
}
