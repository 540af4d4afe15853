package imap

import (
	"bufio"
	"errors"
	"io"
	"strings"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-message/textproto"

	"github.com/pecsdk/pec/provider/mailbox"
)

// errGone stops the response for a message expunged meanwhile.
var errGone = errors.New("imap: message gone")

func (ss *session) Fetch(w *imapserver.FetchWriter, numSet goimap.NumSet, options *goimap.FetchOptions) error {
	v := ss.sel
	markSeen := false
	for _, bs := range options.BodySection {
		if !bs.Peek {
			markSeen = !v.readOnly
		}
	}
	for _, i := range v.resolve(numSet) {
		if err := ss.fetchOne(w, i, options, markSeen); err != nil && err != errGone {
			return err
		}
	}
	return nil
}

// whole reports whether a section is the entire message, which can be
// streamed from storage with the size known beforehand.
func whole(bs *goimap.FetchItemBodySection) bool {
	return bs.Specifier == goimap.PartSpecifierNone && len(bs.Part) == 0 && bs.Partial == nil &&
		len(bs.HeaderFields) == 0 && len(bs.HeaderFieldsNot) == 0
}

func (ss *session) fetchOne(w *imapserver.FetchWriter, i int, options *goimap.FetchOptions, markSeen bool) error {
	v := ss.sel
	m := &v.msgs[i]
	open := func() (io.ReadCloser, error) {
		r, err := ss.box.Open(ss.ctx(), v.name, m.UID)
		if errors.Is(err, mailbox.ErrNoMessage) {
			// Expunged by another session, which this one has not been
			// told yet: skipped (RFC 2180 §4.1.2).
			return nil, errGone
		}
		if err != nil {
			return nil, ss.imapError("fetch", err)
		}
		return r, nil
	}
	flagsChanged := false
	if markSeen && m.Flags&mailbox.Seen == 0 {
		err := ss.box.SetFlags(ss.ctx(), v.name, m.UID, m.Flags|mailbox.Seen)
		if errors.Is(err, mailbox.ErrNoMessage) {
			return nil // expunged meanwhile: the next poll says so
		}
		if err != nil {
			return ss.imapError("fetch", err)
		}
		m.Flags |= mailbox.Seen
		flagsChanged = true
	}
	// Read what needs the message's bytes first, so that a message gone
	// meanwhile is skipped before its response is begun.
	var env *goimap.Envelope
	if options.Envelope {
		key := envKey{user: ss.user, folder: v.name, validity: v.validity, uid: m.UID, size: m.Size}
		if env = ss.s.envelopes.get(key); env == nil {
			r, err := open()
			if err != nil {
				return err
			}
			if ss.headerBuf == nil {
				ss.headerBuf = bufio.NewReaderSize(r, 4096)
			} else {
				ss.headerBuf.Reset(r)
			}
			h, herr := textproto.ReadHeader(ss.headerBuf)
			ss.headerBuf.Reset(nil)
			r.Close()
			if herr != nil {
				h = textproto.Header{}
			}
			env = imapserver.ExtractEnvelope(h)
			ss.s.envelopes.put(key, env)
		}
	}
	var bodyStructure goimap.BodyStructure
	if options.BodyStructure != nil {
		r, err := open()
		if err != nil {
			return err
		}
		bodyStructure = imapserver.ExtractBodyStructure(r)
		r.Close()
	}
	sections := make([][]byte, len(options.BodySection))
	var streams []io.ReadCloser
	defer func() {
		for _, r := range streams {
			if r != nil {
				r.Close()
			}
		}
	}()
	streams = make([]io.ReadCloser, len(options.BodySection))
	for k, bs := range options.BodySection {
		r, err := open()
		if err != nil {
			return err
		}
		if whole(bs) {
			streams[k] = r
			continue
		}
		sections[k] = imapserver.ExtractBodySection(r, bs)
		r.Close()
	}
	binary := make([][]byte, len(options.BinarySection))
	for k, bs := range options.BinarySection {
		r, err := open()
		if err != nil {
			return err
		}
		binary[k] = imapserver.ExtractBinarySection(r, bs)
		r.Close()
	}
	binarySizes := make([]uint32, len(options.BinarySectionSize))
	for k, bs := range options.BinarySectionSize {
		r, err := open()
		if err != nil {
			return err
		}
		binarySizes[k] = imapserver.ExtractBinarySectionSize(r, bs)
		r.Close()
	}

	rw := w.CreateMessage(uint32(i + 1))
	rw.WriteUID(goimap.UID(m.UID))
	if options.Flags || flagsChanged {
		rw.WriteFlags(fromFlags(m.Flags))
	}
	if options.InternalDate {
		rw.WriteInternalDate(m.InternalDate)
	}
	if options.RFC822Size {
		rw.WriteRFC822Size(m.Size)
	}
	if env != nil {
		rw.WriteEnvelope(env)
	}
	if bodyStructure != nil {
		rw.WriteBodyStructure(bodyStructure)
	}
	for k, bs := range options.BodySection {
		if streams[k] != nil {
			if err := ss.stream(rw.WriteBodySection(bs, m.Size), streams[k], m); err != nil {
				return err
			}
			continue
		}
		if err := writeAll(rw.WriteBodySection(bs, int64(len(sections[k]))), sections[k]); err != nil {
			return err
		}
	}
	for k, bs := range options.BinarySection {
		if err := writeAll(rw.WriteBinarySection(bs, int64(len(binary[k]))), binary[k]); err != nil {
			return err
		}
	}
	for k, bs := range options.BinarySectionSize {
		rw.WriteBinarySectionSize(bs, binarySizes[k])
	}
	return rw.Close()
}

func writeAll(wc io.WriteCloser, b []byte) error {
	_, err := wc.Write(b)
	if cerr := wc.Close(); err == nil {
		err = cerr
	}
	return err
}

// stream copies the whole message into a literal of m.Size bytes. Should
// the stored file not hold exactly that (a damaged store), the literal is
// cut or padded with spaces so that the session stays in step, and the
// damage is logged.
func (ss *session) stream(wc io.WriteCloser, r io.Reader, m *mailbox.Message) error {
	if ss.copyBuf == nil {
		ss.copyBuf = make([]byte, 32<<10)
	}
	n, err := io.CopyBuffer(wc, io.LimitReader(r, m.Size), ss.copyBuf)
	if err == nil && n < m.Size {
		ss.s.opts.Logger.Error("imap: message shorter than its recorded size", append(ss.log, "folder", ss.sel.name, "uid", m.UID, "size", m.Size, "read", n)...)
		_, err = io.Copy(wc, io.LimitReader(spaces{}, m.Size-n))
	}
	if cerr := wc.Close(); err == nil {
		err = cerr
	}
	return err
}

type spaces struct{}

var spaceBlock = []byte(strings.Repeat(" ", 512))

func (spaces) Read(p []byte) (int, error) {
	n := copy(p, spaceBlock)
	return n, nil
}
