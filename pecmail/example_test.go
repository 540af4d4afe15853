package pecmail_test

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/pecsdk/pec/envelope"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/pecmail"
	"github.com/pecsdk/pec/receipt"
	"github.com/pecsdk/pec/sample"
)

// forward wraps msg in ordinary mail, as a mail client forwards a message
// as an attachment.
func forward(msg []byte) []byte {
	return []byte("From: bob@posta.example\r\nTo: dave@posta.example\r\nSubject: Fwd: la PEC\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=fw\r\n\r\n" +
		"--fw\r\nContent-Type: text/plain\r\n\r\nTi giro la PEC.\r\n" +
		"--fw\r\nContent-Type: message/rfc822; name=pec.eml\r\nContent-Disposition: attachment; filename=pec.eml\r\n\r\n" +
		string(msg) + "\r\n--fw--\r\n")
}

// Triage a folder of mixed messages: each is read once, and says what it
// is; envelope.Of and receipt.Of give the specifics without reading again.
func ExampleRead() {
	set, err := sample.New(time.Now().Add(-48 * time.Hour))
	if err != nil {
		log.Fatal(err)
	}
	dir, _ := os.MkdirTemp("", "inbox")
	defer os.RemoveAll(dir)
	for name, b := range map[string][]byte{
		"1.eml": set.Messages[pec.KindTransport], "2.eml": set.Messages[pec.KindDelivery],
		"3.eml": set.Messages[pec.KindDeliveryError], "4.eml": []byte(sample.Ordinary),
		"5.eml": forward(set.Messages[pec.KindAcceptance]),
	} {
		os.WriteFile(filepath.Join(dir, name), b, 0o644)
	}
	idx, _ := set.Index() // in production: the provider index, an index.Mirror
	opts := &smime.VerifyOptions{Authority: idx}

	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	for _, path := range files {
		f, _ := os.Open(path)
		m, err := pecmail.Read(f, opts)
		switch name := filepath.Base(path); {
		case err != nil:
			fmt.Printf("%s: unreadable: %v\n", name, err)
		case m.PEC() == nil:
			fmt.Printf("%s: ordinary mail %q\n", name, m.Subject())
		case m.Forwarded != nil:
			fmt.Printf("%s: ordinary mail forwarding a %s (OK %v)\n", name, m.Forwarded.Kind, m.Forwarded.OK())
		case m.Kind.IsEnvelope():
			e, _ := envelope.Of(m)
			as, _ := e.Attachments()
			fmt.Printf("%s: %s from %s, OK %v, %d attachment(s)\n", name, e.Kind, e.Sender(), e.OK(), len(as))
		default:
			rc, _ := receipt.Of(m)
			fmt.Printf("%s: %s, OK %v", name, rc.Kind, rc.OK())
			if rc.Error != nil {
				fmt.Printf(", failure %s for %s", rc.Error.Code, rc.Error.Recipient)
			}
			fmt.Println()
		}
		f.Close()
	}
	// Output:
	// 1.eml: transport from alice@pec.mittente.example, OK true, 1 attachment(s)
	// 2.eml: delivery, OK true
	// 3.eml: delivery-error, OK true, failure no-dest for bob@pec.destinatario.example
	// 4.eml: ordinary mail "Offerta"
	// 5.eml: ordinary mail forwarding a acceptance (OK true)
}

// The files attached to the original message, byte for byte: only the
// transfer encoding is undone, no charset converted.
func ExampleMessage_Attachments() {
	set, err := sample.New(time.Now().Add(-48 * time.Hour))
	if err != nil {
		log.Fatal(err)
	}
	m, err := pecmail.Read(bytes.NewReader(set.Messages[pec.KindTransport]), nil)
	if err != nil {
		log.Fatal(err)
	}
	as, err := m.Attachments()
	if err != nil {
		log.Fatal(err)
	}
	for _, a := range as {
		r, _ := a.Open()
		head := make([]byte, 5)
		io.ReadFull(r, head)
		fmt.Printf("%s (%s, part %s): %d bytes, starting %q\n", a.Name, a.ContentType, a.Path, a.Size(), head)
	}
	// Output:
	// contratto.pdf (application/pdf, part 2): 78 bytes, starting "%PDF-"
}
