package pecmsg

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"strings"

	"github.com/pecsdk/pec/internal/mimeutil"
	"github.com/pecsdk/pec/pec"
)

// WriteBrief writes the original message held in src[0:size] with every
// attachment replaced by a text part holding its hash, for a delivery
// receipt of type breve (PEC.md §6.7). The MIME structure and every byte
// outside the replaced parts are kept. The hash is SHA-1 over the part's
// content as transmitted (its transfer-encoded body), in hexadecimal
// (PEC.md §17 item 10).
func WriteBrief(w io.Writer, src io.ReaderAt, size int64) error {
	root, err := mimeutil.Scan(src, size, nil)
	if err != nil {
		return &pec.ParseError{Offset: mimeutil.Offset(err), Err: fmt.Errorf("original message: %w", scanError(err))}
	}
	switch root.MediaType {
	case "application/pkcs7-mime", "application/x-pkcs7-mime":
		// Opaque signed or encrypted: nothing can be replaced (§6.7 rule 4).
		_, err := io.Copy(w, root.Raw())
		return err
	}
	return writeBriefPart(w, root, true)
}

func copyRange(w io.Writer, src io.ReaderAt, from, to int64) error {
	if to <= from {
		return nil
	}
	_, err := io.Copy(w, io.NewSectionReader(src, from, to-from))
	return err
}

func writeBriefPart(w io.Writer, p *mimeutil.Part, top bool) error {
	if !top && isAttachment(p) {
		return writeHashPart(w, p)
	}
	if len(p.Children) == 0 {
		return copyRange(w, p.Src, p.Start, p.End)
	}
	pos := p.Start
	for i, c := range p.Children {
		if err := copyRange(w, p.Src, pos, c.Start); err != nil {
			return err
		}
		if p.MediaType == "multipart/signed" && i > 0 {
			// The sender's signature stays as it is (§6.7 rule 3).
			if err := copyRange(w, p.Src, c.Start, c.End); err != nil {
				return err
			}
		} else if err := writeBriefPart(w, c, false); err != nil {
			return err
		}
		pos = c.End
	}
	return copyRange(w, p.Src, pos, p.End)
}

func isAttachment(p *mimeutil.Part) bool {
	if strings.HasPrefix(p.MediaType, "multipart/") {
		return false
	}
	// Every embedded message is replaced, named or not (message/rfc822,
	// message/global, …): what it holds is the sender's, and a ".hash"
	// part inside it must never read as the provider's.
	return strings.HasPrefix(p.MediaType, "message/") || p.Filename() != "" || param(p, "name") != ""
}

func writeHashPart(w io.Writer, p *mimeutil.Part) error {
	h := sha1.New()
	if _, err := io.Copy(h, p.RawBody()); err != nil {
		return err
	}
	name := p.Filename()
	if name == "" {
		name = "allegato"
	}
	name += pec.HashSuffix
	ct := mime.FormatMediaType("text/plain", map[string]string{"charset": "us-ascii", "name": name})
	cd := mime.FormatMediaType("attachment", map[string]string{"filename": name})
	_, err := fmt.Fprintf(w, "Content-Type: %s\r\nContent-Disposition: %s\r\nContent-Transfer-Encoding: 7bit\r\n\r\n%s",
		ct, cd, hex.EncodeToString(h.Sum(nil)))
	return err
}
