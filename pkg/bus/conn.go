package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"canistry/pkg/config"
	"canistry/pkg/registry"
)

// Subjects.
const (
	// SubjectRefresh asks the poller to refresh one canister ({"canister_id"}) or all ({}).
	SubjectRefresh = "canistry.refresh"
	// QueueRefresh is the poller's queue group: each refresh request is handled by one poller.
	QueueRefresh = "poller"
	// SubjectEventsPrefix prefixes every event subject: canistry.events.<event>.
	SubjectEventsPrefix = "canistry.events."
	// SubjectEventsAll matches every event.
	SubjectEventsAll = "canistry.events.>"
)

// EventSubject returns the subject an event is published on.
func EventSubject(event string) string { return SubjectEventsPrefix + event }

// RefreshRequest is the payload of SubjectRefresh. An empty CanisterID means all canisters.
type RefreshRequest struct {
	CanisterID string `json:"canister_id,omitempty"`
}

// Conn is a client connection that reconnects forever. While the server is away, publishes are
// buffered (up to nats.go's reconnect buffer) and subscriptions are restored on reconnect.
type Conn struct {
	nc     *nats.Conn
	logger *slog.Logger
	closed chan struct{}
}

// ConnectConfig configures Connect.
type ConnectConfig struct {
	URL    string
	Token  string
	Name   string // client name shown by the server, e.g. "canistry-poller"
	Logger *slog.Logger
}

// Connect connects to NATS. If the server is not up yet, it returns a Conn that keeps trying in
// the background (RetryOnFailedConnect), so a binary can start before the api.
func Connect(cfg ConnectConfig) (*Conn, error) {
	l := cfg.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	l = l.With("component", "bus")
	closed := make(chan struct{})
	opts := []nats.Option{
		nats.ClosedHandler(func(*nats.Conn) { close(closed) }),
		nats.Name(cfg.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectJitter(100*time.Millisecond, time.Second),
		nats.RetryOnFailedConnect(true),
		nats.PingInterval(10 * time.Second),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if err != nil && !nc.IsClosed() && !nc.IsDraining() {
				l.Warn("NATS disconnected; reconnecting", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { l.Info("NATS reconnected", "url", nc.ConnectedUrlRedacted()) }),
		nats.ErrorHandler(func(_ *nats.Conn, s *nats.Subscription, err error) {
			subj := ""
			if s != nil {
				subj = s.Subject
			}
			l.Error("NATS async error", "subject", subj, "err", err)
		}),
	}
	if cfg.Token != "" {
		opts = append(opts, nats.Token(cfg.Token))
	}
	nc, err := nats.Connect(cfg.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect NATS %s: %w", config.RedactURLs(cfg.URL), err)
	}
	return &Conn{nc: nc, logger: l, closed: closed}, nil
}

// Connected reports whether the connection is up now.
func (c *Conn) Connected() bool { return c.nc.IsConnected() }

// Status is the connection state as text (CONNECTED, RECONNECTING, ...).
func (c *Conn) Status() string { return c.nc.Status().String() }

// Flush waits until the server has processed everything published so far (at most 10 s when
// ctx has no deadline).
func (c *Conn) Flush(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
	}
	return c.nc.FlushWithContext(ctx)
}

// Close drains subscriptions (letting in-flight handlers finish) and closes the connection.
func (c *Conn) Close() {
	if c.nc.IsConnected() {
		if err := c.nc.Drain(); err == nil {
			t := time.NewTimer(5 * time.Second)
			defer t.Stop()
			select {
			case <-c.closed:
				return
			case <-t.C:
			}
		}
	}
	c.nc.Close()
}

// Publish sends v as JSON on subject.
func Publish[T any](c *Conn, subject string, v T) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", subject, err)
	}
	if err := c.nc.Publish(subject, b); err != nil {
		return fmt.Errorf("publish %s: %w", subject, err)
	}
	return nil
}

// PublishEvent sends e on its event subject.
func (c *Conn) PublishEvent(e registry.Event) error { return Publish(c, EventSubject(e.Event), e) }

// RequestRefresh asks the poller to refresh one canister, or all when id is "".
func (c *Conn) RequestRefresh(id registry.CanisterID) error {
	return Publish(c, SubjectRefresh, RefreshRequest{CanisterID: string(id)})
}

// Subscription is an active subscription.
type Subscription struct{ sub *nats.Subscription }

// Unsubscribe stops delivery.
func (s *Subscription) Unsubscribe() error { return s.sub.Unsubscribe() }

// Subscribe delivers every message on subject (in queue group queue when not "") decoded as T
// to fn. A message that does not decode is logged and dropped. fn runs on the subscription's
// goroutine, one message at a time.
func Subscribe[T any](c *Conn, subject, queue string, fn func(subject string, v T)) (*Subscription, error) {
	h := func(m *nats.Msg) {
		var v T
		if err := json.Unmarshal(m.Data, &v); err != nil {
			c.logger.Warn("dropping undecodable message", "subject", m.Subject, "err", err)
			return
		}
		fn(m.Subject, v)
	}
	var sub *nats.Subscription
	var err error
	if queue != "" {
		sub, err = c.nc.QueueSubscribe(subject, queue, h)
	} else {
		sub, err = c.nc.Subscribe(subject, h)
	}
	if err != nil {
		return nil, fmt.Errorf("subscribe %s: %w", subject, err)
	}
	// Slow consumers are reported through the error handler rather than blocking the server.
	_ = sub.SetPendingLimits(65536, 64<<20)
	return &Subscription{sub: sub}, nil
}
