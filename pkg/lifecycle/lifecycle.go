// Package lifecycle holds what every canistry binary does around its real work: start-up
// (configuration, store, bus, Base), a JSON slog logger, the heartbeat loop behind GET
// /system/status, and an ordered shutdown that undoes start-up in reverse within one deadline.
// The HTTP server itself is pkg/httpserver.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// NewLogger returns a JSON logger at level that tags every record with the binary's name.
func NewLogger(w io.Writer, level slog.Level, binary string) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})
	return slog.New(h).With("binary", binary)
}

// Heartbeat calls beat now and then every interval until ctx ends. A failed beat is logged and
// retried at the next tick: a database hiccup must not stop the process.
func Heartbeat(ctx context.Context, interval time.Duration, logger *slog.Logger, beat func(context.Context) error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	failing := false
	for {
		bctx, cancel := context.WithTimeout(ctx, interval)
		err := beat(bctx)
		cancel()
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			logger.Error("heartbeat failed", "err", err)
			failing = true
		case err == nil && failing:
			logger.Info("heartbeat recovered")
			failing = false
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Stack collects shutdown steps while a binary starts and runs them in reverse.
type Stack struct {
	steps []step
}

type step struct {
	name string
	fn   func(context.Context) error
}

// Push adds a shutdown step; steps run last-pushed first.
func (s *Stack) Push(name string, fn func(context.Context) error) {
	s.steps = append(s.steps, step{name, fn})
}

// PushFunc adds a step that cannot fail.
func (s *Stack) PushFunc(name string, fn func()) {
	s.Push(name, func(context.Context) error { fn(); return nil })
}

// Shutdown runs every step in reverse order, all within timeout, logging each, and returns the
// joined errors. A step that overruns the deadline still gets its turn with a done context.
func (s *Stack) Shutdown(timeout time.Duration, logger *slog.Logger) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var errs []error
	for i := len(s.steps) - 1; i >= 0; i-- {
		st := s.steps[i]
		start := time.Now()
		if err := st.fn(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", st.name, err))
			logger.Error("shutdown step failed", "step", st.name, "err", err)
			continue
		}
		logger.Debug("stopped", "step", st.name, "took", time.Since(start).String())
	}
	s.steps = nil
	return errors.Join(errs...)
}
