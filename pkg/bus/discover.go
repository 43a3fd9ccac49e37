package bus

// SubjectDiscover asks a poller to run a discovery now (payload DiscoverRequest); the poller's
// queue group QueueRefresh shares it, so one poller runs it.
const SubjectDiscover = "canistry.discover"

// DiscoverRequest is the payload of SubjectDiscover. Source is the discovery to run
// (registry.DiscoverySNS).
type DiscoverRequest struct {
	Source string `json:"source"`
}

// RequestDiscover asks the pollers for a discovery run of source.
func (c *Conn) RequestDiscover(source string) error {
	return Publish(c, SubjectDiscover, DiscoverRequest{Source: source})
}
