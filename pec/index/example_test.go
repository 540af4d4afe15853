package index_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/pecsdk/pec/envelope"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/index"
	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/sample"
)

// ExampleParseLDIF reads a published dump and answers the lookups of an
// access point: is the recipient domain PEC, and through which provider.
func ExampleParseLDIF() {
	f, err := os.Open("testdata/sample.ldif")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	idx, err := index.ParseLDIF(f)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range []string{"pec.destinatario.example", "PEC.Mittente.Example", "gmail.com"} {
		if p, ok := idx.Domain(d); ok {
			fmt.Printf("%s: certificato, %s, receipts to %s\n", d, p.Name, p.MailReceipt)
		} else {
			fmt.Printf("%s: esterno\n", d)
		}
	}
	// Output:
	// pec.destinatario.example: certificato, Gestore Destinatario S.p.A., receipts to posta-certificata@pec.destinatario.example
	// PEC.Mittente.Example: certificato, Gestore Mittente S.p.A., receipts to posta-certificata@pec.mittente.example
	// gmail.com: esterno
}

// ExampleNewMirror keeps a local copy of the directory, refreshed daily;
// lookups never wait on the directory.
func ExampleNewMirror() {
	m := index.NewMirror(&index.LDAP{URL: "ldaps://igpec.example.it"}, &index.MirrorOptions{
		Interval: index.DefaultInterval,
	})
	// go m.Run(ctx) refreshes it until ctx ends; until the first
	// refresh, nothing is listed.
	_, ok := m.Domain("pec.example.it")
	fmt.Println(ok, m.Status().Loaded.IsZero())
	// Output: false true
}

// ExampleSnapshot_Authorize is the trust decision a verification asks for
// (smime.VerifyOptions.Authority): here, for a certificate the index does
// not list.
func ExampleSnapshot_Authorize() {
	idx, err := index.New(nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	err = idx.Authorize(nil, "mario@pec.example.it", time.Time{})
	fmt.Println(errors.Is(err, index.ErrUnlisted), err)
	// Output: true index: signer certificate not listed: no signer certificate
}

// Example_verify judges the trust of a PEC message by the index: the
// Snapshot is the Authority of the verification that envelope.Parse (and
// receipt.Parse) make.
func Example_verify() {
	set, err := sample.New(time.Now())
	if err != nil {
		fmt.Println(err)
		return
	}
	idx, err := set.Index() // or index.ParseLDIF, or a Mirror of the directory
	if err != nil {
		fmt.Println(err)
		return
	}
	env, err := envelope.Parse(bytes.NewReader(set.Messages[pec.KindTransport]), &smime.VerifyOptions{Authority: idx})
	if err != nil {
		fmt.Println(err)
		return
	}
	p, _ := idx.Signer(env.Signature.Signer)
	fmt.Println("trusted:", *env.Signature.Trusted, "signed by", p.Name)

	empty, _ := index.New(nil)
	env, _ = envelope.Parse(bytes.NewReader(set.Messages[pec.KindTransport]), &smime.VerifyOptions{Authority: empty})
	fmt.Println("trusted:", *env.Signature.Trusted, env.Signature.Problems[0].Code)
	// Output:
	// trusted: true signed by Gestore Mittente S.p.A.
	// trusted: false unlisted-signer
}
