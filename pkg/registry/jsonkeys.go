package registry

import (
	"bytes"
	"encoding/json"
	"hash/maphash"
	"slices"
)

// CheckUniqueKeys refuses (EINVALID) a JSON text in which one object has the same key twice,
// at any depth: {"event":"a","event":"b"}. Decoders disagree over such a body (Go's keeps the
// last value, others the first or both), so the intake and the REST writes refuse it rather than
// let two readers — or two replicas' copies — count different values. Keys are compared after
// unescaping ("ev\u0065nt" is "event"); at the top level, where the Go decoder matches field
// names without regard to case, "Event" repeats "event" too. The message depends only on body.
//
// body must already have been decoded successfully (valid JSON): the check is a plain byte
// scan, a few times cheaper than a json.Decoder token walk, and does not validate again.
func CheckUniqueKeys(body []byte) error {
	var stack []keyFrame
	for i := 0; i < len(body); i++ {
		top := len(stack) - 1
		switch c := body[i]; c {
		case '{', '[':
			stack = append(stack, keyFrame{object: c == '{', wantKey: c == '{'})
			continue
		case '}', ']':
			if top < 0 {
				return nil // not valid JSON; the decoder has said so already
			}
			stack = stack[:top]
			top--
		case '"':
			end := stringEnd(body, i)
			if top >= 0 && stack[top].wantKey {
				if err := stack[top].add(body[i:end], top == 0); err != nil {
					return err
				}
				i = end - 1
				continue
			}
			i = end - 1
		case ' ', '\t', '\n', '\r', ',', ':':
			continue
		default: // a number, true, false or null: skip to its end
			for i+1 < len(body) && !endsLiteral(body[i+1]) {
				i++
			}
		}
		// A value ended: the object holding it expects a key next.
		if top >= 0 && stack[top].object {
			stack[top].wantKey = true
		}
	}
	return nil
}

// endsLiteral reports whether c is the byte after a number or literal in valid JSON.
func endsLiteral(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', ',', ']', '}':
		return true
	}
	return false
}

// stringEnd returns the index just past the JSON string that starts at body[start] ('"').
func stringEnd(body []byte, start int) int {
	for j := start + 1; j < len(body); j++ {
		switch body[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(body)
}

// smallObject is how many keys an object's duplicate check compares one by one before it
// switches to a map.
const smallObject = 16

// keyFrame is one open object or array of CheckUniqueKeys's scan. Keys are byte slices of the
// body (or unescaped copies); a large object indexes them by hash, so nothing is copied.
type keyFrame struct {
	object  bool
	wantKey bool             // the next string is a key
	keys    [][]byte         // the object's keys so far
	hashed  map[uint64]int32 // hash → index in keys of the first key with it, once there are many
	clashes []int32          // keys whose hash an earlier different key has (practically never)
}

// keySeed seeds the hash of large objects' keys; its value only spreads them.
var keySeed = maphash.MakeSeed()

// add records the key quoted (with its quotes, as in the body), or refuses it if the object
// has it already (case-folded as encoding/json folds field names when fold).
func (f *keyFrame) add(quoted []byte, fold bool) error {
	f.wantKey = false
	k := unquoteKey(quoted)
	var dup bool
	switch {
	case len(f.keys) < smallObject:
		equal := bytes.Equal
		if fold {
			equal = bytes.EqualFold // what encoding/json's field matching is defined as
		}
		dup = slices.ContainsFunc(f.keys, func(s []byte) bool { return equal(s, k) })
	case f.hashed == nil:
		f.hashed = make(map[uint64]int32, 4*smallObject)
		for i := range f.keys {
			if fold {
				f.keys[i] = foldKey(f.keys[i])
			}
			f.index(int32(i))
		}
		fallthrough
	default:
		if fold {
			k = foldKey(k)
		}
		f.keys = append(f.keys, k)
		dup = f.index(int32(len(f.keys) - 1))
		f.keys = f.keys[:len(f.keys)-1]
	}
	if dup {
		return Errorf(EINVALID, "the key %.80q appears twice in one JSON object; send each key once", unquoteKey(quoted))
	}
	f.keys = append(f.keys, k)
	return nil
}

// foldKey maps a key to one spelling of all its case variants, as encoding/json folds names.
func foldKey(k []byte) []byte { return bytes.ToUpper(bytes.ToLower(k)) }

// index adds keys[i] to the hash index and reports whether an equal key is there already.
func (f *keyFrame) index(i int32) bool {
	k := f.keys[i]
	h := maphash.Bytes(keySeed, k)
	prev, ok := f.hashed[h]
	switch {
	case !ok:
		f.hashed[h] = i
		return false
	case bytes.Equal(f.keys[prev], k):
		return true
	case slices.ContainsFunc(f.clashes, func(j int32) bool { return bytes.Equal(f.keys[j], k) }):
		return true
	}
	f.clashes = append(f.clashes, i)
	return false
}

// unquoteKey returns a key's text: the bytes between the quotes, unescaped when it has escapes.
func unquoteKey(quoted []byte) []byte {
	if len(quoted) < 2 {
		return quoted
	}
	if bytes.IndexByte(quoted, '\\') < 0 {
		return quoted[1 : len(quoted)-1]
	}
	var s string
	if json.Unmarshal(quoted, &s) != nil {
		return quoted
	}
	return []byte(s)
}
