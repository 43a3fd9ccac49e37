package httpserver

import (
	"crypto/sha256"
	"crypto/subtle"
)

// APIKeys are the accepted X-API-Key values of an outcall endpoint (the intake's
// NOTIFY_API_KEYS, a relay route's api_keys), kept as SHA-256 digests.
type APIKeys [][sha256.Size]byte

// NewAPIKeys returns the digests of keys.
func NewAPIKeys(keys []string) APIKeys {
	out := make(APIKeys, 0, len(keys))
	for _, k := range keys {
		out = append(out, sha256.Sum256([]byte(k)))
	}
	return out
}

// Match compares the one X-API-Key value with every key in constant time (of the digests, so
// that length does not leak either) and returns the matching key's index. Zero values, or more
// than one, never match.
func (ks APIKeys) Match(values []string) (int, bool) {
	if len(values) != 1 {
		return 0, false
	}
	sum := sha256.Sum256([]byte(values[0]))
	idx := -1
	for i := range ks {
		if subtle.ConstantTimeCompare(sum[:], ks[i][:]) == 1 && idx < 0 {
			idx = i
		}
	}
	return idx, idx >= 0
}
