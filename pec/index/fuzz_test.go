package index

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// ldifSeeds are small LDIF texts covering the grammar; the seed corpus
// under testdata/fuzz/FuzzLDIF adds full provider dumps.
var ldifSeeds = []string{
	"version: 1\n\ndn: o=postacert\nobjectClass: top\no: postacert\n",
	"dn: providerName=Example PEC S.p.A.,o=postacert\r\nobjectclass: provider\r\nproviderName: Example\r\n  PEC S.p.A.\r\nmailReceipt: a@b.example\r\nmanagedDomains: b.example\r\nproviderCertificateHash: 7E7AEF1059AE0F454F2643A95F69EC3556009239\r\nproviderCertificate;binary:: MIIB\r\n",
	"# comment\n continued\ndn:: bz1wb3N0YWNlcnQ=\ndescription:: w6g=\n\n",
	"dn: o=x\nchangetype: modify\nadd: a\na: 1\n-\ndelete: b\n-\nreplace: c\nc: 2\n",
	"dn: o=x\nchangetype: delete\n",
	"dn: o=x\ncontrol: 1.2.3 true: dmFsdWU=\nchangetype: add\na: b\n",
	"dn: o=x\njpegPhoto:< file:///x\n",
}

// FuzzLDIF: the reader never panics, fails only with a *SyntaxError, and
// what it reads, written and read again, is the same; ParseLDIF never
// panics either.
func FuzzLDIF(f *testing.F) {
	for _, s := range ldifSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := readLDIF(bytes.NewReader(data))
		ParseLDIF(bytes.NewReader(data))
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Line < 1 {
				t.Fatalf("error %v is not a *SyntaxError with a line", err)
			}
			return
		}
		var b bytes.Buffer
		if err := writeLDIF(&b, recs); err != nil {
			t.Fatal(err)
		}
		again, err := readLDIF(&b)
		if err != nil {
			t.Fatalf("written LDIF does not read back: %v\n%s", err, b.String())
		}
		if !sameRecords(recs, again) {
			t.Fatalf("round trip differs:\n%+v\n%+v\n%s", recs, again, b.String())
		}
	})
}

// TestFuzzSeedsPresent keeps the provider-dump seeds beside the target.
func TestFuzzSeedsPresent(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzLDIF", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no seeds in testdata/fuzz/FuzzLDIF: %v", err)
	}
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			t.Fatal(err)
		}
	}
}
