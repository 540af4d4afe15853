package pecmail

import (
	"fmt"
	"io"
	"strings"

	"github.com/pecsdk/pec/internal/mimeutil"
	"github.com/pecsdk/pec/pec"
)

// Attachment is a file attached to a message, located in the input and
// read from it when opened.
type Attachment struct {
	// Name is the file name: the Content-Disposition filename, else the
	// Content-Type name (RFC 2047 and RFC 2231 decoded); "" when none.
	Name string
	// ContentType is the media type, lower-case, without parameters.
	ContentType string
	// Path is the MIME part path inside the message the file is
	// attached to ("2", "1.3"), as IMAP numbers parts.
	Path string

	part *mimeutil.Part
}

// Open returns the content of the attachment byte for byte as it was
// attached: the transfer encoding (base64, quoted-printable) is undone and
// nothing else. A text attachment keeps its charset (an ISO-8859-1 .txt
// comes back in ISO-8859-1), whatever its charset label says, known or
// not. An unknown transfer encoding gives the bytes as carried and an
// error that go-message's IsUnknownEncoding recognises. Each call returns
// a new reader.
func (a *Attachment) Open() (io.Reader, error) { return a.part.Decoded() }

// Size returns the number of bytes Open yields, counted without keeping
// them: a base64 body is measured from its encoded text (a malformed one
// may yield less), a quoted-printable one is decoded to count it (up to
// the first error), any other is as long as it is carried.
func (a *Attachment) Size() int64 {
	n, _ := a.part.DecodedSize()
	return n
}

// Attachments lists the files attached to the original message a PEC
// message carries (postacert.eml; ErrNoOriginal when it carries none), or,
// for ordinary mail, to the mail itself, in order. Nested multiparts are
// walked; a message/rfc822 part is one attachment (a forwarded .eml),
// not walked into. What mail clients show as the message text is not an
// attachment: parts marked inline, and text parts without a disposition,
// as go-message's mail.Reader decides. The message was scanned once by
// Read: listing reads nothing.
func (m *Message) Attachments() ([]*Attachment, error) {
	root := m.part
	if m.IsPEC() {
		if m.msg.Original == nil {
			return nil, ErrNoOriginal
		}
		root = m.msg.Original.Embedded
		if root == nil {
			return nil, &pec.ParseError{Part: m.msg.Original.Path, Offset: m.msg.Original.BodyStart,
				Err: fmt.Errorf("%w: the original message could not be read", pec.ErrMalformed)}
		}
	}
	var out []*Attachment
	walkAttachments(root, func(p *mimeutil.Part) bool {
		out = append(out, &Attachment{Name: p.Filename(), ContentType: p.MediaType, Path: relPath(root.Path, p.Path), part: p})
		return true
	})
	return out, nil
}

// walkAttachments calls fn for each attachment below root, in order,
// until fn returns false.
func walkAttachments(root *mimeutil.Part, fn func(*mimeutil.Part) bool) bool {
	if len(root.Children) > 0 || strings.HasPrefix(root.MediaType, "multipart/") {
		for _, c := range root.Children {
			if !walkAttachments(c, fn) {
				return false
			}
		}
		return true
	}
	if !isAttachment(root) {
		return true
	}
	return fn(root)
}

// isAttachment applies the rule of go-message's mail.Reader: parts marked
// inline, and text parts without a disposition, are the message text;
// everything else is attached.
func isAttachment(p *mimeutil.Part) bool {
	disp := strings.ToLower(p.Disposition())
	return disp != "inline" && (disp == "attachment" || !strings.HasPrefix(p.MediaType, "text/"))
}

// relPath returns the path of a part relative to the message rooted at
// root: the parts of an original message are numbered from 1 inside it.
// A message that is not multipart has its body as part 1.
func relPath(root, path string) string {
	rel := path
	if root != "" {
		rel = strings.TrimPrefix(strings.TrimPrefix(path, root), ".")
	}
	if rel == "" {
		return "1"
	}
	return rel
}
