package client

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/emersion/go-message/textproto"

	"github.com/pecsdk/pec/envelope"
	"github.com/pecsdk/pec/internal/pecmsg"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/pecmail"
	"github.com/pecsdk/pec/receipt"
)

// Message is one incoming message, classified (PEC.md §15.3) and, when PEC,
// parsed and verified.
type Message struct {
	Kind      pec.Kind           // pec.KindUnknown for ordinary (non-PEC) mail
	MessageID string             // the message's own Message-ID, without angle brackets
	Envelope  *envelope.Envelope // set for transport and anomaly envelopes
	Receipt   *receipt.Receipt   // set for receipts and notices
	Signature *smime.Verdict     // the verdict of whichever was parsed; nil when unsigned / ordinary
	Problems  []error            // what is wrong (parse problems, missing parts)

	// Digest is the SHA-256 of the message's bytes, in hexadecimal: the
	// identity of a copy, the same however often it is fetched.
	Digest string

	raw []byte // the bytes of a receipt or notice, kept as evidence
	// authority is VerifyOptions.Authority of Classify: the tracker asks it
	// whether the signer's provider manages the addresses a receipt names.
	authority smime.Authority
}

// Classify reads one message (an *os.File or *bytes.Reader is read in place)
// and classifies, parses and verifies it with opts. A message is trusted
// only when opts.Authority (the provider index, package pec/index) lists
// its signer as a PEC provider; Roots alone check a chain, which any
// certificate under the same CA has. nil checks integrity only. Use
// Envelope.OK or Receipt.OK to rely on a message: signed by a provider and
// of the kind its signed content establishes. A Tracker takes as evidence
// only receipts classified with an Authority and verified live
// (opts.CurrentTime zero, not AsOfSigningTime).
//
// The kind is decided by the message's own header fields, as PEC.md §15.3
// says: X-Ricevuta makes a receipt or notice, X-Trasporto an envelope, and
// anything else is ordinary mail, even when it carries a PEC message as an
// attachment (a forwarded .eml never makes a message PEC). The kind is then
// the one the signed content establishes, as the envelope and receipt
// packages decide it; a header claim it does not establish is listed in
// Problems (pec.ErrUnsignedClaim).
//
// Ordinary mail is not an error: Kind == pec.KindUnknown, err == nil. A PEC
// header with an unknown value, or a PEC message too damaged to read, is also
// returned as pec.KindUnknown, with the reason in Problems. err is only for
// unreadable input.
func Classify(r io.Reader, opts *smime.VerifyOptions) (*Message, error) {
	src, size, err := pecmsg.Source(r)
	if err != nil {
		return nil, err
	}
	sec := io.NewSectionReader(src, 0, size)
	h := sha256.New()
	if _, err := io.Copy(h, sec); err != nil {
		return nil, fmt.Errorf("client: reading message: %w", err)
	}
	m := &Message{Digest: hex.EncodeToString(h.Sum(nil))}
	if opts != nil {
		m.authority = opts.Authority
	}
	hdr, err := textproto.ReadHeader(bufio.NewReader(io.NewSectionReader(src, 0, size)))
	if err != nil {
		m.Problems = append(m.Problems, &pec.ParseError{Header: "", Offset: -1, Err: fmt.Errorf("%w: header: %w", pec.ErrMalformed, err)})
		return m, nil
	}
	m.MessageID = pec.NormalizeMsgID(hdr.Get("Message-Id"))
	isReceipt := strings.TrimSpace(hdr.Get(pec.HeaderReceipt)) != ""
	isEnvelope := strings.TrimSpace(hdr.Get(pec.HeaderTransport)) != ""
	if !isReceipt && !isEnvelope {
		return m, nil // ordinary mail (PEC.md §15.3 step 4)
	}
	// One reading: the certification data, authoritative, says which
	// family it is whatever the header names; nothing is parsed or
	// verified twice.
	pm, err := pecmail.Read(io.NewSectionReader(src, 0, size), opts)
	if err == nil {
		if rc, rerr := receipt.Of(pm); rerr == nil {
			m.Kind, m.Receipt, m.Signature = rc.Kind, rc, rc.Signature
			m.Problems = append(m.Problems, rc.Problems...)
		} else if e, eerr := envelope.Of(pm); eerr == nil {
			m.Kind, m.Envelope, m.Signature = e.Kind, e, e.Signature
			m.Problems = append(m.Problems, e.Problems...)
		} else {
			err = rerr
			if errors.Is(rerr, receipt.ErrNotReceipt) {
				err = eerr
			}
		}
	}
	if err != nil {
		// The bytes were all read above: what fails here is the message.
		m.Kind = pec.KindUnknown
		m.Problems = append(m.Problems, err)
		return m, nil
	}
	if m.Receipt != nil {
		m.raw = make([]byte, size)
		if _, err := src.ReadAt(m.raw, 0); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("client: reading message: %w", err)
		}
	}
	return m, nil
}
