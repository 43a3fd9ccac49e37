package httpapi

import (
	"net/http"

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
	key := totalKey(c, registry.Staleness{})
	cached := a.totals.cachedTotal(key, &f.Page)
	page, err := a.d.Store.ListModuleHashes(c.Request.Context(), f)
	if err != nil {
		a.werr(c, err)
		return
	}
	c.JSON(http.StatusOK, newList(page.Items, page.Next, a.totals.remember(key, cached, page.Total), f.Page.Limit, toModuleHashJSON))
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
