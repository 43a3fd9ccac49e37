package ic

// BLS signature checks of IC certificates: a parsed, subgroup-checked key with precomputed
// pairing lines, and concurrent checks under one key batched into one pairing check.

import (
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aviate-labs/agent-go/certification"
	"github.com/aviate-labs/agent-go/certification/hashtree"
	"github.com/consensys/gnark-crypto/ecc"
	bls12381 "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

// blsDST is the hash-to-curve domain of IC state signatures (BLS12-381, signatures in G1), as
// agent-go's bls package uses it.
const blsDST = "BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_"

// g2Lines are the precomputed Miller-loop lines of a fixed G2 point (a public key).
type g2Lines = [2][len(bls12381.LoopCounter) - 1]bls12381.LineEvaluationAff

// negG2Lines are the lines of -g2, the other fixed point of every signature check
// e(sig, -g2)·e(H(m), pk) = 1.
var negG2Lines = func() g2Lines {
	_, _, _, g2 := bls12381.Generators()
	var neg bls12381.G2Affine
	neg.Neg(&g2)
	return bls12381.PrecomputeLines(neg)
}()

// maxBatch bounds how many signatures one batch check takes: if one of them is bad, each is
// checked on its own.
const maxBatch = 64

// batchLinger is the longest a caller starting a batch waits for others to join it. It waits
// only while more read_states are in flight through the client than there are checks queued
// (their certificates will arrive within the request latency), so at a poller's few hundred
// read_states a second a batch holds about ten signatures instead of two or three, and a lone
// caller, even one checking certificates back to back, never waits. The wait costs no CPU, but
// it can add up to batchLinger to a refresh (whose read_state runs beside its queries): a price
// paid only where the poller is not short of CPU.
const batchLinger = 10 * time.Millisecond

// randomizerBytes is the size of the random coefficients of a batch check: 128 bits, so a
// batch holding an invalid signature passes with probability 2^-128, below the about 2^-117 of
// breaking BLS12-381 itself; half a full scalar's bits make the multi-exponentiations about
// 40 % cheaper.
const randomizerBytes = 16

// blsKey is a parsed, subgroup-checked BLS public key with its precomputed lines. Signatures
// checked under it at the same time are checked together (see check).
type blsKey struct {
	lines g2Lines
	// reading counts the read_states in flight through the client (certVerifier.reading),
	// whose certificates are about to be checked; nil when none are announced.
	reading *atomic.Int64

	mu      sync.Mutex
	running bool          // a caller is gathering or checking a batch
	pending []*sigCheck   // waiting for the next batch
	arrived chan struct{} // buffered 1: a check was queued while a batch was gathering
}

// sigCheck is one signature waiting for a batch: e(sig, -g2)·e(h, pk) = 1 is to be checked.
type sigCheck struct {
	sig, h bls12381.G1Affine
	ok     bool
	done   bool          // ok is decided
	wake   chan struct{} // one send: ok is decided, or this caller is to check the next batch
}

func newBLSKey(der []byte, reading *atomic.Int64) (*blsKey, error) {
	pk, err := certification.PublicBLSKeyFromDER(der) // parses and checks the point is in G2
	if err != nil {
		return nil, fmt.Errorf("BLS public key: %w", err)
	}
	return &blsKey{lines: bls12381.PrecomputeLines(bls12381.G2Affine(*pk)), reading: reading, arrived: make(chan struct{}, 1)}, nil
}

// verify checks a certificate's BLS signature over \x0Dic-state-root ‖ digest(tree), exactly
// as agent-go's certification package does (same domain, hash-to-curve, and pairing equation),
// with the key's lines precomputed.
func (k *blsKey) verify(tree hashtree.HashTree, sig []byte) error {
	root := tree.Digest()
	msg := append(hashtree.DomainSeparator("ic-state-root"), root[:]...)
	var s bls12381.G1Affine
	if _, err := s.SetBytes(sig); err != nil { // decompresses and checks the point is in G1
		return fmt.Errorf("signature verification failed: %w", err)
	}
	h, err := bls12381.HashToG1(msg, []byte(blsDST))
	if err != nil {
		return fmt.Errorf("signature verification failed: %w", err)
	}
	if !k.check(&sigCheck{sig: s, h: h, wake: make(chan struct{}, 1)}) {
		return errors.New("signature verification failed")
	}
	return nil
}

// check decides c. Concurrent checks under one key are batched (group commit): the first
// caller gathers (see gather) and checks the batch of everything pending, meanwhile later
// callers queue; when it is done it hands the next batch to the first of them and returns. A
// batch of n signatures costs one pairing check instead of n (see checkBatch).
func (k *blsKey) check(c *sigCheck) bool {
	k.mu.Lock()
	k.pending = append(k.pending, c)
	lead := !k.running
	k.running = true
	k.mu.Unlock()
	if !lead {
		select {
		case k.arrived <- struct{}{}:
		default:
		}
		<-c.wake
		if c.done {
			return c.ok
		}
	}
	k.mu.Lock()
	k.gather()
	n := min(len(k.pending), maxBatch)
	batch := k.pending[:n:n]
	k.pending = k.pending[n:]
	k.mu.Unlock()
	checkBatch(k.lines, batch)
	for _, b := range batch {
		if b != c {
			b.wake <- struct{}{}
		}
	}
	k.mu.Lock()
	if len(k.pending) > 0 {
		next := k.pending[0]
		k.mu.Unlock()
		next.wake <- struct{}{} // not done: it checks the next batch
	} else {
		k.running = false
		k.mu.Unlock()
	}
	return c.ok
}

// gather waits, at most batchLinger, while the batch is not full and more read_states are in
// flight than checks are pending. k.mu is held on entry and on return.
func (k *blsKey) gather() {
	if !k.expecting() {
		return
	}
	timer := time.NewTimer(batchLinger)
	defer timer.Stop()
	for k.expecting() {
		k.mu.Unlock()
		select {
		case <-k.arrived:
			k.mu.Lock()
		case <-timer.C:
			k.mu.Lock()
			return
		}
	}
}

// expecting reports whether the next batch may still grow. k.mu is held.
func (k *blsKey) expecting() bool {
	return len(k.pending) < maxBatch && k.reading != nil && k.reading.Load() > int64(len(k.pending))
}

// checkBatch decides every check of batch. One check is e(sig, -g2)·e(h, pk) = 1. Several are
// checked at once by random linear combination (small-exponent batch verification): with
// random 128-bit scalars r_i, e(Σ r_i·sig_i, -g2)·e(Σ r_i·h_i, pk) = 1 holds for all valid
// signatures and, when any is invalid, only with probability 2^-128 (every point is in the
// prime-order subgroup: signatures are subgroup-checked when decoded, hashes are on it by
// construction). If the batch fails, each signature is checked on its own, so a bad signature
// fails only itself.
func checkBatch(lines g2Lines, batch []*sigCheck) {
	single := func(c *sigCheck) {
		ok, err := bls12381.PairingCheckFixedQ([]bls12381.G1Affine{c.sig, c.h}, []g2Lines{negG2Lines, lines})
		c.ok, c.done = err == nil && ok, true
	}
	rs, err := randomizers(len(batch))
	if len(batch) == 1 || err != nil {
		for _, c := range batch {
			single(c)
		}
		return
	}
	sigs, hs := make([]bls12381.G1Affine, len(batch)), make([]bls12381.G1Affine, len(batch))
	for i, c := range batch {
		sigs[i], hs[i] = c.sig, c.h
	}
	var sum, hsum bls12381.G1Affine
	cfg := ecc.MultiExpConfig{NbTasks: 1}
	_, err1 := sum.MultiExp(sigs, rs, cfg)
	_, err2 := hsum.MultiExp(hs, rs, cfg)
	if err1 == nil && err2 == nil {
		if ok, err := bls12381.PairingCheckFixedQ([]bls12381.G1Affine{sum, hsum}, []g2Lines{negG2Lines, lines}); err == nil && ok {
			for _, c := range batch {
				c.ok, c.done = true, true
			}
			return
		}
	}
	for _, c := range batch {
		single(c)
	}
}

// randomizers returns n nonzero random scalars of randomizerBytes each (crypto/rand).
func randomizers(n int) ([]fr.Element, error) {
	buf := make([]byte, n*randomizerBytes)
	if _, err := rand.Read(buf); err != nil {
		return nil, err
	}
	rs := make([]fr.Element, n)
	for i := range rs {
		if rs[i].SetBytes(buf[i*randomizerBytes : (i+1)*randomizerBytes]).IsZero() {
			return nil, errors.New("zero randomizer")
		}
	}
	return rs, nil
}
