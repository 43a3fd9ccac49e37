package main

import (
	"context"
	"slices"
	"strings"
	"time"

	"canistryclient/api"
	"canistryclient/notifier"
)

func ptr[T any](v T) *T { return &v }

// probes: /healthz, /readyz, /metrics and /openapi.json of both servers.
func probes(ctx context.Context, c *api.ClientWithResponses, n *notifier.ClientWithResponses) {
	h, err := c.HealthzWithResponse(ctx, nil)
	call("healthz", 200, h, err, func(r *api.HealthzResponse) string {
		return expect(r.JSON200 != nil && r.JSON200.Status == "ok", "reply %s", r.Body)
	})
	rz, err := c.ReadyzWithResponse(ctx, nil)
	call("readyz", 200, rz, err, func(r *api.ReadyzResponse) string {
		return expect(r.JSON200 != nil && r.JSON200.Status == "ready" && r.JSON200.Database != nil && *r.JSON200.Database == "sqlite", "reply %s", r.Body)
	})
	m, err := c.MetricsWithResponse(ctx)
	call("metrics", 200, m, err, func(r *api.MetricsResponse) string {
		return expect(strings.Contains(string(r.Body), "# TYPE canistry_"), "no canistry_ series")
	})
	doc, err := c.OpenapiWithResponse(ctx, nil)
	call("openapi", 200, doc, err, func(r *api.OpenapiResponse) string {
		return expect(r.JSON200 != nil && strings.HasPrefix((*r.JSON200)["openapi"].(string), "3.1") &&
			r.Headers200 != nil && r.Headers200.AccessControlAllowOrigin != nil && *r.Headers200.AccessControlAllowOrigin == "*", "reply %.200s", r.Body)
	})

	nh, err := n.HealthzWithResponse(ctx, nil)
	call("notifier:healthz", 200, nh, err, func(r *notifier.HealthzResponse) string {
		return expect(r.JSON200 != nil && r.JSON200.Status == "ok", "reply %s", r.Body)
	})
	nr, err := n.ReadyzWithResponse(ctx, nil)
	call("notifier:readyz", 200, nr, err, func(r *notifier.ReadyzResponse) string {
		return expect(r.JSON200 != nil && r.JSON200.Status == "ready", "reply %s", r.Body)
	})
	nm, err := n.MetricsWithResponse(ctx)
	call("notifier:metrics", 200, nm, err, func(r *notifier.MetricsResponse) string {
		return expect(strings.Contains(string(r.Body), "# TYPE canistry_"), "no canistry_ series")
	})
	nd, err := n.OpenapiWithResponse(ctx, nil)
	call("notifier:openapi", 200, nd, err, func(r *notifier.OpenapiResponse) string {
		info, _ := (*r.JSON200)["info"].(map[string]any)
		return expect(info["title"] == "canistry notifier", "info %v", info)
	})
}

// registry: canisters, their history and cycles, module hashes, the status, the HTML pages.
func registry(ctx context.Context, c *api.ClientWithResponses, w world) {
	page, err := c.ListCanistersWithResponse(ctx, &api.ListCanistersParams{Limit: ptr(3)})
	call("listCanisters", 200, page, err, func(r *api.ListCanistersResponse) string {
		return expect(r.JSON200.Total == 5 && len(r.JSON200.Items) == 3 && r.JSON200.NextCursor != nil &&
			r.Headers200.Link != nil && strings.Contains(*r.Headers200.Link, `rel="next"`), "first page %s", r.Body)
	})
	if page.JSON200 != nil && page.JSON200.NextCursor != nil {
		next, err := c.ListCanistersWithResponse(ctx, &api.ListCanistersParams{Limit: ptr(3), Cursor: page.JSON200.NextCursor})
		call("listCanisters", 200, next, err, func(r *api.ListCanistersResponse) string {
			return expect(len(r.JSON200.Items) == 2 && r.JSON200.NextCursor == nil, "second page %s", r.Body)
		})
	}
	one, err := c.GetCanisterWithResponse(ctx, w.Token, &api.GetCanisterParams{StaleAfter: ptr("2d")})
	call("getCanister", 200, one, err, func(r *api.GetCanisterResponse) string {
		return expect(r.JSON200.Kind == "token" && r.JSON200.Description == "described by a generated client" &&
			!r.JSON200.Stale && r.Headers200.ETag != nil, "reply %s", r.Body)
	})
	if one.Headers200 != nil && one.Headers200.ETag != nil {
		again, err := c.GetCanisterWithResponse(ctx, w.Token, &api.GetCanisterParams{StaleAfter: ptr("2d"), IfNoneMatch: one.Headers200.ETag})
		call("getCanister", 304, again, err)
	}
	hist, err := c.CanisterHistoryWithResponse(ctx, w.Changed, nil)
	call("canisterHistory", 200, hist, err, func(r *api.CanisterHistoryResponse) string { return history(r.JSON200, w) })
	cyc, err := c.CanisterCyclesWithResponse(ctx, w.Holed, nil)
	call("canisterCycles", 200, cyc, err, func(r *api.CanisterCyclesResponse) string {
		return expect(len(r.JSON200.Series) > 0 && r.JSON200.Series[0].Cycles == w.Cycles, "reply %s", r.Body)
	})
	hashes, err := c.ListModuleHashesWithResponse(ctx, nil)
	call("listModuleHashes", 200, hashes, err, func(r *api.ListModuleHashesResponse) string {
		return expect(r.JSON200.Total == 1 && r.JSON200.Items[0].Hash == w.Hash && r.JSON200.Items[0].Name == "alpha-ledger", "reply %s", r.Body)
	})
	st, err := c.SystemStatusWithResponse(ctx, nil)
	call("systemStatus", 200, st, err, func(r *api.SystemStatusResponse) string {
		return expect(r.JSON200.Database.Backend == "sqlite" && r.JSON200.Database.SchemaVersion > 0 &&
			r.JSON200.Nats.Connected && len(r.JSON200.Processes) > 0, "reply %s", r.Body)
	})
	dash, err := c.DashboardWithResponse(ctx)
	call("dashboard", 200, dash, err, func(r *api.DashboardResponse) string { return html(r.HTTPResponse.Header.Get("Content-Type"), r.Body) })
	docs, err := c.DocsWithResponse(ctx)
	call("docs", 200, docs, err, func(r *api.DocsResponse) string { return html(r.HTTPResponse.Header.Get("Content-Type"), r.Body) })
}

