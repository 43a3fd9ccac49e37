// Command driver calls every read route (and a few writes) of a running api and notifier
// through Go clients that oapi-codegen generated from the documents they serve (packages api
// and notifier, written next to this file by TestGeneratedClients; never committed). It prints
// one line per call: "ok <operationId> <status>" or "FAIL <operationId>: <why>".
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"time"

	"canistryclient/api"
	"canistryclient/notifier"
)

// world is what the test set up, read from the JSON file named by the first argument.
type world struct {
	API, Notifier              string
	AdminKey, NotifyKey        string
	Token, Miner, Holed, Hash  string
	Changed                    string
	Supply, Cycles, HashBefore string
	Wallet, Balance            string
}

type result interface{ StatusCode() int }

// call reports op: err or a status other than want fails it, else the checks run (each returns
// "" or what is wrong).
func call[R result](op string, want int, res R, err error, checks ...func(R) string) R {
	switch {
	case err != nil:
		fmt.Printf("FAIL %s: %v\n", op, err)
	case res.StatusCode() != want:
		fmt.Printf("FAIL %s: status %d, want %d\n", op, res.StatusCode(), want)
	default:
		for _, c := range checks {
			if why := c(res); why != "" {
				fmt.Printf("FAIL %s: %s\n", op, why)
				return res
			}
		}
		fmt.Printf("ok %s %d\n", op, want)
	}
	return res
}

func expect(ok bool, format string, args ...any) string {
	if ok {
		return ""
	}
	return fmt.Sprintf(format, args...)
}

func main() {
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		panic(err)
	}
	var w world
	if err := json.Unmarshal(raw, &w); err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := api.NewClientWithResponses(w.API)
	if err != nil {
		panic(err)
	}
	n, err := notifier.NewClientWithResponses(w.Notifier)
	if err != nil {
		panic(err)
	}
	admin := func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+w.AdminKey)
		return nil
	}
	writes(ctx, c, n, w, admin)
	probes(ctx, c, n)
	registry(ctx, c, w)
	observed(ctx, c, w)
	notifications(ctx, c, w)
	webhooks(ctx, c, admin)
	relay(ctx, c, n, admin)
	wallets(ctx, c, w)
	mining(ctx, c, w)
	liveRoutes(ctx, c, n)
	preflights(ctx, c, n, w)
	chainPreflights(ctx, c, w)
}
