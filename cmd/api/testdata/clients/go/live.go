package main

import (
	"context"
	"strings"

	"canistryclient/api"
	"canistryclient/notifier"
)

// notifications: the outcall the writes sent, as listed and in detail.
func notifications(ctx context.Context, c *api.ClientWithResponses, w world) {
	list, err := c.ListNotificationsWithResponse(ctx, &api.ListNotificationsParams{Miner: &w.Miner})
	call("listNotifications", 200, list, err, func(r *api.ListNotificationsResponse) string {
		return expect(r.JSON200.Total == 1 && r.JSON200.Items[0].Event == "solution_found" && r.JSON200.Items[0].Copies >= 1, "reply %s", r.Body)
	})
	if list.JSON200 == nil || len(list.JSON200.Items) == 0 {
		return
	}
	one, err := c.GetNotificationWithResponse(ctx, list.JSON200.Items[0].Id, nil)
	call("getNotification", 200, one, err, func(r *api.GetNotificationResponse) string {
		return expect(r.JSON200.MinerId == w.Miner && r.JSON200.CopiesRecorded >= 1 && r.JSON200.Data["block_height"] == float64(7), "reply %s", r.Body)
	})
}

// webhooks: the admin reads of the webhook the writes added.
func webhooks(ctx context.Context, c *api.ClientWithResponses, admin api.RequestEditorFn) {
	list, err := c.ListWebhooksWithResponse(ctx, admin)
	call("listWebhooks", 200, list, err, func(r *api.ListWebhooksResponse) string {
		return expect(len(r.JSON200.Items) == 1 && r.JSON200.Items[0].Url == "https://hooks.invalid/canistry", "reply %s", r.Body)
	})
	if list.JSON200 == nil || len(list.JSON200.Items) == 0 {
		return
	}
	id := list.JSON200.Items[0].Id
	one, err := c.GetWebhookWithResponse(ctx, id, admin)
	call("getWebhook", 200, one, err, func(r *api.GetWebhookResponse) string {
		return expect(r.JSON200.Id == id && len(r.JSON200.Events) == 1 && r.JSON200.Events[0] == "token_connected", "reply %s", r.Body)
	})
	att, err := c.ListWebhookDeliveriesWithResponse(ctx, id, nil, admin)
	call("listWebhookDeliveries", 200, att, err, func(r *api.ListWebhookDeliveriesResponse) string {
		return expect(len(r.JSON200.Items) == 0, "reply %s", r.Body)
	})
}

// liveRoutes: the notifier's reads, on the notifier and through the api's proxy. /ws without
// an upgrade is the documented 400.
func liveRoutes(ctx context.Context, c *api.ClientWithResponses, n *notifier.ClientWithResponses) {
	ws, err := c.WebsocketWithResponse(ctx, &api.WebsocketParams{Last: ptr(5)})
	call("websocket", 400, ws, err, func(r *api.WebsocketResponse) string { return expect(r.JSON400 != nil, "reply %s", r.Body) })
	st, err := c.WsStatusWithResponse(ctx)
	call("wsStatus", 200, st, err, func(r *api.WsStatusResponse) string { return expect(r.JSON200 != nil, "reply %s", r.Body) })
	js, err := c.WebsocketClientWithResponse(ctx, nil)
	call("websocketClient", 200, js, err, func(r *api.WebsocketClientResponse) string { return module(r.Body) })
	dts, err := c.WebsocketClientTypesWithResponse(ctx, nil)
	call("websocketClientTypes", 200, dts, err, func(r *api.WebsocketClientTypesResponse) string { return module(r.Body) })
	page, err := c.TestPageWithResponse(ctx)
	call("testPage", 200, page, err, func(r *api.TestPageResponse) string { return html(r.HTTPResponse.Header.Get("Content-Type"), r.Body) })

	nws, err := n.WebsocketWithResponse(ctx, &notifier.WebsocketParams{Last: ptr(5)})
	call("notifier:websocket", 400, nws, err, func(r *notifier.WebsocketResponse) string { return expect(r.JSON400 != nil, "reply %s", r.Body) })
	nst, err := n.WsStatusWithResponse(ctx)
	call("notifier:wsStatus", 200, nst, err, func(r *notifier.WsStatusResponse) string { return expect(r.JSON200 != nil, "reply %s", r.Body) })
	njs, err := n.WebsocketClientWithResponse(ctx, nil)
	call("notifier:websocketClient", 200, njs, err, func(r *notifier.WebsocketClientResponse) string { return module(r.Body) })
	ndts, err := n.WebsocketClientTypesWithResponse(ctx, nil)
	call("notifier:websocketClientTypes", 200, ndts, err, func(r *notifier.WebsocketClientTypesResponse) string { return module(r.Body) })
	npage, err := n.TestPageWithResponse(ctx)
	call("notifier:testPage", 200, npage, err, func(r *notifier.TestPageResponse) string {
		return html(r.HTTPResponse.Header.Get("Content-Type"), r.Body)
	})
}

