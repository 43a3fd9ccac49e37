// Package metrics holds what the packages that export Prometheus series share: registering a
// package's collectors on the binary's registry (each binary owns one; nothing registers
// globally). Each package registers its own series (ws.Hub, eventlog.Tailer, webhook.Worker…).
package metrics

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Register registers every collector with reg; what names them in the error ("websocket").
func Register(reg prometheus.Registerer, what string, cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("register %s metrics: %w", what, err)
		}
	}
	return nil
}
