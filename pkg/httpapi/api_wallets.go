package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"canistry/pkg/registry"
)

// ledgerBalanceJSON is a wallet's latest balance in one ledger: the exact amount in the
// ledger's smallest unit (a decimal string), and the ledger's symbol and decimals to show it.
type ledgerBalanceJSON struct {
	LedgerID  string  `json:"ledger_id"`
	Symbol    *string `json:"symbol"`
	Decimals  *int    `json:"decimals"`
	Amount    string  `json:"amount"`
	UpdatedAt string  `json:"updated_at"`
}

// walletJSON is a wallet: the canister as GET /canisters/{id} shows it and its balances.
type walletJSON struct {
	Canister canisterJSON        `json:"canister"`
	Balances []ledgerBalanceJSON `json:"balances"`
}

func toWalletJSON(w *registry.WalletRecord, before time.Time, badges map[registry.CanisterID]registry.Badges) walletJSON {
	out := walletJSON{Canister: withBadges(toCanisterJSON(&w.CanisterRecord, before), badges),
		Balances: make([]ledgerBalanceJSON, len(w.Balances))}
	for i := range w.Balances {
		b := &w.Balances[i]
		out.Balances[i] = ledgerBalanceJSON{LedgerID: string(b.Ledger), Symbol: optString(b.Symbol), Decimals: b.Decimals,
			Amount: b.Amount, UpdatedAt: rfc3339(b.UpdatedAt)}
	}
	return out
}

// walletBadges reads the badges of the wallets' canisters.
func (a *api) walletBadges(ctx context.Context, ws []registry.WalletRecord) (map[registry.CanisterID]registry.Badges, error) {
	recs := make([]registry.CanisterRecord, len(ws))
	for i := range ws {
		recs[i] = ws[i].CanisterRecord
	}
	return a.canisterBadges(ctx, recs)
}

// listWallets answers GET /wallets: the canisters of kind wallet, in registration order, each
// with its latest balance in every tracked ledger.
func (a *api) listWallets(c *gin.Context) {
	q := newQuery(c, "limit", "cursor", "order", "tag", "stale", "stale_after", "q")
	f := registry.CanisterFilter{Tag: q.str("tag", registry.MaxTagLen), Query: q.str("q", registry.MaxQueryLen), Page: q.page(false)}
	stale, before := q.staleness(a.d.Now(), a.d.StaleAfter)
	f.Stale = stale
	if q.err != nil {
		a.werr(c, q.err)
		return
	}
	var badges map[registry.CanisterID]registry.Badges
	replyPage(a, c, &f.Page, f.Stale, func(ctx context.Context) (registry.List[registry.WalletRecord], error) {
		page, err := a.d.Store.ListWallets(ctx, f)
		if err == nil {
			badges, err = a.walletBadges(ctx, page.Items)
		}
		return page, err
	}, func(w *registry.WalletRecord) walletJSON { return toWalletJSON(w, before, badges) })
}

// getWallet answers GET /wallets/{id}.
func (a *api) getWallet(c *gin.Context) {
	var badges map[registry.CanisterID]registry.Badges
	replyOne(a, c, func(ctx context.Context, id registry.CanisterID) (registry.WalletRecord, error) {
		w, err := a.d.Store.GetWallet(ctx, id)
		if err == nil {
			badges, err = a.walletBadges(ctx, []registry.WalletRecord{w})
		}
		return w, err
	}, func(w *registry.WalletRecord, before time.Time) walletJSON { return toWalletJSON(w, before, badges) })
}

// balancePointJSON is one point of a balance series.
type balancePointJSON struct {
	LedgerID   string `json:"ledger_id"`
	Amount     string `json:"amount"`
	ObservedAt string `json:"observed_at"`
}

// balancesReply is GET /wallets/{id}/balances: the balance changes in [from, to], oldest
// first; each point holds until the next point of its ledger.
type balancesReply struct {
	WalletID   string             `json:"wallet_id"`
	LedgerID   *string            `json:"ledger_id"`
	From       string             `json:"from"`
	To         string             `json:"to"`
	Series     []balancePointJSON `json:"series"`
	NextCursor *string            `json:"next_cursor"`
}

// walletBalances answers the balance series of a wallet (from defaults to 24 hours before
// to, to to now), optionally of one ledger.
func (a *api) walletBalances(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		a.werr(c, err)
		return
	}
	q := newQuery(c, "from", "to", "limit", "cursor", "ledger")
	r := q.statsRange(a.d.Now().UTC())
	ledger := q.canisterID("ledger")
	if q.err != nil {
		a.werr(c, q.err)
		return
	}
	if _, err := a.d.Store.GetWallet(c.Request.Context(), id); err != nil {
		a.werr(c, err)
		return
	}
	page, err := a.d.Store.BalanceRange(c.Request.Context(), id, ledger, r)
	if err != nil {
		a.werr(c, err)
		return
	}
	out := balancesReply{WalletID: string(id), LedgerID: optString(string(ledger)), From: rfc3339(r.From), To: rfc3339(r.To),
		Series: make([]balancePointJSON, len(page.Items))}
	for i := range page.Items {
		p := &page.Items[i]
		out.Series[i] = balancePointJSON{LedgerID: string(p.Ledger), Amount: p.Amount, ObservedAt: rfc3339(p.ObservedAt)}
	}
	if page.Next != nil {
		s := page.Next.String()
		out.NextCursor = &s
	}
	setNextLink(c, out.NextCursor)
	c.JSON(http.StatusOK, out)
}
