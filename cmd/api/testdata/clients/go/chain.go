package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"canistryclient/api"
)

// wallets: the wallet the test registered, its balance in the test's ledger and its series;
// the SNS discovery runs (none in this world: discovery runs on the poller's schedule or POST).
func wallets(ctx context.Context, c *api.ClientWithResponses, w world) {
	list, err := c.ListWalletsWithResponse(ctx, &api.ListWalletsParams{StaleAfter: ptr("1d")})
	call("listWallets", 200, list, err, func(r *api.ListWalletsResponse) string {
		return expect(r.JSON200.Total == 1 && len(r.JSON200.Items) == 1, "reply %s", r.Body)
	})
	one, err := c.GetWalletWithResponse(ctx, w.Wallet, nil)
	call("getWallet", 200, one, err, func(r *api.GetWalletResponse) string {
		b := r.JSON200.Balances
		return expect(len(b) == 1 && b[0].LedgerId == w.Token && b[0].Amount == w.Balance, "reply %s", r.Body)
	})
	from := time.Now().Add(-time.Hour)
	series, err := c.WalletBalancesWithResponse(ctx, w.Wallet, &api.WalletBalancesParams{From: &from, Ledger: &w.Token})
	call("walletBalances", 200, series, err, func(r *api.WalletBalancesResponse) string {
		s := r.JSON200.Series
		return expect(len(s) == 1 && s[0].Amount == w.Balance, "reply %s", r.Body)
	})
	runs, err := c.ListDiscoveryRunsWithResponse(ctx, nil)
	call("listDiscoveryRuns", 200, runs, err, func(r *api.ListDiscoveryRunsResponse) string {
		return expect(r.JSON200.Total == 0 && len(r.JSON200.Items) == 0, "reply %s", r.Body)
	})
}

// mining: the solution the writes sent for the token, counted by the notifier's follower
// (asynchronously: the reads are retried for a few seconds until it is counted).
func mining(ctx context.Context, c *api.ClientWithResponses, w world) {
	from := time.Now().Add(-time.Hour)
	var sum *api.TokenMiningResponse
	var err error
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		sum, err = tokenMining(ctx, c, w.Token, &api.TokenMiningParams{From: &from})
		if err != nil || sum.JSON200 == nil || sum.JSON200.Solutions > 0 || time.Now().After(deadline) {
			break
		}
	}
	call("tokenMining", 200, sum, err, func(r *api.TokenMiningResponse) string {
		m := r.JSON200
		return expect(m.Solutions == 1 && m.MinerCount == 1 && len(m.Miners) == 1 && m.Miners[0].MinerId == w.Miner, "reply %s", r.Body)
	})
	series, err := c.TokenMiningSeriesWithResponse(ctx, w.Token, &api.TokenMiningSeriesParams{From: &from, Step: ptr("10m")})
	call("tokenMiningSeries", 200, series, err, func(r *api.TokenMiningSeriesResponse) string {
		total := 0
		for _, b := range r.JSON200.Buckets {
			total += int(b.Solutions)
		}
		return expect(r.JSON200.StepSeconds == 600 && total == 1, "reply %.300s", r.Body)
	})
	sols, err := c.TokenSolutionsWithResponse(ctx, w.Token, nil)
	call("tokenSolutions", 200, sols, err, func(r *api.TokenSolutionsResponse) string {
		s := r.JSON200.Items
		return expect(len(s) == 1 && s[0].BlockHeight == "7" && s[0].MinerId == w.Miner && !s[0].Repeat, "reply %s", r.Body)
	})
}

// chainPreflights: the CORS preflights of the wallet, discovery and mining reads.
func chainPreflights(ctx context.Context, c *api.ClientWithResponses, w world) {
	ok := func(op string, r result, err error) { call(op, 204, r, err) }
	r1, e1 := c.ListWalletsPreflightWithResponse(ctx)
	ok("listWalletsPreflight", r1, e1)
	r2, e2 := c.GetWalletPreflightWithResponse(ctx, w.Wallet)
	ok("getWalletPreflight", r2, e2)
	r3, e3 := c.WalletBalancesPreflightWithResponse(ctx, w.Wallet)
	ok("walletBalancesPreflight", r3, e3)
	r4, e4 := c.DiscoverSNSPreflightWithResponse(ctx)
	ok("discoverSNSPreflight", r4, e4)
	r5, e5 := c.TokenMiningPreflightWithResponse(ctx, w.Token)
	ok("tokenMiningPreflight", r5, e5)
	r6, e6 := c.TokenMiningSeriesPreflightWithResponse(ctx, w.Token)
	ok("tokenMiningSeriesPreflight", r6, e6)
	r7, e7 := c.TokenSolutionsPreflightWithResponse(ctx, w.Token)
	ok("tokenSolutionsPreflight", r7, e7)
}

// tokenMining is c.TokenMiningWithResponse, but a reply the generated parser cannot decode is
// reported with its status, headers and body. (One CI run saw "unexpected end of JSON input"
// here: a summary read across a follower's commit had a share of 1/0, and the api answered an
// empty 200; summaries are now read from one snapshot, TestMiningSummary_OneSnapshot.)
func tokenMining(ctx context.Context, c *api.ClientWithResponses, token string, params *api.TokenMiningParams) (*api.TokenMiningResponse, error) {
	res, err := c.ClientInterface.TokenMining(ctx, token, params)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	parsed, err := api.ParseTokenMiningResponse(res)
	if err != nil {
		return nil, fmt.Errorf("%w (status %d, headers %v, %d body bytes %.200q)", err, res.StatusCode, res.Header, len(body), body)
	}
	return parsed, nil
}
