// Command cluster runs canistry's reference two-host layout on one machine (make cluster):
// a real PostgreSQL started in a temporary directory, the replica double with demo canisters,
// a three-node NATS cluster (one node embedded in each stack's api, a third in this process),
// two full stacks (api, poller, notifier) on their own loopback addresses 127.0.0.2 and
// 127.0.0.3 sharing the database, and haproxy in front of both on 127.0.0.1. Ctrl-C stops it
// all and deletes the database.
//
//	go run ./scripts/cluster -bin bin -api-port 8080 -notifier-port 8081
//
// It needs the Debian packages postgresql and haproxy, and the binaries (make build).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	bin := fs.String("bin", "bin", "directory of the api, poller and notifier binaries")
	dir := fs.String("dir", "", "working directory for logs and data (default: a new temporary one)")
	apiPort := fs.Int("api-port", 8080, "haproxy's api port on 127.0.0.1")
	notifierPort := fs.Int("notifier-port", 8081, "haproxy's notifier port on 127.0.0.1 (outcalls, /ws)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "canistry-cluster-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	notifyKey, adminKey := randomHex(16), randomHex(16)
	c, err := Start(ctx, Options{Dir: *dir, Bin: *bin, APIPort: *apiPort, NotifierPort: *notifierPort, Demo: true,
		Env: map[string]string{"NOTIFY_API_KEYS": notifyKey, "ADMIN_API_KEY": adminKey, "LOCAL_DEV": "true"}, Log: os.Stdout})
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Printf(`
canistry cluster is up (logs in %s/logs)
  registry      %s/canisters   (admin: Authorization: Bearer %s)
  outcalls      %s/miner-notifications   (X-API-Key: %s)
  live page     %s/test
  status        %s/system/status
Ctrl-C stops everything.
`, *dir, c.APIURL, adminKey, c.NotifierURL, notifyKey, c.APIURL, c.APIURL)
	<-ctx.Done()
	fmt.Println("stopping")
	return nil
}
