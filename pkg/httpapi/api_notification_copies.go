package httpapi

import "canistry/pkg/registry"

// copiesJSON is the forensics of a notification's recorded copies in GET /notifications/{id}.
type copiesJSON struct {
	CopiesRecorded  int             `json:"copies_recorded"`
	CopiesByFamily  map[string]int  `json:"copies_by_family"`
	DistinctSources int             `json:"distinct_sources"`
	SpreadMs        int64           `json:"spread_ms"`
	BodyGroups      []bodyGroupJSON `json:"body_groups"`
}

// bodyGroupJSON is one group of identical request bodies: "[05f0…: 15]" in the IC's words.
type bodyGroupJSON struct {
	Hash  string `json:"hash"`
	Count int    `json:"count"`
}

func toCopiesJSON(f *registry.CopyForensics) copiesJSON {
	out := copiesJSON{CopiesRecorded: f.Recorded, CopiesByFamily: f.ByFamily, DistinctSources: f.DistinctSources,
		SpreadMs: f.Spread.Milliseconds(), BodyGroups: make([]bodyGroupJSON, 0, len(f.BodyGroups))}
	if out.CopiesByFamily == nil {
		out.CopiesByFamily = map[string]int{}
	}
	for _, g := range f.BodyGroups {
		out.BodyGroups = append(out.BodyGroups, bodyGroupJSON{Hash: g.Hash, Count: g.Count})
	}
	return out
}
