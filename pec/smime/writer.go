package smime

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"

	"github.com/emersion/go-message/textproto"
)

// Preamble is the text before the first body part of a signed message, as
// real providers write it (PEC.md §7.2).
const preamble = "This is an S/MIME signed message\r\n"

// NewWriter starts a multipart/signed message (RFC 1847 §2.1, RFC 5751
// §3.4.3) on w and returns the writer of its signed content.
//
// It writes the outer header h, with "MIME-Version: 1.0" and a
// "Content-Type: multipart/signed" carrying protocol, micalg and a random
// boundary in place of any MIME-Version, Content-Type and
// Content-Transfer-Encoding that h holds, then the preamble and the first
// boundary. h itself is not modified.
//
// What the caller then writes is the signed content: the complete first
// body part, its MIME header and its body. Bare LF line endings are turned
// into CRLF as they are written, both in the output and in the digest. The
// content must not contain the boundary line, which is 40 random hex digits.
//
// Close signs the digest at signingTime (time.Now() when zero) and writes
// the smime.p7s part and the closing boundary. The message is complete only
// when Close returns nil. Memory use does not depend on the content size.
func (s *Signer) NewWriter(w io.Writer, h textproto.Header, signingTime time.Time) (io.WriteCloser, error) {
	var rnd [20]byte
	if _, err := io.ReadFull(randReader, rnd[:]); err != nil {
		return nil, fmt.Errorf("smime: boundary: %w", err)
	}
	boundary := "----=_PEC_" + hex.EncodeToString(rnd[:])
	var head bytes.Buffer
	fields := h.Fields()
	for fields.Next() {
		switch strings.ToLower(fields.Key()) {
		case "content-type", "mime-version", "content-transfer-encoding":
			continue
		}
		raw, err := fields.Raw()
		if err != nil {
			return nil, fmt.Errorf("smime: header: %w", err)
		}
		head.Write(raw)
	}
	var mimeHeader textproto.Header
	// Fields added later are written first.
	mimeHeader.Add("Content-Type", fmt.Sprintf(`multipart/signed; protocol="%s"; micalg=%s; boundary="%s"`, s.ctype, Micalg(s.hash), boundary))
	mimeHeader.Add("MIME-Version", "1.0")
	if err := textproto.WriteHeader(&head, mimeHeader); err != nil {
		return nil, fmt.Errorf("smime: header: %w", err)
	}
	head.WriteString(preamble)
	head.WriteString("\r\n--" + boundary + "\r\n")
	// Header fields parsed from a file may end in bare LF.
	out := &crlfWriter{w: w}
	if _, err := out.Write(head.Bytes()); err != nil {
		return nil, err
	}
	mw := &signingWriter{s: s, w: w, boundary: boundary, time: signingTime, h: s.hash.New()}
	mw.content = crlfWriter{w: io.MultiWriter(w, mw.h)}
	return mw, nil
}

// signingWriter is the writer NewWriter returns.
type signingWriter struct {
	s        *Signer
	w        io.Writer
	content  crlfWriter // to w and h
	h        hash.Hash
	boundary string
	time     time.Time
	err      error // sticky: the first failure, or ErrClosed
}

func (m *signingWriter) Write(p []byte) (int, error) {
	if m.err != nil {
		return 0, m.err
	}
	n, err := m.content.Write(p)
	if err != nil {
		m.err = err
	}
	return n, err
}

// Close signs and writes the signature part and the closing delimiter.
func (m *signingWriter) Close() error {
	if m.err != nil {
		if m.err == ErrClosed {
			return nil
		}
		return m.err
	}
	m.err = ErrClosed
	sig, err := buildSignedData(m.s.key, m.s.chain, m.s.hash, m.h.Sum(nil), m.time, nil)
	if err != nil {
		m.err = err
		return err
	}
	var b bytes.Buffer
	b.Grow(len(sig)*4/3 + 512)
	fmt.Fprintf(&b, "\r\n--%s\r\n", m.boundary)
	fmt.Fprintf(&b, "Content-Type: %s; name=\"smime.p7s\"\r\n", m.s.ctype)
	b.WriteString("Content-Transfer-Encoding: base64\r\n")
	b.WriteString("Content-Disposition: attachment; filename=\"smime.p7s\"\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString(sig)
	for len(enc) > 76 {
		b.WriteString(enc[:76])
		b.WriteString("\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc)
	fmt.Fprintf(&b, "\r\n\r\n--%s--\r\n", m.boundary)
	if _, err := m.w.Write(b.Bytes()); err != nil {
		m.err = err
		return err
	}
	return nil
}
