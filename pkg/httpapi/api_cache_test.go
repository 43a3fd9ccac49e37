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

// A URI the cache holds no reply for is answered without waiting for a version probe, and its
// reply is stored under the version of the entries already there, which may be older than the
// data it read. Such a reply must still never be served once another process has written:
// each step reads a canister after another process renamed it (or not), and must see the name.
func TestReadCache_UnheldURIAfterOtherProcessWrites(t *testing.T) {
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
	ids := []registry.CanisterID{"ryjl3-tyaaa-aaaaa-aaaba-cai", "mxzaz-hqaaa-aaaar-qaada-cai"}
	for _, id := range ids {
		if r := a.admin(http.MethodPost, "/canisters", map[string]any{"canister_id": id, "kind": "other", "name": "one"}); r.Status != http.StatusCreated {
			t.Fatalf("register %s = %d %s", id, r.Status, r.Body)
		}
	}
	other, err := store.Open(t.Context(), a.Store.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	a.do(http.MethodGet, "/canisters/"+string(ids[0]), nil) // the entries' version: before every rename below
	for i, step := range []struct {
		rename string // "" reads without a write before
	}{{"two"}, {""}, {"three"}, {""}, {"four"}} {
		if step.rename != "" {
			if _, err := other.UpdateCanister(t.Context(), ids[1], registry.CanisterUpdate{Name: &step.rename}); err != nil {
				t.Fatal(err)
			}
		}
		var got struct {
			Name string `json:"name"`
		}
		a.do(http.MethodGet, "/canisters/"+string(ids[1]), nil).JSON(t, &got)
		want := []string{"two", "two", "three", "three", "four"}[i]
		if got.Name != want {
			t.Fatalf("step %d: name %q, want %q (a stale cached reply)", i, got.Name, want)
		}
	}
}
