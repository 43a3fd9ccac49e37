package bus_test

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"canistry/pkg/bus"
)

func TestDataDirToken_CreatedOnce0600(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", bus.TokenFile)
	var wg sync.WaitGroup
	tokens := make([]string, 8)
	for i := range tokens {
		wg.Go(func() {
			tok, fixed, err := bus.DataDirToken(path)
			if err != nil || fixed {
				t.Errorf("DataDirToken: %q, fixed %v, %v", tok, fixed, err)
			}
			tokens[i] = tok
		})
	}
	wg.Wait()
	for _, tok := range tokens {
		if tok != tokens[0] || len(tok) != 64 {
			t.Fatalf("tokens disagree or are short: %q", tokens)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %04o, want 0600", fi.Mode().Perm())
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".nats.token.*"))
	if len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

func TestDataDirToken_FixesLooseMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), bus.TokenFile)
	if err := os.WriteFile(path, []byte("kept-token\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	tok, fixed, err := bus.DataDirToken(path)
	if err != nil || tok != "kept-token" || !fixed {
		t.Fatalf("got %q, fixed %v, %v", tok, fixed, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %04o, want 0600", fi.Mode().Perm())
	}
}

func TestDataDirToken_Refuses(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	asDir := filepath.Join(dir, "dir")
	if err := os.Mkdir(asDir, 0o700); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("the-secret-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(secret, link); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{empty, asDir, link} {
		_, _, err := bus.DataDirToken(p)
		if err == nil || !strings.Contains(err.Error(), p) || strings.Contains(err.Error(), "the-secret-token") {
			t.Errorf("%s: error %v, want one naming the file and not the token", p, err)
		}
	}
}
