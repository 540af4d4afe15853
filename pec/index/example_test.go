package index_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/pecsdk/pec/envelope"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/index"
	"github.com/pecsdk/pec/pec/pectest"
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

// ExampleFile reads the signed index from its publisher only: an index
// signed by a provider's key under the same root is refused, and the
// Mirror keeps nothing of it. In production the anchors are the AgID
// roots and the publisher is the one confirmed with AgID.
func ExampleFile() {
	root, err := pectest.NewPKI("Test Root CA")
	if err != nil {
		fmt.Println(err)
		return
	}
	publisher, _, err := root.NewProvider("Indice PEC", "indice@indice.example", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	provider, _, err := root.NewProvider("Gestore Mittente S.p.A.", "posta-certificata@pec.mittente.example", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	ldif, err := os.ReadFile("testdata/sample.ldif")
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, err := os.MkdirTemp("", "index")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "igpec.ldif.p7m")
	for _, signer := range []*smime.Signer{publisher, provider} {
		p7m, err := signer.SignAttached(ldif, time.Now())
		if err != nil {
			fmt.Println(err)
			return
		}
		if err := os.WriteFile(path, p7m, 0o600); err != nil {
			fmt.Println(err)
			return
		}
		m := index.NewMirror(&index.File{
			Path:      path,
			Anchors:   root.Pool(),
			Publisher: &index.Publisher{Email: "indice@indice.example"},
			// MinSigningTime: the Status().SigningTime kept from the last run.
		}, nil)
		err = m.Refresh(context.Background())
		fmt.Printf("%s: refused %v, loaded %v\n", signer.Address(), errors.Is(err, index.ErrPublisher), m.Snapshot() != nil)
	}
	// Output:
	// indice@indice.example: refused false, loaded true
	// posta-certificata@pec.mittente.example: refused true, loaded false
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
