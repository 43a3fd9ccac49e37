package store

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"

	"canistry/pkg/registry"
)

// parseSolution reads a solution_found outcall's data (CANISTERS.md: token_id, block_height,
// nonce, hash, difficulty, reward) in one pass. Nats may come as JSON numbers or decimal strings.
func parseSolution(r outcallRow) (solutionRow, bool) {
	var d struct {
		TokenID     string          `json:"token_id"`
		BlockHeight json.RawMessage `json:"block_height"`
		Difficulty  json.RawMessage `json:"difficulty"`
		Reward      json.RawMessage `json:"reward"`
		Hash        plainText       `json:"hash"`
		Nonce       plainText       `json:"nonce"`
	}
	if json.Unmarshal([]byte(r.Data), &d) != nil || d.TokenID == "" || len(d.TokenID) > 200 {
		return solutionRow{}, false
	}
	height, ok := registry.ParseNat(d.BlockHeight)
	if !ok {
		return solutionRow{}, false
	}
	row := solutionRow{NotificationID: r.ID, TokenID: d.TokenID, BlockHeight: height, MinerID: r.MinerID,
		Hash: string(d.Hash), Nonce: string(d.Nonce), ReceivedAt: r.ReceivedAt}
	row.Difficulty, _ = registry.ParseNat(d.Difficulty)
	row.Reward, _ = registry.ParseNat(d.Reward)
	return row, true
}

// plainText is a JSON string's text or a number's digits, at most 200 bytes ("" otherwise:
// null, true, false, an array or an object).
type plainText string

func (p *plainText) UnmarshalJSON(raw []byte) error {
	var s string
	switch {
	case len(raw) == 0:
	case raw[0] == '"':
		if inner := raw[1 : len(raw)-1]; bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
			s = string(inner) // no escapes: the text as it stands (the decoder has checked the JSON)
		} else if json.Unmarshal(raw, &s) != nil {
			s = ""
		}
	case raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9':
		s = string(raw)
	}
	if len(s) > 200 {
		s = s[:200]
	}
	*p = plainText(s)
	return nil
}
