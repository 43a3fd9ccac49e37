package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"canistry/pkg/registry"
)

// moduleHashBody is the body of POST /module-hashes.
type moduleHashBody struct {
	Hash      string `json:"hash"`
	Name      string `json:"name"`
	Version   string `json:"version"`
	Kind      string `json:"kind"`
	SourceURL string `json:"source_url"`
	Notes     string `json:"notes"`
}

func (a *api) listModuleHashes(c *gin.Context) {
	q := newQuery(c, "limit", "cursor", "order", "kind", "q")
	f := registry.ModuleHashFilter{Kind: q.kind("kind"), Query: q.str("q", registry.MaxQueryLen), Page: q.page(false)}
	if q.err != nil {
		a.werr(c, q.err)
		return
	}
	replyPage(a, c, &f.Page, registry.Staleness{}, func(ctx context.Context) (registry.List[registry.ModuleHashRecord], error) {
		return a.d.Store.ListModuleHashes(ctx, f)
	}, toModuleHashJSON)
}

func (a *api) createModuleHash(c *gin.Context) {
	var body moduleHashBody
	if err := decodeJSON(c, &body); err != nil {
		a.werr(c, err)
		return
	}
	rec, err := a.d.Store.CreateModuleHash(c.Request.Context(), registry.ModuleHash{Hash: body.Hash, Name: body.Name, Version: body.Version,
		Kind: registry.Kind(body.Kind), SourceURL: body.SourceURL, Notes: body.Notes})
	if err != nil {
		a.werr(c, err)
		return
	}
	a.totals.clear()
	c.JSON(http.StatusCreated, toModuleHashJSON(&rec))
}

// putModuleHashBody is the body of PUT /module-hashes/{hash}: the build's fields; hash may be
// repeated but must then equal the path's.
type putModuleHashBody struct {
	Hash      *string `json:"hash"`
	Name      string  `json:"name"`
	Version   string  `json:"version"`
	Kind      string  `json:"kind"`
	SourceURL string  `json:"source_url"`
	Notes     string  `json:"notes"`
}

// putModuleHash creates or replaces a known build, so that a wrong entry can be corrected:
// 201 when it was new, 200 when it replaced one.
func (a *api) putModuleHash(c *gin.Context) {
	hash, err := registry.ParseModuleHash(c.Param("hash"))
	if err != nil {
		a.werr(c, err)
		return
	}
	var body putModuleHashBody
	if err := decodeJSON(c, &body); err != nil {
		a.werr(c, err)
		return
	}
	if body.Hash != nil && !strings.EqualFold(*body.Hash, hash) {
		a.werr(c, registry.Errorf(registry.EINVALID, "hash %.70q in the body differs from %s in the path", *body.Hash, hash))
		return
	}
	rec, created, err := a.d.Store.PutModuleHash(c.Request.Context(), registry.ModuleHash{Hash: hash, Name: body.Name,
		Version: body.Version, Kind: registry.Kind(body.Kind), SourceURL: body.SourceURL, Notes: body.Notes})
	if err != nil {
		a.werr(c, err)
		return
	}
	a.totals.clear()
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	c.JSON(status, toModuleHashJSON(&rec))
}

// deleteModuleHash forgets a known build: canisters running it are no longer verified.
func (a *api) deleteModuleHash(c *gin.Context) {
	if err := a.d.Store.DeleteModuleHash(c.Request.Context(), c.Param("hash")); err != nil {
		a.werr(c, err)
		return
	}
	a.totals.clear()
	c.Status(http.StatusNoContent)
}
