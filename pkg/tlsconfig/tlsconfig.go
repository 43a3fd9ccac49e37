// Package tlsconfig serves HTTPS for the api and the notifier from a certificate and key on disk,
// and picks up a renewed certificate without a restart.
//
// Usage from a binary, when USE_HTTPS is true:
//
//	certs, err := tlsconfig.Load(cfg.SSLCertPath, cfg.SSLKeyPath, cfg.LocalDev, logger)
//	if err != nil {
//		return fmt.Errorf("load certificate: %w", err)
//	}
//	ln, err := net.Listen("tcp", cfg.APIAddr)
//	if err != nil {
//		return fmt.Errorf("listen: %w", err)
//	}
//	srv.Serve(certs.Listener(ln)) // TLS 1.2+, HTTP/2 and HTTP/1.1
//
// or, equivalently, srv.TLSConfig = certs.TLSConfig() and srv.ServeTLS(ln, "", "").
//
// Hot reload: every handshake (at most once per [Options.CheckInterval]) compares the size,
// modification time and inode of both files (following symlinks, as Let's Encrypt's live/
// directory uses) with the last ones seen. When they changed, the pair is loaded again; if the
// new pair is good, new handshakes use it, and if it is broken (half written, key and certificate
// not matching) the previous certificate stays and one error is logged for that change. Open
// connections keep the certificate they were established with.
//
// A self-signed certificate is accepted either way, because it is fine for development: with
// localDev it is logged at info level, otherwise a warning says that IC canister HTTPS outcalls
// will reject it (they need a publicly trusted certificate).
package tlsconfig

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultCheckInterval is how often [Load] lets a handshake look at the files on disk.
const DefaultCheckInterval = 5 * time.Second

// Options configures a [Reloader]. CertPath and KeyPath are required.
type Options struct {
	CertPath string // PEM certificate chain, leaf first (Let's Encrypt's fullchain.pem)
	KeyPath  string // PEM private key
	LocalDev bool   // a self-signed certificate is expected (LOCAL_DEV)

	// CheckInterval is the least time between two looks at the files. Zero looks on every
	// handshake, which costs two stat calls and is what tests use.
	CheckInterval time.Duration

	// Now returns the current time; nil means time.Now. Tests inject a clock here.
	Now func() time.Time
}

// Reloader holds the current certificate and reloads it when its files change. It is safe for
// concurrent use by any number of handshakes.
type Reloader struct {
	opts   Options
	logger *slog.Logger
	now    func() time.Time

	cert atomic.Pointer[tls.Certificate]

	mu        sync.Mutex // guards the fields below; held only while checking the files
	checkedAt time.Time  // last look at the files
	loaded    fileStamp  // stamp of the pair in cert
	failed    fileStamp  // stamp of the last pair that failed to load, logged once
}

// Load reads the certificate and key at certPath and keyPath and returns a Reloader that checks
// them for changes every [DefaultCheckInterval]. It fails if the pair cannot be loaded now.
func Load(certPath, keyPath string, localDev bool, logger *slog.Logger) (*Reloader, error) {
	return New(Options{
		CertPath:      certPath,
		KeyPath:       keyPath,
		LocalDev:      localDev,
		CheckInterval: DefaultCheckInterval,
	}, logger)
}

// New is [Load] with every option; it fails if the pair cannot be loaded now.
func New(opts Options, logger *slog.Logger) (*Reloader, error) {
	if opts.CertPath == "" || opts.KeyPath == "" {
		return nil, errors.New("tls: certificate and key paths are required (SSL_CERT_PATH, SSL_KEY_PATH)")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r := &Reloader{opts: opts, logger: logger, now: opts.Now}
	if r.now == nil {
		r.now = time.Now
	}
	st, err := stampFiles(opts.CertPath, opts.KeyPath)
	if err != nil {
		return nil, err
	}
	cert, err := loadPair(opts.CertPath, opts.KeyPath)
	if err != nil {
		return nil, err
	}
	r.cert.Store(cert)
	r.loaded = st
	r.checkedAt = r.now()
	r.describe(cert, "tls certificate loaded")
	return r, nil
}

// TLSConfig returns a server configuration: TLS 1.2 or newer, ALPN h2 and http/1.1, and the
// certificate from [Reloader.GetCertificate]. Each call returns a new *tls.Config.
func (r *Reloader) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"h2", "http/1.1"},
		GetCertificate: r.GetCertificate,
	}
}

// Listener wraps ln so that every accepted connection speaks TLS with [Reloader.TLSConfig].
// http.Server.Serve on the result serves HTTP/2 as well as HTTP/1.1.
func (r *Reloader) Listener(ln net.Listener) net.Listener {
	return tls.NewListener(ln, r.TLSConfig())
}

