package main

import (
	"bytes"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/sample"
)

func cmdSample(args []string, out io.Writer) error {
	fs := newFlagSet("sample")
	dir := fs.String("o", "", "output folder (created if missing)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if *dir == "" || len(pos) != 0 {
		return fmt.Errorf("sample: usage: pec sample -o DIR")
	}
	files, err := writeSamples(*dir, timeNow())
	if err != nil {
		return err
	}
	for _, f := range files {
		fmt.Fprintln(out, "wrote", f)
	}
	return nil
}

// sampleAge is how long before now the sample transport envelope is dated.
const sampleAge = 24 * time.Hour

// writeSamples writes ca.pem, the two provider certificates, one signed
// message of every catalogue kind and the providers' index (index.ldif) to
// dir, and returns their paths.
func writeSamples(dir string, now time.Time) ([]string, error) {
	// The set is dated a day ago, so that its 24-hour notice too is in the
	// past and every message verifies now.
	set, err := sample.New(now.Add(-sampleAge))
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var files []string
	save := func(name string, data []byte) error {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
		files = append(files, p)
		return nil
	}
	if err := save("ca.pem", set.PKI.CAPEM()); err != nil {
		return nil, err
	}
	if err := save("provider-mittente.pem", certPEM(set.Sender)); err != nil {
		return nil, err
	}
	if err := save("provider-destinatario.pem", certPEM(set.Recipient)); err != nil {
		return nil, err
	}
	for i, k := range pec.Kinds {
		if err := save(fmt.Sprintf("%02d-%s.eml", i+1, k), set.Messages[k]); err != nil {
			return nil, err
		}
	}
	// The provider index of the sample world, for --ldif.
	ldif, err := set.IndexLDIF()
	if err != nil {
		return nil, err
	}
	if err := save("index.ldif", ldif); err != nil {
		return nil, err
	}
	return files, nil
}

func certPEM(s *smime.Signer) []byte {
	var b bytes.Buffer
	pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
	return b.Bytes()
}
