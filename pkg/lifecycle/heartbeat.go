package lifecycle

import "time"

// HeartbeatWriteTimeout bounds one heartbeat write: ten heartbeat intervals, at least 30 s. A
// busy database (another process holding the write lock, or this process's own writes queued
// on its single writer connection) makes a beat wait rather than fail; it is written as soon as
// the lock frees, stamped with the time it was written (store.Heartbeat), so a live process
// never looks dead for longer than the database was actually unwritable. Shutdown still
// cancels a waiting beat at once.
func HeartbeatWriteTimeout(interval time.Duration) time.Duration {
	return max(10*interval, 30*time.Second)
}
