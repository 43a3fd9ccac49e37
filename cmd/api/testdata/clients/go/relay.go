package main

import (
	"context"

	"canistryclient/api"
	"canistryclient/notifier"
)

// relay: the relay's reads with no route configured (RELAY_ROUTES unset): an empty call log,
// and the documented 404 for an unknown call and an unknown route, on both servers.
func relay(ctx context.Context, c *api.ClientWithResponses, n *notifier.ClientWithResponses, admin api.RequestEditorFn) {
	list, err := c.ListRelayCallsWithResponse(ctx, nil, admin)
	call("listRelayCalls", 200, list, err, func(r *api.ListRelayCallsResponse) string {
		return expect(r.JSON200 != nil && r.JSON200.Total == 0 && len(r.JSON200.Items) == 0, "reply %s", r.Body)
	})
	one, err := c.GetRelayCallWithResponse(ctx, 1, admin)
	call("getRelayCall", 404, one, err, func(r *api.GetRelayCallResponse) string {
		return expect(r.JSON404 != nil && r.JSON404.Error.Code == "not_found", "reply %s", r.Body)
	})
	via, err := c.RelayGetWithResponse(ctx, "none", "echo", nil)
	call("relayGet", 404, via, err, func(r *api.RelayGetResponse) string {
		return expect(r.JSON404 != nil && r.JSON404.Error.Code == "not_found", "reply %s", r.Body)
	})
	direct, err := n.RelayGetWithResponse(ctx, "none", "echo", nil)
	call("notifier:relayGet", 404, direct, err, func(r *notifier.RelayGetResponse) string {
		return expect(r.JSON404 != nil && r.JSON404.Error.Code == "not_found", "reply %s", r.Body)
	})
}
