package main

import (
	"io"

	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"

	"github.com/pecsdk/pec/pecmail"
)

// attachment is one attachment of a message, its body with only the
// transfer encoding undone: the bytes of the file as it was attached.
type attachment struct {
	Name string
	Type string
	Body io.Reader
}

// walkAttachments calls fn for every attachment of the message read from
// r, in order, as pecmail lists them: byte for byte, no charset
// converted, an unknown charset label no obstacle. A message that is
// itself a PEC message gives the attachments of the original it carries.
func walkAttachments(r io.Reader, fn func(*attachment) error) (*mail.Header, error) {
	m, err := pecmail.Read(r, nil)
	if err != nil {
		return nil, err
	}
	h := m.Header()
	if m.IsPEC() && !m.HasOriginal() {
		return h, nil
	}
	as, err := m.Attachments()
	if err != nil {
		return h, err
	}
	return h, eachAttachment(as, fn)
}

// eachAttachment opens each attachment and calls fn with it. An unknown
// transfer encoding gives the bytes as carried, as go-message does.
func eachAttachment(as []*pecmail.Attachment, fn func(*attachment) error) error {
	for _, a := range as {
		body, err := a.Open()
		if err != nil && !gomessage.IsUnknownEncoding(err) {
			return err
		}
		if err := fn(&attachment{Name: a.Name, Type: a.ContentType, Body: body}); err != nil {
			return err
		}
	}
	return nil
}
