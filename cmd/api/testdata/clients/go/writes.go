package main

import (
	"context"
	"net/http"
	"time"

	"canistryclient/api"
	"canistryclient/notifier"
)

// writes changes a canister's description and adds a webhook on the api, and sends one outcall
// to the notifier and again (the same outcall, a replica's copy) through the api's proxy.
func writes(ctx context.Context, c *api.ClientWithResponses, n *notifier.ClientWithResponses, w world, admin api.RequestEditorFn) {
	desc := "described by a generated client"
	res, err := c.UpdateCanisterWithResponse(ctx, w.Token, api.UpdateCanisterJSONRequestBody{Description: &desc}, admin)
	call("updateCanister", 200, res, err, func(r *api.UpdateCanisterResponse) string {
		return expect(r.JSON200 != nil && r.JSON200.Description == desc && r.JSON200.CanisterId == w.Token, "reply %s", r.Body)
	})
	events := []string{"token_connected"} // never sent in this test: nothing is delivered
	hook, err := c.CreateWebhookWithResponse(ctx, api.NewWebhook{Url: "https://hooks.invalid/canistry", Events: &events, Token: &w.Token}, admin)
	call("createWebhook", 201, hook, err, func(r *api.CreateWebhookResponse) string {
		return expect(r.JSON201 != nil && r.JSON201.Secret != "" && r.JSON201.Id > 0, "reply %s", r.Body)
	})

	key := func(_ context.Context, r *http.Request) error { r.Header.Set("X-API-Key", w.NotifyKey); return nil }
	data := map[string]any{"token_id": w.Token, "block_height": 7, "reward": "1500", "difficulty": "1000"}
	ts := time.Now().UnixNano()
	direct, err := n.MinerNotificationWithResponse(ctx, &notifier.MinerNotificationParams{},
		notifier.OutcallNotification{Event: "solution_found", MinerId: w.Miner, Timestamp: ts, Data: &data}, key)
	call("notifier:minerNotification", 200, direct, err, func(r *notifier.MinerNotificationResponse) string {
		return expect(r.JSON200 != nil && r.JSON200.Status == "received" && len(r.JSON200.DedupKeySha256) == 64, "reply %s", r.Body)
	})
	proxied, err := c.MinerNotificationWithResponse(ctx, &api.MinerNotificationParams{},
		api.OutcallNotification{Event: "solution_found", MinerId: w.Miner, Timestamp: ts, Data: &data}, key)
	call("minerNotification", 200, proxied, err, func(r *api.MinerNotificationResponse) string {
		return expect(r.JSON200 != nil && direct != nil && string(r.Body) == string(direct.Body), "a copy through the api: %s, the first: %s", r.Body, direct.Body)
	})
}
