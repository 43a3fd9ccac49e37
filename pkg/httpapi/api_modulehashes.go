package httpapi

import (
	"context"
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
	replyPage(a, c, &f.Page, registry.Staleness{}, func(ctx context.Context) ([]registry.ModuleHashRecord, *registry.Cursor, *int64, error) {
		page, err := a.d.Store.ListModuleHashes(ctx, f)
		return page.Items, page.Next, page.Total, err
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
