package ic

import (
	"fmt"
	"reflect"
	"sync"

	"github.com/aviate-labs/agent-go/candid"
	"github.com/aviate-labs/agent-go/candid/idl"
)

// candidDecoder decodes Candid replies into the Go shapes of candid.go as candid.Unmarshal
// does, with one difference in cost: agent-go looks up the struct field of each record and
// variant field by hashing the ic tag of every struct field before it (idl.HashString, a
// big.Int loop per character), for every value decoded; that was most of a reply's decoding
// CPU. candidDecoder computes each struct type's field names and hashes once and keeps them.
//
// Only records, variants, options and vectors holding Go structs are walked here; every other
// value (nat, int, text, principal, blob, float, bool, …) and every shape this walk does not
// handle (maps, recursive types) goes to agent-go's idl.UnmarshalGo, so values decode
// exactly as agent-go decodes them. The values come from candid.Decode, which also refuses
// bytes left over after the last value (candid.Unmarshal ignores them).
type candidDecoder struct {
	mu     sync.RWMutex
	fields map[reflect.Type]map[string]int // struct type → Candid field name or hash → field index
}

func newCandidDecoder() *candidDecoder {
	return &candidDecoder{fields: make(map[reflect.Type]map[string]int)}
}

// unmarshal decodes raw into out (pointers, one per value), as candid.Unmarshal(raw, out).
func (d *candidDecoder) unmarshal(raw []byte, out []any) error {
	ts, vs, err := candid.Decode(raw)
	if err != nil {
		return err
	}
	if len(ts) != len(out) {
		return fmt.Errorf("unequal value lengths: %d %d", len(ts), len(out))
	}
	for i, v := range out {
		if err := d.value(ts[i], vs[i], v); err != nil {
			return err
		}
	}
	return nil
}

// value decodes the Candid value raw of type t into ptr, a pointer, as idl.UnmarshalGo does.
func (d *candidDecoder) value(t idl.Type, raw any, ptr any) error {
	pv := reflect.ValueOf(ptr)
	if pv.Kind() != reflect.Pointer || pv.IsNil() {
		return idl.UnmarshalGo(t, raw, ptr)
	}
	v := pv.Elem()
	switch t := t.(type) {
	case *idl.RecordType:
		if m, ok := raw.(map[string]any); ok && v.Kind() == reflect.Struct {
			return d.record(t, m, v)
		}
	case *idl.VariantType:
		if vr, ok := raw.(*idl.Variant); ok && v.Kind() == reflect.Struct {
			return d.variant(t, vr, v)
		}
	case *idl.OptionalType:
		return d.option(t, raw, ptr, v)
	case *idl.VectorType:
		if s, ok := raw.([]any); ok && v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Struct {
			return d.vector(t, s, v)
		}
	}
	return idl.UnmarshalGo(t, raw, ptr)
}

// record sets the fields of struct v that the record's fields name (idl.RecordType.UnmarshalGo:
// fields the struct lacks are skipped, struct fields the record lacks stay as they are).
func (d *candidDecoder) record(t *idl.RecordType, raw map[string]any, v reflect.Value) error {
	fields := d.structFields(v.Type())
	for _, f := range t.Fields {
		i, ok := fields[f.Name]
		if !ok {
			continue
		}
		if err := d.value(f.Type, raw[f.Name], v.Field(i).Addr().Interface()); err != nil {
			return err
		}
	}
	return nil
}

// variant sets the pointer field of struct v that names the variant's case, allocating it
// (idl.VariantType.UnmarshalGo).
func (d *candidDecoder) variant(t *idl.VariantType, raw *idl.Variant, v reflect.Value) error {
	i, ok := d.structFields(v.Type())[raw.Name]
	if !ok {
		return idl.NewUnmarshalGoError(raw.Value, v.Interface())
	}
	for _, f := range t.Fields {
		if f.Name != raw.Name {
			continue
		}
		fv := v.Field(i)
		if fv.Kind() != reflect.Pointer {
			return idl.NewUnmarshalGoError(raw.Value, v.Interface())
		}
		if fv.IsNil() {
			fv.Set(reflect.New(fv.Type().Elem()))
		}
		return d.value(f.Type, raw.Value, fv.Interface())
	}
	return idl.NewUnmarshalGoError(raw.Value, v.Interface())
}

// option leaves v as it is for null and otherwise decodes into *v, allocating it
// (idl.OptionalType.UnmarshalGo).
func (d *candidDecoder) option(t *idl.OptionalType, raw any, ptr any, v reflect.Value) error {
	if raw == nil {
		return nil
	}
	if v.Kind() != reflect.Pointer {
		return idl.NewUnmarshalGoError(raw, ptr)
	}
	if !v.IsNil() {
		return d.value(t.Type, raw, v.Interface())
	}
	p := reflect.New(v.Type().Elem())
	if err := d.value(t.Type, raw, p.Interface()); err != nil {
		return err
	}
	v.Set(p)
	return nil
}

// vector decodes a vec of records or variants into the slice v (idl.VectorType.UnmarshalGo:
// existing elements are decoded into, the slice is cut or grown to the vector's length).
func (d *candidDecoder) vector(t *idl.VectorType, raw []any, v reflect.Value) error {
	if v.IsNil() {
		v.Set(reflect.MakeSlice(v.Type(), 0, len(raw)))
	}
	if v.Len() > len(raw) {
		v.Set(v.Slice(0, len(raw)))
	}
	for i, r := range raw {
		if i < v.Len() {
			if err := d.value(t.Type, r, v.Index(i).Addr().Interface()); err != nil {
				return err
			}
			continue
		}
		n := reflect.New(v.Type().Elem())
		if err := d.value(t.Type, r, n.Interface()); err != nil {
			return err
		}
		v.Set(reflect.Append(v, n.Elem()))
	}
	return nil
}

// structFields returns the fields of struct type st by the names a Candid value may give them:
// the ic tag's name and its Candid hash (as agent-go matches them; the first field wins).
func (d *candidDecoder) structFields(st reflect.Type) map[string]int {
	d.mu.RLock()
	fields, ok := d.fields[st]
	d.mu.RUnlock()
	if ok {
		return fields
	}
	fields = make(map[string]int, 2*st.NumField())
	for i := range st.NumField() {
		tag := idl.ParseTags(st.Field(i))
		for _, name := range []string{tag.Name, idl.HashString(tag.Name)} {
			if _, dup := fields[name]; !dup {
				fields[name] = i
			}
		}
	}
	d.mu.Lock()
	d.fields[st] = fields
	d.mu.Unlock()
	return fields
}
