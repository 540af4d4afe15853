package smime_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec/smime"
)

var updateSeeds = flag.Bool("update", false, "rewrite the synthetic seeds in testdata/fuzz")

// syntheticSeeds are signatures of the test PKI and mutations of them that
// reach each verification path.
func syntheticSeeds(t testing.TB) [][2][]byte {
	f := testFixture(t)
	at := time.Date(2025, 6, 3, 8, 0, 0, 0, time.UTC)
	content, sig := signed(t, f.sha256, at)
	c1, s1 := signed(t, f.sha1, at)
	c2, s2 := signed(t, f.ecdsa, at)
	lf := bytes.ReplaceAll(content, []byte("\r\n"), []byte("\n"))
	bad := append([]byte(nil), sig...)
	bad[len(bad)-1] ^= 1
	return [][2][]byte{
		{content, sig},
		{lf, sig},
		{c1, s1},
		{c2, s2},
		{content[1:], sig},
		{content, bad},
		{content, indefinite(t, sig)},
		{content, sig[:len(sig)/3]},
		{nil, nil},
	}
}

// TestUpdateFuzzSeeds writes the synthetic seeds with -update. Seeds from
// the real corpus are added at run time only: corpus bytes are never
// copied into the project.
func TestUpdateFuzzSeeds(t *testing.T) {
	if !*updateSeeds {
		t.Skip("run with -update to rewrite testdata/fuzz/FuzzVerify/synthetic-*")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzVerify")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range syntheticSeeds(t) {
		data := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n[]byte(%q)\n", s[0], s[1])
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("synthetic-%d", i)), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzVerify feeds arbitrary content and signature bytes to Verify: it must
// not panic, must return no error for in-memory content, and must return
// a consistent verdict, the same twice.
//
// Its seeds are whole signatures, kilobytes long, and Go's fuzzer spends
// up to -fuzzminimizetime (a minute) minimising each new input it keeps:
// with the default, a run alternates bursts with minutes at 0 executions
// a second. Run it with -fuzzminimizetime=200x for a steady rate, or fuzz
// FuzzVerifyEdits, whose inputs are a few bytes.
func FuzzVerify(f *testing.F) {
	for _, s := range syntheticSeeds(f) {
		f.Add(s[0], s[1])
	}
	// The real signatures, with a short prefix of their content: a seed
	// the size of a whole message makes every input derived from it slow
	// to minimise, and the fuzzing stalls meanwhile. The synthetic seeds
	// cover intact signatures and the canonicalisation of the content.
	if _, err := os.Stat(filepath.Join(corpusDir, "MANIFEST.tsv")); err == nil {
		for _, name := range []string{"envelope_aruba_6.eml", "accettazione_aruba_1.eml", "envelope_sogei_4.eml"} {
			msg, err := os.ReadFile(filepath.Join(corpusDir, name))
			if err != nil {
				continue
			}
			if content, sig, err := splitSigned(msg); err == nil {
				f.Add(content[:min(len(content), 128)], sig)
			}
		}
	}
	fx := testFixture(f)
	// One verification time for the whole run: problem details quote it,
	// and a verdict must be the same twice.
	opts := &smime.VerifyOptions{Roots: fx.pki.Pool(), From: fx.provider, CurrentTime: time.Now()}
	f.Fuzz(func(t *testing.T, content, sig []byte) {
		v, err := smime.Verify(bytes.NewReader(content), sig, opts)
		if err != nil {
			t.Fatalf("Verify error on in-memory content: %v", err)
		}
		checkConsistent(t, v, opts)
		again, _ := smime.Verify(bytes.NewReader(content), sig, opts)
		if again.Intact != v.Intact || *again.Trusted != *v.Trusted || !reflect.DeepEqual(again.Problems, v.Problems) {
			t.Fatalf("verdict changed: %v then %v", v.Problems, again.Problems)
		}
		// Without options, integrity is the same.
		plainOpts := &smime.VerifyOptions{CurrentTime: opts.CurrentTime}
		plain, _ := smime.Verify(bytes.NewReader(content), sig, plainOpts)
		checkConsistent(t, plain, plainOpts)
		if plain.Intact != v.Intact {
			t.Fatalf("intact %v with options, %v without", v.Intact, plain.Intact)
		}
		_, av := smime.VerifyAttached(sig, plainOpts)
		checkConsistent(t, av, plainOpts)
	})
}

// Go's fuzzer minimises every new input it keeps, and the minimisation
// takes time quadratic in the input's length: for the kilobytes of a
// signature it runs to its time limit (a minute by default), and the
// fuzzing stalls meanwhile. FuzzVerifyEdits keeps its inputs a few bytes
// long: they are edits to signed contents and signatures that stay fixed,
// so each execution reads a real signature with a few octets changed,
// inserted or removed, and a new input is minimised in moments.

// editBases are the signed contents and signatures the edits apply to:
// the synthetic seeds of FuzzVerify, which stay the same from one process
// to the next (a fixture made at run time would not).
func editBases(t testing.TB) [][2][]byte {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzVerify", "synthetic-*"))
	var bases [][2][]byte
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) != 3 {
			t.Fatalf("%s: %d lines", name, len(lines))
		}
		var pair [2][]byte
		for i, l := range lines[1:] {
			s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(l, "[]byte("), ")"))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			pair[i] = []byte(s)
		}
		if len(pair[1]) > 0 {
			bases = append(bases, pair)
		}
	}
	if len(bases) == 0 {
		t.Fatal("no synthetic seeds in testdata/fuzz/FuzzVerify")
	}
	return bases
}

