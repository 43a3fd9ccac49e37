package httpapi_test

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"canistry/pkg/registry"
	"canistry/pkg/store"
	"canistry/pkg/store/storetest"
)

// The read cache must never serve data older than the database: a write by another process
// (here a second store on the same file, as the poller is) shows on the very next read.
func TestReadCache_CoherentAcrossProcesses(t *testing.T) {
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
	id := registry.CanisterID("ryjl3-tyaaa-aaaaa-aaaba-cai")
	if r := a.admin(http.MethodPost, "/canisters", map[string]any{"canister_id": id, "kind": "token", "name": "one"}); r.Status != http.StatusCreated {
		t.Fatalf("register = %d %s", r.Status, r.Body)
	}
	first := a.do(http.MethodGet, "/canisters?limit=10", nil)
	again := a.do(http.MethodGet, "/canisters?limit=10", nil)
	if !bytes.Equal(first.Body, again.Body) || first.Header.Get("Content-Type") != again.Header.Get("Content-Type") {
		t.Fatalf("cached reply differs:\n%s\n%s", first.Body, again.Body)
	}

	// Another process writes: a second store handle on the same database file.
	other, err := store.Open(t.Context(), a.Store.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := storetest.SaveState(t.Context(), other, id, "ab"+string(bytes.Repeat([]byte("0"), 62)), []string{"aaaaa-aa"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Items []struct {
			ModuleHash string `json:"module_hash"`
		} `json:"items"`
	}
	a.do(http.MethodGet, "/canisters?limit=10", nil).JSON(t, &got)
	if len(got.Items) != 1 || got.Items[0].ModuleHash == "" {
		t.Fatalf("read after another process's write served stale data: %+v", got)
	}

	// The api's own write is visible at once too.
	if r := a.admin(http.MethodPut, "/canisters/"+string(id), map[string]any{"name": "two"}); r.Status != http.StatusOK {
		t.Fatalf("update = %d %s", r.Status, r.Body)
	}
	var one struct {
		Name string `json:"name"`
	}
	a.do(http.MethodGet, "/canisters/"+string(id), nil).JSON(t, &one)
	if one.Name != "two" {
		t.Fatalf("read after own write = %q, want two", one.Name)
	}
}