func module(body []byte) string {
	return expect(strings.Contains(string(body), "export "), "not a module: %.100s", body)
}

// preflights: every CORS preflight of the api answers 204; the notifier has none (405).
func preflights(ctx context.Context, c *api.ClientWithResponses, n *notifier.ClientWithResponses, w world) {
	ok := func(op string, r result, err error) { call(op, 204, r, err) }
	r1, e1 := c.ListCanistersPreflightWithResponse(ctx)
	ok("listCanistersPreflight", r1, e1)
	r2, e2 := c.GetCanisterPreflightWithResponse(ctx, w.Token)
	ok("getCanisterPreflight", r2, e2)
	r3, e3 := c.CanisterHistoryPreflightWithResponse(ctx, w.Token)
	ok("canisterHistoryPreflight", r3, e3)
	r4, e4 := c.CanisterCyclesPreflightWithResponse(ctx, w.Token)
	ok("canisterCyclesPreflight", r4, e4)
	r5, e5 := c.ListTokensPreflightWithResponse(ctx)
	ok("listTokensPreflight", r5, e5)
	r6, e6 := c.GetTokenPreflightWithResponse(ctx, w.Token)
	ok("getTokenPreflight", r6, e6)
	r7, e7 := c.TokenLogoPreflightWithResponse(ctx, w.Token)
	ok("tokenLogoPreflight", r7, e7)
	r8, e8 := c.ListMinersPreflightWithResponse(ctx)
	ok("listMinersPreflight", r8, e8)
	r9, e9 := c.GetMinerPreflightWithResponse(ctx, w.Miner)
	ok("getMinerPreflight", r9, e9)
	r10, e10 := c.MinerStatsPreflightWithResponse(ctx, w.Miner)
	ok("minerStatsPreflight", r10, e10)
	r11, e11 := c.MinersByTokenPreflightWithResponse(ctx, w.Token)
	ok("minersByTokenPreflight", r11, e11)
	r12, e12 := c.ListModuleHashesPreflightWithResponse(ctx)
	ok("listModuleHashesPreflight", r12, e12)
	r13, e13 := c.ListNotificationsPreflightWithResponse(ctx)
	ok("listNotificationsPreflight", r13, e13)
	r14, e14 := c.GetNotificationPreflightWithResponse(ctx, 1)
	ok("getNotificationPreflight", r14, e14)
	r15, e15 := c.SystemStatusPreflightWithResponse(ctx)
	ok("systemStatusPreflight", r15, e15)
	r16, e16 := c.OpenapiPreflightWithResponse(ctx)
	ok("openapiPreflight", r16, e16)

	np, err := n.OpenapiPreflightWithResponse(ctx)
	call("notifier:openapiPreflight", 405, np, err, func(r *notifier.OpenapiPreflightResponse) string {
		return expect(r.JSON405 != nil && r.JSON405.Error.Message != "" && r.Headers405 != nil && *r.Headers405.Allow == "GET, HEAD", "reply %s %v", r.Body, r.HTTPResponse.Header)
	})
}
