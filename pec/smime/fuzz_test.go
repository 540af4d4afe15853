package smime_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
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
func FuzzVerify(f *testing.F) {
	for _, s := range syntheticSeeds(f) {
		f.Add(s[0], s[1])
	}
	if _, err := os.Stat(filepath.Join(corpusDir, "MANIFEST.tsv")); err == nil {
		for _, name := range []string{"envelope_aruba_6.eml", "accettazione_aruba_1.eml", "envelope_sogei_4.eml"} {
			msg, err := os.ReadFile(filepath.Join(corpusDir, name))
			if err != nil {
				continue
			}
			if content, sig, err := splitSigned(msg); err == nil {
				f.Add(content, sig)
			}
		}
	}
	fx := testFixture(f)
	opts := &smime.VerifyOptions{Roots: fx.pki.Pool(), From: fx.provider}
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
		plain, _ := smime.Verify(bytes.NewReader(content), sig, nil)
		checkConsistent(t, plain, nil)
		if plain.Intact != v.Intact {
			t.Fatalf("intact %v with options, %v without", v.Intact, plain.Intact)
		}
		_, av := smime.VerifyAttached(sig, nil)
		checkConsistent(t, av, nil)
	})
}
