package registry

import "time"

// Process names.
const (
	ProcessAPI      = "api"
	ProcessPoller   = "poller"
	ProcessNotifier = "notifier"
)

// Process is a heartbeat row of one running binary.
type Process struct {
	Name        string
	Instance    string // host:pid, so several instances of one binary can be told apart
	Version     string
	StartedAt   time.Time
	HeartbeatAt time.Time
	Addr        string
}

// Alive reports whether p beat within maxAge of now.
func (p *Process) Alive(now time.Time, maxAge time.Duration) bool {
	return now.Sub(p.HeartbeatAt) <= maxAge
}