// GetCertificate returns the current certificate, first reloading it if its files changed. It
// never fails once the Reloader exists: a broken file keeps the previous certificate.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.check()
	return r.cert.Load(), nil
}

// Leaf returns the parsed leaf of the current certificate, for status pages (expiry, names).
func (r *Reloader) Leaf() *x509.Certificate {
	return r.cert.Load().Leaf
}

// check looks at the files if CheckInterval has passed, and swaps in a changed pair.
func (r *Reloader) check() {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if r.opts.CheckInterval > 0 && now.Sub(r.checkedAt) < r.opts.CheckInterval {
		return
	}
	r.checkedAt = now

	st, err := stampFiles(r.opts.CertPath, r.opts.KeyPath)
	if err != nil {
		r.fail(fileStamp{err: err.Error()}, err)
		return
	}
	if st == r.loaded {
		r.failed = fileStamp{} // back to the loaded files: a later breakage is news again
		return
	}
	if st == r.failed {
		return // already logged
	}
	cert, err := loadPair(r.opts.CertPath, r.opts.KeyPath)
	if err != nil {
		r.fail(st, err)
		return
	}
	r.loaded, r.failed = st, fileStamp{}
	old := r.cert.Swap(cert)
	if bytes.Equal(old.Leaf.Raw, cert.Leaf.Raw) {
		return // touched or rewritten with the same content
	}
	r.describe(cert, "tls certificate reloaded")
}

// fail logs err once for the files' state st and keeps the current certificate.
func (r *Reloader) fail(st fileStamp, err error) {
	if st == r.failed {
		return
	}
	r.failed = st
	r.logger.Error("tls certificate not reloaded, keeping the previous one",
		"cert", r.opts.CertPath, "key", r.opts.KeyPath, "err", err)
}

// describe logs what cert is and warns about what would break IC outcalls.
func (r *Reloader) describe(cert *tls.Certificate, msg string) {
	leaf := cert.Leaf
	r.logger.Info(msg, "cert", r.opts.CertPath, "subject", leaf.Subject.String(),
		"dns_names", leaf.DNSNames, "not_after", leaf.NotAfter.UTC().Format(time.RFC3339))
	if now := r.now(); now.After(leaf.NotAfter) {
		r.logger.Warn("tls certificate has expired", "cert", r.opts.CertPath,
			"not_after", leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if !selfSigned(leaf) {
		return
	}
	if r.opts.LocalDev {
		r.logger.Info("tls certificate is self-signed, allowed because LOCAL_DEV is set", "cert", r.opts.CertPath)
		return
	}
	r.logger.Warn("tls certificate is self-signed: IC canister HTTPS outcalls will reject it; "+
		"use a publicly trusted certificate (Let's Encrypt) or set LOCAL_DEV=true for development",
		"cert", r.opts.CertPath)
}

// selfSigned reports whether leaf is its own issuer and signed by its own key. The signature is
// checked directly rather than with CheckSignatureFrom, which also demands that the parent be a
// CA allowed to sign certificates: a development leaf such as generate_cert.sh makes
// (keyUsage=digitalSignature, no certSign) is self-signed all the same.
func selfSigned(leaf *x509.Certificate) bool {
	if !bytes.Equal(leaf.RawIssuer, leaf.RawSubject) {
		return false
	}
	return leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature) == nil
}

// loadPair reads and parses a certificate chain and its key; the result has Leaf set.
func loadPair(certPath, keyPath string) (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return nil, fmt.Errorf("load tls key pair %s, %s: %w", certPath, keyPath, err)
	}
	if cert.Leaf == nil {
		leaf, err := x509.ParseCertificate(cert.Certificate[0])
		if err != nil {
			return nil, fmt.Errorf("parse tls certificate %s: %w", certPath, err)
		}
		cert.Leaf = leaf
	}
	return &cert, nil
}

// fileStamp identifies the state of the two files cheaply. err is set instead when a file could
// not be looked at, so that the same problem is logged once.
type fileStamp struct {
	cert, key fileID
	err       string
}

type fileID struct {
	size       int64
	mtime      int64 // nanoseconds
	ctime      int64 // nanoseconds; changes on chmod and rename too
	dev, inode uint64
}

func stampFiles(certPath, keyPath string) (fileStamp, error) {
	c, err := statFile(certPath)
	if err != nil {
		return fileStamp{}, err
	}
	k, err := statFile(keyPath)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{cert: c, key: k}, nil
}

func statFile(path string) (fileID, error) {
	fi, err := os.Stat(path) // follows symlinks: live/ -> archive/ in Let's Encrypt
	if err != nil {
		return fileID{}, fmt.Errorf("stat tls file: %w", err)
	}
	id := fileID{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	addSys(&id, fi)
	return id, nil
}
