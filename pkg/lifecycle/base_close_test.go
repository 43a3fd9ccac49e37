package lifecycle_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"canistry/pkg/config"
	"canistry/pkg/lifecycle"
)

// TestBase_CloseUndoesOnce: a listener from Base.Listen is closed by Close also when the server
// never ran (an error path of a main) and when the server's drain closed it first, without a
// spurious error; a second Close runs nothing again.
func TestBase_CloseUndoesOnce(t *testing.T) {
	for _, serve := range []bool{false, true} {
		t.Run(map[bool]string{false: "NotServed", true: "Served"}[serve], func(t *testing.T) {
			b := &lifecycle.Base{Name: "test", Config: config.Config{ShutdownTimeout: 10 * time.Second},
				Logger: slog.New(slog.DiscardHandler)}
			ran := 0
			b.Stack.PushFunc("first step", func() { ran++ })
			ln, err := b.Listen(t.Context(), "127.0.0.1:0", false)
			if err != nil {
				t.Fatal(err)
			}
			if serve {
				srv := b.Serve(ln, http.NotFoundHandler(), nil)
				defer func() { <-srv.Done() }()
			}
			if err := b.Close(); err != nil {
				t.Fatalf("Close = %v", err)
			}
			if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
				t.Errorf("Accept after Close = %v, want net.ErrClosed", err)
			}
			if c, err := (&net.Dialer{}).DialContext(context.Background(), "tcp", ln.Addr().String()); err == nil {
				c.Close()
				t.Error("the listener still accepts connections after Close")
			}
			if err := b.Close(); err != nil || ran != 1 {
				t.Errorf("second Close = %v, steps run %d times, want nil and once", err, ran)
			}
		})
	}
}
