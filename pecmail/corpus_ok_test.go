package pecmail_test

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pecsdk/pec/internal/testenv"
	"github.com/pecsdk/pec/pecmail"
)

// TestCorpusGenuineOK: hardening must not refuse what real providers
// send. Every corpus message whose signature openssl verifies (the
// MANIFEST's last column) reads as intact, trusted and OK when its
// provider is listed, judged as of its signing time (the certificates
// have expired since), with no header contradicting its signed content.
func TestCorpusGenuineOK(t *testing.T) {
	files, _ := loadCorpus(t)
	opts := corpusTrust(t, files)
	verified := manifestVerified(t)
	n := 0
	for _, f := range files {
		m, err := pecmail.Read(bytes.NewReader(f.raw), opts)
		if err != nil {
			t.Errorf("%s: %v", f.name, err)
			continue
		}
		if !verified[f.name] {
			continue
		}
		n++
		p := m.PEC()
		switch {
		case p == nil || p.Signature == nil:
			t.Errorf("%s: openssl verifies it, read as unsigned", f.name)
		case !p.Signature.Intact:
			t.Errorf("%s: openssl verifies it, read as not intact: %v", f.name, p.Signature.Problems)
		case !m.OK():
			t.Errorf("%s: genuine %s not OK: signature %s %v; problems %v", f.name, p.Kind, p.Signature.Summary(), p.Signature.Problems, p.Problems)
		}
	}
	if n == 0 {
		t.Fatal("no corpus message that openssl verifies")
	}
	t.Logf("%d genuine corpus messages OK", n)
}

// manifestVerified returns the corpus files whose signature openssl
// verified, by the MANIFEST.tsv beside them.
func manifestVerified(tb testing.TB) map[string]bool {
	tb.Helper()
	paths := testenv.CorpusFiles(tb)
	f, err := os.Open(filepath.Join(filepath.Dir(paths[0]), "MANIFEST.tsv"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	out := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) > 1 && strings.HasPrefix(strings.TrimSpace(cols[len(cols)-1]), "OK") {
			out[cols[0]] = true
		}
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}
