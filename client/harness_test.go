package client_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/internal/dovecottest"
	"github.com/pecsdk/pec/internal/testenv"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/sample"
)

// Passwords of the test mailboxes.
const (
	alicePass = "alice-secret"
	bobPass   = "bob-secret"
)

// seededMsg is a message put in the test mailbox, and the kind it has.
type seededMsg struct {
	name string
	kind pec.Kind
	data []byte
}

// corpusKinds maps the kind column of the corpus manifest (the file name
// prefix) to the kind.
var corpusKinds = map[string]pec.Kind{
	"accettazione":      pec.KindAcceptance,
	"avvenuta-consegna": pec.KindDelivery,
	"envelope":          pec.KindTransport,
	"errore-consegna":   pec.KindDeliveryError,
}

// seedSet returns the 14 messages of the sample set and those of the
// corpus, with their kinds.
func seedSet(t testing.TB) (*sample.Set, []seededMsg) {
	t.Helper()
	// Two days ago: the timeout notices of the set, certified up to a day
	// after it, are in the past, as a live verification requires.
	set, err := sample.New(time.Now().Add(-48 * time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var msgs []seededMsg
	for _, k := range pec.Kinds {
		if b, ok := set.Messages[k]; ok {
			msgs = append(msgs, seededMsg{name: "sample:" + k.String(), kind: k, data: b})
		}
	}
	if len(msgs) != 14 {
		t.Fatalf("sample set has %d messages, want 14", len(msgs))
	}
	for _, f := range testenv.CorpusFiles(t) {
		prefix, _, _ := strings.Cut(filepath.Base(f), "_")
		k, ok := corpusKinds[prefix]
		if !ok {
			t.Fatalf("%s: no expected kind for prefix %q", f, prefix)
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, seededMsg{name: filepath.Base(f), kind: k, data: b})
	}
	return set, msgs
}

// startSeeded starts Dovecot with mailboxes for Alice (seeded with msgs)
// and Bob.
func startSeeded(t testing.TB, msgs []seededMsg) *dovecottest.Server {
	t.Helper()
	var raw [][]byte
	for _, m := range msgs {
		raw = append(raw, m.data)
	}
	return dovecottest.Start(t, &dovecottest.Options{
		Users: map[string]string{sample.Alice: alicePass, sample.Bob: bobPass},
		Seed:  map[string][][]byte{sample.Alice: raw},
	})
}

// crlfDigest is the SHA-256 of b with every line end made CRLF: IMAP
// servers send stored LF line ends as CRLF.
func crlfDigest(b []byte) string {
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	b = bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// fetchOpts returns options to fetch Alice's mailbox from srv.
func fetchOpts(srv *dovecottest.Server, proto client.Protocol, sec client.Security, dir string, set *sample.Set) *client.FetchOptions {
	addr := map[client.Protocol]map[client.Security]string{
		client.IMAP: {client.SecurityTLS: srv.IMAPS, client.SecurityStartTLS: srv.IMAP},
		client.POP3: {client.SecurityTLS: srv.POP3S, client.SecurityStartTLS: srv.POP3},
	}[proto][sec]
	return &client.FetchOptions{
		Protocol:  proto,
		Server:    endpoint(addr, sec),
		TLSConfig: srv.TLS.ClientConfig(),
		Username:  sample.Alice,
		Password:  alicePass,
		Dir:       dir,
		Verify:    liveOpts(set),
		Timeout:   20 * time.Second,
	}
}

// liveOpts verifies live against the sample CA and the sample world's
// provider index, as a fetch that feeds a tracker must. Should the index
// not build, the options have no Authority, and a fetch with a tracker
// fails with ErrNoTrust.
func liveOpts(set *sample.Set) *smime.VerifyOptions {
	o := &smime.VerifyOptions{Roots: set.PKI.Pool()}
	if idx, err := set.Index(); err == nil {
		o.Authority = idx
	}
	return o
}

// endpoint makes an Endpoint of a host:port address.
func endpoint(addr string, sec client.Security) client.Endpoint {
	host, port, _ := strings.Cut(addr, ":")
	var p int
	for _, c := range port {
		p = p*10 + int(c-'0')
	}
	return client.Endpoint{Host: host, Port: p, Security: sec}
}

// emlFiles lists the messages in a fetch folder.
func emlFiles(t testing.TB, dir string) []string {
	t.Helper()
	fs, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// shaHex is the SHA-256 of b, in hexadecimal.
func shaHex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
