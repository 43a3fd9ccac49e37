package httpapi

import (
	"context"
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
	Backend       string `json:"backend"` // sqlite or postgres
	Path          string `json:"path"`    // the file, or the PostgreSQL URL without its password
	SizeBytes     int64  `json:"size_bytes"`
	SchemaVersion int    `json:"schema_version"`
}

type statusProcess struct {
	Name        string     `json:"name"`
	Alive       bool       `json:"alive"`
	Instance    string     `json:"instance,omitempty"`
	Version     string     `json:"version,omitempty"`
	Addr        string     `json:"addr,omitempty"`
	StartedAt   *time.Time `json:"started_at"`
	HeartbeatAt *time.Time `json:"heartbeat_at"`
	// HeartbeatAge is how many whole seconds ago HeartbeatAt was (null without a heartbeat).
	HeartbeatAge   *int64 `json:"heartbeat_age_seconds"`
	AliveInstances int    `json:"alive_instances"`
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
	Refresh       statusRefresh    `json:"refresh"`
	Webhooks      statusWebhooks   `json:"webhooks"`
}

// statusRefresh is the poller's latest work over all canisters.
type statusRefresh struct {
	LastAttemptAt *time.Time `json:"last_attempt_at"`
	LastSuccessAt *time.Time `json:"last_success_at"`
}

// StatusDeps feeds GET /system/status.
type StatusDeps struct {
	Store   *store.Store
	NATS    func() NATSState
	Started time.Time
	// AliveWithin is how recent a heartbeat must be for its process to count as alive.
	AliveWithin time.Duration
	Now         func() time.Time
	// AdminAPIKey unlocks the detail (Authorization: Bearer <key>): database path and size,
	// row counts, the NATS URL and client count, and each process's instance (host:pid),
	// address and start time. Without it, or while it is empty, the reply shows health, each
	// process's version and last heartbeat (time and age: nothing secret) and the withheld
	// fields are empty, zero or null.
	AdminAPIKey string
}

// statusDetail reports whether r may see the detail: false without an Authorization header or
// while no admin key is configured (nothing can unlock it then), true with the admin key, and
// an error with any other credential.
func statusDetail(key string, auth *adminAuth, c *gin.Context) (bool, error) {
	if c.GetHeader("Authorization") == "" || key == "" {
		return false, nil
	}
	return auth.check(c, key, "the bearer token is not the admin key; omit Authorization for the public status")
}

func systemStatus(d StatusDeps, auth *adminAuth, writeErr func(*gin.Context, error)) gin.HandlerFunc {
	return func(c *gin.Context) {
		detail, err := statusDetail(d.AdminAPIKey, auth, c)
		if err != nil {
			writeErr(c, err)
			return
		}
		rep, err := buildStatus(c.Request.Context(), d, detail)
		if err != nil {
			writeErr(c, err)
			return
		}
		c.Writer.Header().Add("Vary", "Authorization")
		c.JSON(http.StatusOK, rep)
	}
}

// buildStatus reads what GET /system/status reports; without detail, only the public part.
func buildStatus(ctx context.Context, d StatusDeps, detail bool) (statusReply, error) {
	now := d.Now().UTC()
	schema, err := d.Store.SchemaVersion(ctx)
	if err != nil {
		return statusReply{}, err
	}
	var counts []store.Count
	if detail {
		if counts, err = d.Store.Counts(ctx); err != nil {
			return statusReply{}, err
		}
	}
	procs, err := d.Store.Processes(ctx)
	if err != nil {
		return statusReply{}, err
	}
	hooks, err := webhookStatus(ctx, d.Store, detail)
	if err != nil {
		return statusReply{}, err
	}
	var refresh statusRefresh
	if refresh.LastAttemptAt, refresh.LastSuccessAt, err = d.Store.LastRefresh(ctx); err != nil {
		return statusReply{}, err
	}
	rep := statusReply{
		Version:       version.Version,
		StartedAt:     d.Started.UTC(),
		UptimeSeconds: int64(now.Sub(d.Started).Seconds()),
		Database:      statusDatabase{Backend: d.Store.Backend(), Path: d.Store.Path(), SizeBytes: d.Store.SizeBytes(), SchemaVersion: schema},
		Rows:          make(map[string]int64, len(counts)),
		NATS:          d.NATS(),
		AllAlive:      true,
		Refresh:       refresh,
		Webhooks:      hooks,
	}
	for _, cnt := range counts {
		rep.Rows[cnt.Table] = cnt.Rows
	}
	for _, name := range []string{registry.ProcessAPI, registry.ProcessPoller, registry.ProcessNotifier} {
		sp := processStatus(name, procs, now, d.AliveWithin, detail)
		rep.AllAlive = rep.AllAlive && sp.Alive
		rep.Processes = append(rep.Processes, sp)
	}
	if !detail {
		rep.Database.Path, rep.Database.SizeBytes = "", 0
		rep.NATS.URL, rep.NATS.Clients = "", nil
	}
	return rep, nil
}

// processStatus is the status of the binary name from the heartbeat rows procs (newest first):
// how many instances are alive, the newest one's version and heartbeat (public) and its
// instance, address and start (kept only with detail).
func processStatus(name string, procs []registry.Process, now time.Time, aliveWithin time.Duration, detail bool) statusProcess {
	sp := statusProcess{Name: name}
	for i := range procs { // newest heartbeat first
		p := &procs[i]
		if p.Name != name {
			continue
		}
		alive := p.Alive(now, aliveWithin)
		if alive {
			sp.AliveInstances++
		}
		if sp.HeartbeatAt == nil {
			started, beat := p.StartedAt, p.HeartbeatAt
			sp.Alive, sp.Instance, sp.Version, sp.Addr = alive, p.Instance, p.Version, p.Addr
			age := max(int64(now.Sub(beat)/time.Second), 0)
			sp.StartedAt, sp.HeartbeatAt, sp.HeartbeatAge = &started, &beat, &age
		}
	}
	if !detail {
		sp.Instance, sp.Addr, sp.StartedAt = "", "", nil
	}
	return sp
}
