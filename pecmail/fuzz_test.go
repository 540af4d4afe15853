package pecmail_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pecsdk/pec/envelope"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pecmail"
	"github.com/pecsdk/pec/receipt"
	"github.com/pecsdk/pec/sample"
)

// FuzzRead checks, on any input, that Read never panics and is stable
// (a second reading says the same), that envelope.Of and receipt.Of agree
// with its kind, and that every attachment opens and yields Size bytes
// when it decodes without error. Seeds: the corpus, every sample kind,
// ordinary mail and a forwarded PEC message.
func FuzzRead(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "shared", "corpus", "*.eml"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	if s, err := sample.New(time.Date(2026, 9, 14, 9, 0, 0, 0, time.UTC)); err == nil {
		for _, k := range pec.Kinds {
			f.Add(s.Messages[k])
		}
		f.Add(forward(s.Messages[pec.KindDelivery]))
	}
	f.Add([]byte(sample.Ordinary))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := pecmail.Read(bytes.NewReader(b), nil)
		again, err2 := pecmail.Read(bytes.NewReader(b), nil)
		if fmt.Sprint(err) != fmt.Sprint(err2) {
			t.Fatalf("unstable error: %v / %v", err, err2)
		}
		if err != nil {
			return
		}
		if summary(m) != summary(again) {
			t.Fatalf("unstable reading:\n%s\n%s", summary(m), summary(again))
		}
		p := m.PEC()
		_, eerr := envelope.Of(m)
		_, rerr := receipt.Of(m)
		switch {
		case p == nil:
			if !errors.Is(eerr, pec.ErrNotPEC) || !errors.Is(rerr, pec.ErrNotPEC) {
				t.Fatalf("no PEC message, yet Of says %v / %v", eerr, rerr)
			}
		case p.Kind.IsEnvelope() != (eerr == nil), p.Kind.IsReceipt() != (rerr == nil):
			t.Fatalf("%s: envelope.Of %v, receipt.Of %v", p.Kind, eerr, rerr)
		}
		_ = m.Text()
		_ = m.Subject()
		as, err := m.Attachments()
		if err != nil {
			return
		}
		for _, a := range as {
			r, err := a.Open()
			if err != nil {
				continue
			}
			n, err := io.Copy(io.Discard, r)
			if err == nil && n != a.Size() {
				t.Fatalf("attachment %s (%s): %d bytes, Size %d", a.Path, a.Name, n, a.Size())
			}
		}
	})
}

func summary(m *pecmail.Message) string {
	s := fmt.Sprintf("%s pec=%v ok=%v wrapped=%v problems=%v deviations=%q", m.Kind, m.IsPEC(), m.OK(), m.Wrapped, m.Problems, m.Deviations)
	if m.Forwarded != nil {
		s += " forwarded: " + summary(m.Forwarded)
	}
	return s
}
