package pecmsg

import (
	"fmt"
	"io"
	"mime"
	"strings"
	"time"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/smime"
)

// Spec describes a PEC message to write (PEC.md §7.1).
type Spec struct {
	Header      textproto.Header // outer header, as built by Fields
	Text        string           // the human-readable text, CRLF lines
	HTML        string           // optional HTML alternative of Text
	CertData    []byte           // daticert.xml; nil for none (anomaly envelope)
	Original    func(w io.Writer) error
	OrigName    string // name of the attached message; "" = postacert.eml
	Orig8bit    bool   // the attached message may hold 8-bit bytes
	SigningTime time.Time
}

// Fields builds a header whose fields are written in the given order. Values
// with non-ASCII characters are RFC 2047 encoded.
type Fields struct{ kv [][2]string }

// Add appends a field.
func (f *Fields) Add(k, v string) { f.kv = append(f.kv, [2]string{k, v}) }

// AddRaw appends a field whose value is written as given (already encoded).
func (f *Fields) AddRaw(k, v string) { f.kv = append(f.kv, [2]string{k, "\x00" + v}) }

// Header returns the header.
func (f *Fields) Header() textproto.Header {
	var h textproto.Header
	for i := len(f.kv) - 1; i >= 0; i-- { // go-message writes the last added first
		k, v := f.kv[i][0], f.kv[i][1]
		if strings.HasPrefix(v, "\x00") {
			h.Add(k, v[1:])
			continue
		}
		h.Add(k, EncodeWord(v))
	}
	return h
}

// EncodeWord returns v, RFC 2047 encoded (UTF-8, Q) when it is not ASCII.
func EncodeWord(v string) string {
	for i := 0; i < len(v); i++ {
		if v[i] >= 0x80 || (v[i] < 0x20 && v[i] != '\t') {
			return mime.QEncoding.Encode("utf-8", strings.Map(dropControl, v))
		}
	}
	return v
}

func dropControl(r rune) rune {
	if r < 0x20 && r != '\t' {
		return ' '
	}
	return r
}

// Write writes the signed message described by spec to w.
func Write(w io.Writer, s *smime.Signer, spec *Spec) error {
	sw, err := s.NewWriter(w, spec.Header, spec.SigningTime)
	if err != nil {
		return err
	}
	if err := writeContent(sw, spec); err != nil {
		return err
	}
	return sw.Close()
}

func writeContent(w io.Writer, spec *Spec) error {
	var mh message.Header
	mh.Set("MIME-Version", "1.0")
	mh.SetContentType("multipart/mixed", nil)
	mw, err := message.CreateWriter(w, mh)
	if err != nil {
		return err
	}
	if spec.HTML != "" {
		var ah message.Header
		ah.SetContentType("multipart/alternative", nil)
		aw, err := mw.CreatePart(ah)
		if err != nil {
			return err
		}
		if err := textPart(aw, "text/plain", spec.Text); err != nil {
			return err
		}
		if err := textPart(aw, "text/html", spec.HTML); err != nil {
			return err
		}
		if err := aw.Close(); err != nil {
			return err
		}
	} else if err := textPart(mw, "text/plain", spec.Text); err != nil {
		return err
	}
	if spec.CertData != nil {
		var h message.Header
		h.SetContentType("application/xml", map[string]string{"name": pec.CertDataName})
		h.SetContentDisposition("inline", map[string]string{"filename": pec.CertDataName})
		h.Set("Content-Transfer-Encoding", "base64")
		pw, err := mw.CreatePart(h)
		if err != nil {
			return err
		}
		if _, err := pw.Write(spec.CertData); err != nil {
			return err
		}
		if err := pw.Close(); err != nil {
			return err
		}
	}
	if spec.Original != nil {
		name := spec.OrigName
		if name == "" {
			name = pec.OriginalName
		}
		var h message.Header
		h.SetContentType("message/rfc822", map[string]string{"name": name})
		h.SetContentDisposition("inline", map[string]string{"filename": name})
		if spec.Orig8bit {
			h.Set("Content-Transfer-Encoding", "8bit")
		} else {
			h.Set("Content-Transfer-Encoding", "7bit")
		}
		pw, err := mw.CreatePart(h)
		if err != nil {
			return err
		}
		if err := spec.Original(pw); err != nil {
			return fmt.Errorf("pec: writing the original message: %w", err)
		}
		if err := pw.Close(); err != nil {
			return err
		}
	}
	return mw.Close()
}

// textPart writes a text part in UTF-8, quoted-printable, so that the
// message stays 7-bit safe (PEC.md §7.1).
func textPart(mw *message.Writer, mediaType, text string) error {
	var h message.Header
	h.SetContentType(mediaType, map[string]string{"charset": "utf-8"})
	h.SetContentDisposition("inline", nil)
	h.Set("Content-Transfer-Encoding", "quoted-printable")
	pw, err := mw.CreatePart(h)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(pw, strings.ToValidUTF8(text, "\uFFFD")); err != nil {
		return err
	}
	return pw.Close()
}
