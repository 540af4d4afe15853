package daticert

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pecsdk/pec/pec"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// dtdPath is daticert.dtd beside PEC.md, in the shared folder next to the
// module.
const dtdPath = "../../../shared/spec/daticert.dtd"

// unavailable skips the test for a missing external resource, or fails it
// when CI=true, where everything must be present.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

func TestMarshalGolden(t *testing.T) {
	got, err := fullData().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "full.golden.xml")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Marshal differs from %s (run go test -update if the change is intended):\n%s", golden, got)
	}
}

// TestMarshalLayout checks the layout of PEC.md §8.3 and §8.4 line by line
// on minimal data: declaration, both root attributes, tipo on every
// destinatari, oggetto even when empty, two-space indentation.
func TestMarshalLayout(t *testing.T) {
	got, err := minimalData().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := `<?xml version="1.0" encoding="UTF-8"?>
<postacert tipo="accettazione" errore="nessuno">
  <intestazione>
    <mittente>alice@pec.example.it</mittente>
    <destinatari tipo="certificato">bob@pec.example.com</destinatari>
    <risposte>alice@pec.example.it</risposte>
    <oggetto></oggetto>
  </intestazione>
  <dati>
    <gestore-emittente>Example PEC S.p.A.</gestore-emittente>
    <data zona="+0100">
      <giorno>31/01/2026</giorno>
      <ora>23:59:59</ora>
    </data>
    <identificativo>opec1.20260131225959.1@pec.example.it</identificativo>
  </dati>
</postacert>
`
	if string(got) != want {
		t.Errorf("Marshal =\n%s\nwant\n%s", got, want)
	}
}

// realistic returns the certification data a provider writes for tipo ct,
// with the elements PEC.md §8.2 lists for it.
func realistic(ct pec.CertType) *Data {
	d := minimalData()
	d.Type = ct
	d.Error = pec.ErrorNone
	d.Recipients = []Recipient{
		{Address: "bob@pec.example.com", Type: pec.RecipientCertified},
		{Address: "carol@example.org", Type: pec.RecipientExternal},
	}
	d.Subject = "Contratto & allegati"
	d.MsgID = "<orig-1@client.example>"
	switch ct {
	case pec.CertTransport:
		d.ReceiptType = pec.ReceiptFull
	case pec.CertNonAcceptance:
		d.Error, d.ExtendedError = pec.ErrorOther, "destinatari non validi"
	case pec.CertTakeInCharge:
		d.Receipts = []string{"bob@pec.example.com", "dave@pec.example.com"}
	case pec.CertDelivery:
		d.ReceiptType, d.Delivery = pec.ReceiptShort, "bob@pec.example.com"
	case pec.CertDeliveryError:
		d.Error, d.Delivery, d.ExtendedError = pec.ErrorNoDest, "bob@pec.example.com", "5.1.1 - Example PEC - indirizzo non valido"
	case pec.CertDeliveryWarning:
		d.Error, d.Delivery, d.ExtendedError = pec.ErrorOther, "bob@pec.example.com", "4.4.7 - mancata consegna entro 12 ore"
	case pec.CertVirusDetected:
		d.Error, d.Delivery, d.ExtendedError = pec.ErrorVirus, "bob@pec.example.com", "Eicar-Test-Signature"
	}
	return d
}

// TestMarshalDTDValid validates Marshal output with xmllint against
// daticert.dtd, for every tipo.
func TestMarshalDTDValid(t *testing.T) {
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		unavailable(t, "xmllint not installed (package libxml2-utils)")
	}
	if _, err := os.Stat(dtdPath); err != nil {
		unavailable(t, "DTD not available: %v", err)
	}
	cases := map[string]*Data{"full": fullData(), "minimal": minimalData()}
	for _, ct := range []pec.CertType{
		pec.CertAcceptance, pec.CertNonAcceptance, pec.CertTakeInCharge, pec.CertDelivery,
		pec.CertTransport, pec.CertDeliveryError, pec.CertDeliveryWarning, pec.CertVirusDetected,
	} {
		cases[string(ct)] = realistic(ct)
	}
	for name, d := range cases {
		t.Run(name, func(t *testing.T) {
			b, err := d.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(xmllint, "--noout", "--nonet", "--dtdvalid", dtdPath, "-")
			cmd.Stdin = bytes.NewReader(b)
			if out, err := cmd.CombinedOutput(); err != nil || len(out) != 0 {
				t.Fatalf("xmllint: %v\n%s\n%s", err, out, b)
			}
		})
	}

	t.Run("negative", func(t *testing.T) { // the check itself must be able to fail
		b, _ := realistic(pec.CertTransport).Marshal()
		b = []byte(strings.Replace(string(b), "posta-certificata", "mancata-consegna", 1))
		cmd := exec.Command(xmllint, "--noout", "--nonet", "--dtdvalid", dtdPath, "-")
		cmd.Stdin = bytes.NewReader(b)
		if out, err := cmd.CombinedOutput(); err == nil {
			t.Fatalf("xmllint accepted an invalid tipo:\n%s", out)
		}
	})
}
