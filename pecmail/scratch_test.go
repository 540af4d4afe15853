package pecmail_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/pecsdk/pec/pecmail"
)

// TestReadsAreIndependent reads every corpus message, then reads them all
// again: what the first reading returned (signature verdict, signer
// certificate, certification data) must not have changed, although the
// buffers a reading decodes the signature and daticert.xml into, and the
// parsed certificates, are reused by the next one.
func TestReadsAreIndependent(t *testing.T) {
	files, _ := loadCorpus(t)
	opts := corpusTrust(t, files)
	describe := func(m *pecmail.Message) string {
		p := m.PEC()
		if p == nil {
			return "not PEC"
		}
		s := fmt.Sprintf("%v %+v %q", p.Kind, p.Data, p.Problems)
		if v := p.Signature; v != nil {
			s += fmt.Sprintf(" %s %v %s %v %x", v.Summary(), v.Intact, v.SignerEmail, v.SigningTime, v.Problems)
			if v.Signer != nil {
				s += fmt.Sprintf(" %x", v.Signer.Raw)
			}
		}
		return s
	}
	first := make([]*pecmail.Message, len(files))
	want := make([]string, len(files))
	for i, f := range files {
		m, err := pecmail.Read(bytes.NewReader(f.raw), opts)
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		first[i], want[i] = m, describe(m)
	}
	for range 2 {
		for _, f := range files {
			if _, err := pecmail.Read(bytes.NewReader(f.raw), opts); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i, m := range first {
		if got := describe(m); got != want[i] {
			t.Errorf("%s changed after other readings:\n%s\nwas\n%s", files[i].name, got, want[i])
		}
	}
}
