package lifecycle_test

import (
	"net"
	"strings"
	"testing"

	"canistry/pkg/lifecycle"
	"canistry/pkg/store/pgtest"
)

// TestCheckConfig_Database: check-config connects to DATABASE_URL (a real PostgreSQL) without
// migrating it, and reports a server that refuses or never answers as a problem within
// DatabaseCheckTimeout, never showing the password.
func TestCheckConfig_Database(t *testing.T) {
	srv := pgtest.New(t)
	refused := closedPort(t)
	silent := silentListener(t)
	cases := []struct {
		name    string
		url     string
		wantErr string
	}{
		{"reachable", srv.Database(t), ""},
		{"refused", "postgres://canistry:dbpass-secret@" + refused + "/x?sslmode=disable", "DATABASE_URL unreachable"},
		{"never answers", "postgres://canistry:dbpass-secret@" + silent + "/x?sslmode=disable&connect_timeout=60", "DATABASE_URL unreachable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"DATA_DIR": t.TempDir(), "DATABASE_URL": tc.url}
			var out strings.Builder
			b, err := lifecycle.Start(t.Context(), "api", []string{"-env-file", "", "check-config"}, getenv(env), &out, lifecycle.Options{})
			if b != nil {
				t.Fatal("check-config returned a Base")
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("check-config: %v\n%s", err, out.String())
			case tc.wantErr == "" && !strings.Contains(out.String(), "postgres reachable"):
				t.Errorf("output lacks the reachable database:\n%s", out.String())
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("check-config = %v, want %q", err, tc.wantErr)
			}
			if strings.Contains(out.String(), "dbpass-secret") || (err != nil && strings.Contains(err.Error(), "dbpass-secret")) {
				t.Errorf("the password was shown: %v\n%s", err, out.String())
			}
		})
	}
}

func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// silentListener accepts connections and never writes: a server that hangs during start-up.
func silentListener(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}
