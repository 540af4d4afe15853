package lmtp

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/pecsdk/pec/provider/mailbox"
)

// Options configures a Store. Only Address is required.
type Options struct {
	// Network is "tcp" (the default) or "unix".
	Network string
	// Address is Dovecot's LMTP listener: "127.0.0.1:24" or, with Network
	// "unix", the path of its socket.
	Address string
	// LocalName is the name given in LHLO; "localhost" when empty.
	LocalName string
	// Delimiter, when set, is Dovecot's recipient_delimiter: a message for
	// a folder other than INBOX goes to local-part + Delimiter + folder.
	// When empty, only INBOX is reached and other folders return
	// ErrUnsupported.
	Delimiter string
	// Timeout bounds each delivery when the context has no earlier
	// deadline; 5 minutes when zero.
	Timeout time.Duration
}

// Store delivers into the mailboxes of a Dovecot over LMTP. It is safe for
// concurrent use.
type Store struct {
	opts Options
}

// New returns a Store delivering to the LMTP listener of opts.
func New(opts *Options) *Store {
	s := &Store{}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.Network == "" {
		s.opts.Network = "tcp"
	}
	if s.opts.LocalName == "" {
		s.opts.LocalName = "localhost"
	}
	if s.opts.Timeout == 0 {
		s.opts.Timeout = 5 * time.Minute
	}
	return s
}

// Mailbox returns user's mailbox. Nothing is checked here: Dovecot says
// whether the user exists when a message is delivered.
func (s *Store) Mailbox(ctx context.Context, user string) (mailbox.Mailbox, error) {
	if user == "" || strings.ContainsAny(user, "<> \r\n\t") {
		return nil, &mailbox.Error{Op: "open", User: user, Err: mailbox.ErrInvalidUser}
	}
	return &box{s: s, user: user}, nil
}

// box is one user's mailbox: a recipient of LMTP deliveries.
type box struct {
	s    *Store
	user string
}

// Deliver sends the message to Dovecot for folder. Flags and date are not
// carried by LMTP and are ignored; the UID returned is 0.
func (b *box) Deliver(ctx context.Context, folder string, r io.Reader, _ mailbox.Flags, _ time.Time) (uint32, error) {
	rcpt, err := b.recipient(folder)
	if err != nil {
		return 0, &mailbox.Error{Op: "deliver", User: b.user, Folder: folder, Err: err}
	}
	if err := b.s.send(ctx, rcpt, r); err != nil {
		return 0, &mailbox.Error{Op: "deliver", User: b.user, Folder: folder, Err: err}
	}
	return 0, nil
}

// recipient is the LMTP recipient that files a message in folder.
func (b *box) recipient(folder string) (string, error) {
	if strings.EqualFold(folder, mailbox.Inbox) {
		return b.user, nil
	}
	if b.s.opts.Delimiter == "" {
		return "", ErrUnsupported
	}
	if folder == "" || folder == mailbox.Archive || strings.ContainsAny(folder, "<>@ \r\n\t") {
		return "", mailbox.ErrInvalidFolder
	}
	local, domain, found := strings.Cut(b.user, "@")
	rcpt := local + b.s.opts.Delimiter + folder
	if found {
		rcpt += "@" + domain
	}
	return rcpt, nil
}

// send runs one LMTP transaction for rcpt.
func (s *Store) send(ctx context.Context, rcpt string, r io.Reader) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.opts.Timeout)
		defer cancel()
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, s.opts.Network, s.opts.Address)
	if err != nil {
		return err
	}
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	c := smtp.NewClientLMTP(conn)
	defer c.Close()
	err = transact(c, s.opts.LocalName, rcpt, r)
	if err != nil && ctx.Err() != nil {
		return errors.Join(ctx.Err(), err)
	}
	return err
}

func transact(c *smtp.Client, localName, rcpt string, r io.Reader) error {
	if err := c.Hello(localName); err != nil {
		return quota(err)
	}
	if err := c.Mail("", nil); err != nil {
		return quota(err)
	}
	if err := c.Rcpt(rcpt, nil); err != nil {
		return quota(err)
	}
	w, err := c.Data()
	if err != nil {
		return quota(err)
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Close()
		return err
	}
	if err := w.Close(); err != nil {
		return quota(err)
	}
	_ = c.Quit()
	return nil
}

// quota joins mailbox.ErrQuota to a reply whose enhanced code is X.2.2
// (RFC 3463 §3.3: mailbox full), permanent or temporary.
func quota(err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) && se.EnhancedCode[1] == 2 && se.EnhancedCode[2] == 2 {
		return errors.Join(mailbox.ErrQuota, err)
	}
	return err
}

func (b *box) Folders(context.Context) ([]string, error) { return nil, b.unsupported("folders", "") }

func (b *box) CreateFolder(_ context.Context, name string) error {
	return b.unsupported("create folder", name)
}

func (b *box) List(_ context.Context, folder string) (*mailbox.FolderData, error) {
	return nil, b.unsupported("list", folder)
}

func (b *box) Open(_ context.Context, folder string, _ uint32) (io.ReadCloser, error) {
	return nil, b.unsupported("open", folder)
}

func (b *box) SetFlags(_ context.Context, folder string, _ uint32, _ mailbox.Flags) error {
	return b.unsupported("set flags", folder)
}

func (b *box) Expunge(_ context.Context, folder string, _ []uint32) error {
	return b.unsupported("expunge", folder)
}

func (b *box) unsupported(op, folder string) error {
	return &mailbox.Error{Op: op, User: b.user, Folder: folder, Err: ErrUnsupported}
}

var _ mailbox.Store = (*Store)(nil)
