package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the writer goroutine and the polling test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	var out, errOut syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-demo", "tokens=1,miners=2", "-tick", "1ms"}, &out, &errOut)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(out.String(), "miner ") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no canister list printed; stdout %q stderr %q", out.String(), errOut.String())
		}
		select {
		case err := <-done:
			t.Fatalf("run ended early: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	if !strings.Contains(out.String(), "IC_FETCH_ROOT_KEY=true") || !strings.Contains(out.String(), "shutting down") {
		t.Errorf("stdout = %q", out.String())
	}
}

func TestRun_BadDemoSpec(t *testing.T) {
	var out, errOut syncBuffer
	if err := run(t.Context(), []string{"-demo", "dragons=3"}, &out, &errOut); err == nil {
		t.Fatal("want error for unknown demo kind")
	}
}