func html(ctype string, body []byte) string {
	return expect(strings.HasPrefix(ctype, "text/html") && strings.Contains(strings.ToLower(string(body)), "<html"), "%s: %.100s", ctype, body)
}

// history finds the two changes the test made to canister w.Changed: its module removed (a
// hash, then null) and its controllers replaced (two lists).
func history(l *api.ChangeList, w world) string {
	var module, controllers bool
	for _, ch := range l.Items {
		switch ch.Field {
		case "module_hash":
			if ch.Old != nil && ch.New == nil {
				old, err := ch.Old.AsChangeOld0()
				module = module || err == nil && old == w.HashBefore
			}
		case "controllers":
			if ch.Old != nil && ch.New != nil {
				old, err1 := ch.Old.AsChangeOld1()
				now, err2 := ch.New.AsChangeNew1()
				controllers = controllers || err1 == nil && err2 == nil && len(old) == 1 && len(now) == 2 && !slices.Equal(old, now)
			}
		}
	}
	return expect(module && controllers, "module removed %v, controllers changed %v in %+v", module, controllers, l.Items)
}

// observed: tokens and miners as the poller read them.
func observed(ctx context.Context, c *api.ClientWithResponses, w world) {
	tokens, err := c.ListTokensWithResponse(ctx, &api.ListTokensParams{StaleAfter: ptr("1d")})
	call("listTokens", 200, tokens, err, func(r *api.ListTokensResponse) string {
		return expect(r.JSON200.Total == 1 && r.JSON200.Items[0].Symbol == "ALP" && *r.JSON200.Items[0].TotalSupply == w.Supply, "reply %s", r.Body)
	})
	tok, err := c.GetTokenWithResponse(ctx, w.Token, nil)
	call("getToken", 200, tok, err, func(r *api.GetTokenResponse) string {
		return expect(r.JSON200.Decimals == 8 && slices.Contains(r.JSON200.Interfaces, "icrc1"), "reply %s", r.Body)
	})
	logo, err := c.TokenLogoWithResponse(ctx, w.Token, nil)
	call("tokenLogo", 200, logo, err, func(r *api.TokenLogoResponse) string {
		return expect(r.HTTPResponse.Header.Get("Content-Type") == "image/png" && len(r.Body) > 8 &&
			*r.Headers200.XContentTypeOptions == "nosniff" && *r.Headers200.AccessControlAllowOrigin == "*", "logo %q %d bytes", r.HTTPResponse.Header.Get("Content-Type"), len(r.Body))
	})
	miners, err := c.ListMinersWithResponse(ctx, nil)
	call("listMiners", 200, miners, err, func(r *api.ListMinersResponse) string {
		return expect(r.JSON200.Total == 1 && r.JSON200.Items[0].CanisterId == w.Miner, "reply %s", r.Body)
	})
	m, err := c.GetMinerWithResponse(ctx, w.Miner, nil)
	call("getMiner", 200, m, err, func(r *api.GetMinerResponse) string {
		return expect(r.JSON200.IsMining && r.JSON200.CurrentToken != nil && *r.JSON200.CurrentToken == w.Token, "reply %s", r.Body)
	})
	latest, err := c.MinerStatsWithResponse(ctx, w.Miner, nil)
	call("minerStats", 200, latest, err, func(r *api.MinerStatsResponse) string {
		return expect(r.JSON200.Latest != nil && r.JSON200.Series == nil, "reply %s", r.Body)
	})
	series, err := c.MinerStatsWithResponse(ctx, w.Miner, &api.MinerStatsParams{From: ptr(time.Now().Add(-48 * time.Hour))})
	call("minerStats", 200, series, err, func(r *api.MinerStatsResponse) string {
		return expect(r.JSON200.Series != nil && len(*r.JSON200.Series) >= 15, "reply %.300s", r.Body)
	})
	by, err := c.MinersByTokenWithResponse(ctx, w.Token, nil)
	call("minersByToken", 200, by, err, func(r *api.MinersByTokenResponse) string {
		return expect(r.JSON200.Total == 1 && r.JSON200.Items[0].CanisterId == w.Miner, "reply %s", r.Body)
	})
}
