package httpapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"canistry/pkg/registry"
	"canistry/pkg/store"
	"canistry/pkg/version"
)

// NATSState describes the bus as the api sees it.
type NATSState struct {
	Embedded  bool   `json:"embedded"`
	URL       string `json:"url"`
	Connected bool   `json:"connected"`
	Status    string `json:"status"`
	Clients   *int   `json:"clients,omitempty"` // embedded server only
}

type statusDatabase struct {
	Path          string `json:"path"`
	SizeBytes     int64  `json:"size_bytes"`
	SchemaVersion int    `json:"schema_version"`
}

type statusProcess struct {
	Name           string     `json:"name"`
	Alive          bool       `json:"alive"`
	Instance       string     `json:"instance,omitempty"`
	Version        string     `json:"version,omitempty"`
	Addr           string     `json:"addr,omitempty"`
	StartedAt      *time.Time `json:"started_at"`
	HeartbeatAt    *time.Time `json:"heartbeat_at"`
	AliveInstances int        `json:"alive_instances"`
}

type statusReply struct {
	Version       string           `json:"version"`
	StartedAt     time.Time        `json:"started_at"`
	UptimeSeconds int64            `json:"uptime_seconds"`
	Database      statusDatabase   `json:"database"`
	Rows          map[string]int64 `json:"rows"`
	NATS          NATSState        `json:"nats"`
	Processes     []statusProcess  `json:"processes"`
	AllAlive      bool             `json:"all_alive"`
}

// StatusDeps feeds GET /system/status.
type StatusDeps struct {
	Store   *store.Store
	NATS    func() NATSState
	Started time.Time
	// AliveWithin is how recent a heartbeat must be for its process to count as alive.
	AliveWithin time.Duration
	Now         func() time.Time
}

func systemStatus(d StatusDeps, writeErr func(*gin.Context, error)) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx := c.Request.Context()
		now := d.Now().UTC()
		schema, err := d.Store.SchemaVersion(ctx)
		if err != nil {
			writeErr(c, err)
			return
		}
		counts, err := d.Store.Counts(ctx)
		if err != nil {
			writeErr(c, err)
			return
		}
		procs, err := d.Store.Processes(ctx)
		if err != nil {
			writeErr(c, err)
			return
		}
		rep := statusReply{
			Version:       version.Version,
			StartedAt:     d.Started.UTC(),
			UptimeSeconds: int64(now.Sub(d.Started).Seconds()),
			Database:      statusDatabase{Path: d.Store.Path(), SizeBytes: d.Store.SizeBytes(), SchemaVersion: schema},
			Rows:          make(map[string]int64, len(counts)),
			NATS:          d.NATS(),
			AllAlive:      true,
		}
		for _, cnt := range counts {
			rep.Rows[cnt.Table] = cnt.Rows
		}
		for _, name := range []string{registry.ProcessAPI, registry.ProcessPoller, registry.ProcessNotifier} {
			sp := statusProcess{Name: name}
			for i := range procs { // newest heartbeat first
				p := &procs[i]
				if p.Name != name {
					continue
				}
				alive := p.Alive(now, d.AliveWithin)
				if alive {
					sp.AliveInstances++
				}
				if sp.HeartbeatAt == nil {
					started, beat := p.StartedAt, p.HeartbeatAt
					sp.Alive, sp.Instance, sp.Version, sp.Addr = alive, p.Instance, p.Version, p.Addr
					sp.StartedAt, sp.HeartbeatAt = &started, &beat
				}
			}
			rep.AllAlive = rep.AllAlive && sp.Alive
			rep.Processes = append(rep.Processes, sp)
		}
		c.JSON(http.StatusOK, rep)
	}
}
