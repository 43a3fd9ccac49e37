package ws

import (
	"bytes"
	"fmt"
	"testing"
)

// maskedFrame is a client frame (FIN, opcode, masked payload).
func maskedFrame(opcode byte, payload []byte) []byte {
	b := []byte{0x80 | opcode}
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	default:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	}
	key := []byte{1, 2, 3, 4}
	b = append(b, key...)
	for i, p := range payload {
		b = append(b, p^key[i&3])
	}
	return b
}

// TestFrameReader_Splits feeds one stream of frames cut into two reads at every position, and
// into single bytes, and checks the frames come out whole, unmasked and in order, with a data
// frame's payload (here longer than a control frame may be) skipped.
func TestFrameReader_Splits(t *testing.T) {
	var stream []byte
	stream = append(stream, maskedFrame(0x9, []byte("ping payload"))...)
	stream = append(stream, maskedFrame(0x2, bytes.Repeat([]byte("d"), 300))...)
	stream = append(stream, maskedFrame(0xa, nil)...)
	stream = append(stream, maskedFrame(0x8, []byte{0x03, 0xe8, 'o', 'k'})...)
	want := "9:ping payload 2:300 10: 8:\x03\xe8ok "

	run := func(parts ...[]byte) string {
		var r frameReader
		var got bytes.Buffer
		for _, p := range parts {
			p = append([]byte(nil), p...) // feed may unmask in place
			_, err := r.feed(p, func(f inFrame) (bool, error) {
				if isControl(f.opcode) {
					fmt.Fprintf(&got, "%d:%s ", f.opcode, f.payload)
				} else {
					fmt.Fprintf(&got, "%d:%d ", f.opcode, f.length)
				}
				return true, nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if len(r.partial) != 0 || r.skip != 0 {
			t.Fatalf("left over: %d partial bytes, %d to skip", len(r.partial), r.skip)
		}
		return got.String()
	}
	for i := range len(stream) + 1 {
		if got := run(stream[:i], stream[i:]); got != want {
			t.Fatalf("cut at %d: got %q, want %q", i, got, want)
		}
	}
	var bytewise [][]byte
	for i := range stream {
		bytewise = append(bytewise, stream[i:i+1])
	}
	if got := run(bytewise...); got != want {
		t.Fatalf("byte by byte: got %q, want %q", got, want)
	}
}

// TestFrameReader_KeepsLittle: between reads at most an unfinished header and control payload
// is kept, however long a data frame is.
func TestFrameReader_KeepsLittle(t *testing.T) {
	var r frameReader
	big := maskedFrame(0x2, make([]byte, 60000))
	for i := 0; i < len(big); i += 1000 {
		if _, err := r.feed(append([]byte(nil), big[i:min(i+1000, len(big))]...), func(inFrame) (bool, error) { return true, nil }); err != nil {
			t.Fatal(err)
		}
		if len(r.partial) > maxHeader+maxControlPayload {
			t.Fatalf("%d bytes kept", len(r.partial))
		}
	}
	if r.skip != 0 || len(r.partial) != 0 {
		t.Fatalf("skip %d, partial %d after the whole frame", r.skip, len(r.partial))
	}
}
