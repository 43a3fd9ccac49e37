package tlsconfig_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"canistry/pkg/tlsconfig"
)

// selfSignedMessage loads dir's pair and returns the log line about a self-signed certificate,
// or "" when there is none.
func selfSignedMessage(t *testing.T, dir string, localDev bool) string {
	t.Helper()
	logs := &syncBuffer{}
	if _, err := tlsconfig.New(tlsconfig.Options{CertPath: certPath(dir), KeyPath: keyPath(dir), LocalDev: localDev},
		slog.New(slog.NewTextHandler(logs, nil))); err != nil {
		t.Fatal(err)
	}
	for l := range strings.Lines(logs.String()) {
		if strings.Contains(l, "self-signed") {
			return l
		}
	}
	return ""
}

// TestNew_GenerateCertScriptIsSelfSigned runs the real scripts/generate_cert.sh: its leaf
// (keyUsage=digitalSignature only) must be recognised as self-signed.
func TestNew_GenerateCertScriptIsSelfSigned(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	script, err := filepath.Abs("../../scripts/generate_cert.sh")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cmd := exec.Command("bash", script, "--force", "dev.example")
	cmd.Env = append(os.Environ(), "CERT_DIR="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generate_cert.sh: %v\n%s", err, out)
	}
	if line := selfSignedMessage(t, dir, false); !strings.Contains(line, "level=WARN") || !strings.Contains(line, "outcalls") {
		t.Errorf("without LOCAL_DEV: self-signed message = %q, want the IC outcalls warning", line)
	}
	if line := selfSignedMessage(t, dir, true); !strings.Contains(line, "level=INFO") || !strings.Contains(line, "LOCAL_DEV") {
		t.Errorf("with LOCAL_DEV: self-signed message = %q, want the LOCAL_DEV note", line)
	}
}

// TestNew_CASignedSameNameNotSelfSigned: a leaf signed by a CA whose name equals the leaf's
// subject (issuer == subject) is not self-signed: its signature is the CA's, not its own.
func TestNew_CASignedSameNameNotSelfSigned(t *testing.T) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	name := pkix.Name{CommonName: "same name"}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: name,
		NotBefore: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage: x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: name, DNSNames: []string{"localhost"},
		NotBefore: caTmpl.NotBefore, NotAfter: caTmpl.NotAfter, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, leafTmpl, caTmpl, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(leafKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFile(t, keyPath(dir), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	writeFile(t, certPath(dir), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	if line := selfSignedMessage(t, dir, false); line != "" {
		t.Errorf("CA-signed certificate flagged as self-signed: %s", line)
	}
}