// maxEdits bounds the edits applied per input.
const maxEdits = 32

// applyEdits applies edits, four octets each, to copies of content and
// sig: the operation (set, xor, insert, delete; in the content when bit 2
// is set, else in the signature), a 16-bit offset taken modulo the length,
// and a value.
func applyEdits(content, sig, edits []byte) ([]byte, []byte) {
	content, sig = bytes.Clone(content), bytes.Clone(sig)
	for n := 0; len(edits) >= 4 && n < maxEdits; n, edits = n+1, edits[4:] {
		op, off, val := edits[0], int(edits[1])<<8|int(edits[2]), edits[3]
		b := &sig
		if op&4 != 0 {
			b = &content
		}
		if len(*b) == 0 {
			if op&3 == 2 {
				*b = append(*b, val)
			}
			continue
		}
		off %= len(*b)
		switch op & 3 {
		case 0:
			(*b)[off] = val
		case 1:
			(*b)[off] ^= val
		case 2:
			*b = append((*b)[:off], append([]byte{val}, (*b)[off:]...)...)
		case 3:
			*b = append((*b)[:off], (*b)[off+1:]...)
		}
	}
	return content, sig
}

// FuzzVerifyEdits verifies a real signature with a few edits: Verify must
// return a consistent verdict, the same twice; VerifyAttached must too.
func FuzzVerifyEdits(f *testing.F) {
	bases := editBases(f)
	f.Add(uint8(0), []byte{})
	f.Add(uint8(0), []byte{4, 0, 10, '\n'})                     // the content changed
	f.Add(uint8(0), []byte{1, 0, 1, 0x80})                      // the outer length
	f.Add(uint8(1), []byte{3, 0x02, 0x00, 0})                   // an octet of a certificate removed
	f.Add(uint8(2), []byte{0, 0x07, 0x00, 0x80})                // near the signed attributes
	f.Add(uint8(6), []byte{2, 0x00, 0x04, 0, 2, 0x00, 0x04, 0}) // BER: two octets inserted
	// One verification time for the whole run: problem details quote it.
	opts := &smime.VerifyOptions{CurrentTime: time.Now()}
	f.Fuzz(func(t *testing.T, which uint8, edits []byte) {
		base := bases[int(which)%len(bases)]
		content, sig := applyEdits(base[0], base[1], edits)
		v, err := smime.Verify(bytes.NewReader(content), sig, opts)
		if err != nil {
			t.Fatalf("Verify error on in-memory content: %v", err)
		}
		checkConsistent(t, v, opts)
		again, _ := smime.Verify(bytes.NewReader(content), sig, opts)
		if again.Intact != v.Intact || again.BER != v.BER || !reflect.DeepEqual(again.Problems, v.Problems) {
			t.Fatalf("verdict changed: %v then %v", v.Problems, again.Problems)
		}
		_, av := smime.VerifyAttached(sig, opts)
		checkConsistent(t, av, opts)
	})
}
