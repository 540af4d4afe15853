package main

import (
	"bufio"
	"errors"
	"io"
	"strings"

	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
)

// attachment is one attachment of a message, its body with only the
// transfer encoding undone: the bytes of the file as it was attached.
type attachment struct {
	Name string
	Type string
	Body io.Reader
}

// maxPartDepth bounds the nesting walkAttachments follows.
const maxPartDepth = 32

// walkAttachments calls fn for every attachment of the message read from
// r, in order, recursing into nested multiparts. Unlike go-message's
// mail.Reader it converts no charset: an attachment must be written byte
// for byte, and an unknown charset label must not stop the walk.
func walkAttachments(r io.Reader, fn func(*attachment) error) (*mail.Header, error) {
	br := bufio.NewReader(r)
	h, err := textproto.ReadHeader(br)
	if err != nil {
		return nil, err
	}
	mh := &mail.Header{Header: gomessage.Header{Header: h}}
	return mh, walkEntity(h, br, 0, fn)
}

func walkEntity(h textproto.Header, body io.Reader, depth int, fn func(*attachment) error) error {
	mh := gomessage.Header{Header: h}
	t, params, _ := mh.ContentType()
	if strings.HasPrefix(t, "multipart/") {
		if depth >= maxPartDepth {
			return errors.New("MIME nesting too deep")
		}
		mr := textproto.NewMultipartReader(body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if err := walkEntity(p.Header, p, depth+1, fn); err != nil {
				return err
			}
		}
	}
	disp, _, _ := mh.ContentDisposition()
	// The rule of mail.Reader: inline parts, and text parts without a
	// disposition, are the message text; everything else is attached.
	if disp == "inline" || (disp != "attachment" && strings.HasPrefix(t, "text/")) {
		return nil
	}
	ah := mail.AttachmentHeader{Header: mh}
	name, _ := ah.Filename()
	// message.New undoes the transfer encoding; without a Content-Type it
	// converts no charset.
	plain := mh.Copy()
	plain.Del("Content-Type")
	e, err := gomessage.New(plain, body)
	if err != nil && !gomessage.IsUnknownEncoding(err) {
		return err
	}
	return fn(&attachment{Name: name, Type: t, Body: e.Body})
}
