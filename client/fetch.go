package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/smime"
)

// Protocol is a mailbox access protocol.
type Protocol string

// Access protocols (PEC.md §15.1).
const (
	IMAP Protocol = "imap" // RFC 9051 / RFC 3501
	POP3 Protocol = "pop3" // RFC 1939
)

// FetchOptions say where the mailbox is, how to log in, where to put what
// is fetched and how to judge it. Server, Username and Dir are required.
type FetchOptions struct {
	Protocol  Protocol    // IMAP or POP3; empty: IMAP
	Server    Endpoint    // the provider's IMAP or POP3 server
	TLSConfig *tls.Config // nil: system roots, server name from Server.Host
	Username  string
	Password  string
	Auth      AuthMethod // empty: the best the server offers
	// Mailbox is the IMAP mailbox to fetch; empty: INBOX. POP3 has only
	// the one.
	Mailbox string
	// Dir is the local folder: one .eml per message, named by the SHA-256
	// of its bytes, and the fetch state (.pec-fetch.json).
	Dir string
	// Verify says how to judge the signatures of what arrives: the
	// provider index as Authority (package pec/index), trust anchors as
	// Roots. With a Tracker it must have an Authority and verify live
	// (CurrentTime zero, AsOfSigningTime false), else Fetch refuses
	// (ErrNoTrust): an intact signature, or one chained to the anchors,
	// does not show that a PEC provider signed a receipt.
	Verify *smime.VerifyOptions
	// Tracker, when set, is fed every fetched message (Tracker.Observe).
	Tracker *Tracker
	// Progress, when set, is called after each message with the count
	// done and the count to do in this pass.
	Progress func(Progress)
	// Timeout is the inactivity limit of one network exchange; zero: two
	// minutes. A context deadline, when earlier, wins.
	Timeout time.Duration
	// PollInterval is how often Watch looks for new mail when the server
	// cannot notify (POP3, IMAP without IDLE); zero: one minute. With
	// IDLE it is the longest wait before a check anyway.
	PollInterval time.Duration
	// Logger receives what the fetch does; nil is silent.
	Logger *slog.Logger
	// DebugWriter receives the wire trace, credentials included.
	DebugWriter io.Writer
}

// Progress is the state of a fetch pass.
type Progress struct {
	Done, Total int   // messages handled and to handle in this pass
	Bytes       int64 // bytes fetched so far in this pass
}

// Fetched is one message fetched in a pass.
type Fetched struct {
	Path string // the .eml in the folder
	UID  string // the server's id: "uidvalidity/uid" (IMAP) or the UIDL (POP3)
	Size int64
	// New is false when the folder already held these bytes: a fetch
	// interrupted after the file was written and before the state was,
	// repeated. The message is not counted twice.
	New bool
	// Message is the message classified, parsed and verified (Classify).
	// Its Kind says what it claims to be; rely on it as a PEC message only
	// when Envelope.OK or Receipt.OK says so.
	Message *Message
	Update  *Update // what the tracker made of it; nil without a Tracker
	// Err is what prevents using the message as a PEC message or as
	// evidence: pec.ErrNotPEC for ordinary mail, ErrUnknownMessage for a
	// receipt of a message the tracker does not follow, ErrMismatch or
	// ErrUnknownRecipient for one whose certification data does not match
	// the message it names, ErrNotEvidence for one not signed by a provider
	// of the index... The message is in the folder all the same.
	Err error
}

// FetchResult is what one pass fetched.
type FetchResult struct {
	Messages []*Fetched // in server order
	New      int        // messages that were not in the folder before
	Bytes    int64      // bytes fetched
}

// Fetch fetches, in one pass, the messages of the mailbox not fetched
// before into the folder opts.Dir, classifies and verifies each (Classify)
// and feeds it to opts.Tracker. A message counts as fetched only once its
// file is on disk (written under a temporary name, synced, renamed, the
// folder synced); only then does the fetch state record its UID. An
// interrupted fetch (network failure, cancelled context) returns the
// messages completed so far with the error; the next Fetch resumes after
// them, and never stores the same message twice.
func Fetch(ctx context.Context, opts *FetchOptions) (*FetchResult, error) {
	f, err := newFetcher(opts)
	if err != nil {
		return nil, err
	}
	defer f.close()
	switch f.opts.Protocol {
	case IMAP:
		s, err := f.dialIMAP(ctx)
		if err != nil {
			return &FetchResult{}, err
		}
		defer s.logout()
		return s.pass(ctx)
	default:
		return f.fetchPOP3(ctx)
	}
}

// Watch fetches as Fetch does, then waits for new mail and fetches it, until
// ctx ends; each pass that fetched something is handed to each (an error
// from each stops Watch). IMAP servers that offer IDLE (RFC 2177) notify
// new mail; otherwise the mailbox is polled every PollInterval. A broken
// connection is reopened. Watch returns ctx's error, each's, or a login
// failure (ErrAuth), which retrying would not cure.
func Watch(ctx context.Context, opts *FetchOptions, each func(*FetchResult) error) error {
	f, err := newFetcher(opts)
	if err != nil {
		return err
	}
	defer f.close()
	for {
		err := f.watchOnce(ctx, each)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, errStop) {
			return errors.Unwrap(err)
		}
		if errors.Is(err, ErrAuth) {
			return err
		}
		var cve *tls.CertificateVerificationError
		if errors.As(err, &cve) {
			return err
		}
		f.log.Warn("fetch: connection lost, retrying", "err", err, "after", f.opts.PollInterval)
		if err := sleep(ctx, f.opts.PollInterval); err != nil {
			return err
		}
	}
}

var errStop = errors.New("stopped by the callback")

func (f *fetcher) watchOnce(ctx context.Context, each func(*FetchResult) error) error {
	deliver := func(r *FetchResult) error {
		if len(r.Messages) == 0 {
			return nil
		}
		if err := each(r); err != nil {
			return fmt.Errorf("%w%w", errStop, err)
		}
		return nil
	}
	if f.opts.Protocol != IMAP {
		for {
			r, err := f.fetchPOP3(ctx)
			if r != nil {
				if err := deliver(r); err != nil {
					return err
				}
			}
			if err != nil {
				return err
			}
			if err := sleep(ctx, f.opts.PollInterval); err != nil {
				return err
			}
		}
	}
	s, err := f.dialIMAP(ctx)
	if err != nil {
		return err
	}
	defer s.logout()
	for {
		r, err := s.pass(ctx)
		if r != nil {
			if err := deliver(r); err != nil {
				return err
			}
		}
		if err != nil {
			return err
		}
		if err := s.wait(ctx, f.opts.PollInterval); err != nil {
			return err
		}
	}
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// fetcher is the state shared by the passes of one Fetch or Watch.
type fetcher struct {
	opts  FetchOptions
	log   *slog.Logger
	store *folder
}

func newFetcher(opts *FetchOptions) (*fetcher, error) {
	if opts == nil {
		return nil, errors.New("client: fetch: no options")
	}
	o := *opts
	if o.Protocol == "" {
		o.Protocol = IMAP
	}
	if o.Protocol != IMAP && o.Protocol != POP3 {
		return nil, fmt.Errorf("client: fetch: unknown protocol %q", o.Protocol)
	}
	if o.Server.IsZero() || o.Server.Port == 0 {
		return nil, errors.New("client: fetch: no server")
	}
	if err := o.Server.Security.check(); err != nil {
		return nil, fmt.Errorf("client: fetch: %s: %w", o.Server.Addr(), err)
	}
	if o.Server.Security == "" {
		o.Server.Security = SecurityTLS
	}
	if o.Username == "" {
		return nil, errors.New("client: fetch: no user name")
	}
	if o.Dir == "" {
		return nil, errors.New("client: fetch: no folder")
	}
	// A receipt counts as evidence only when its signer is established as
	// a PEC provider, live: with a tracker and no means to, every receipt
	// would be refused (and its UID already recorded), so refuse the fetch
	// instead.
	if o.Tracker != nil && !o.Tracker.opts.AllowUnverified {
		switch v := o.Verify; {
		case v == nil || v.Authority == nil:
			return nil, fmt.Errorf("client: fetch: %w: a Tracker needs Verify.Authority (the provider index) to judge receipts; trust anchors alone do not establish a PEC provider", ErrNoTrust)
		case v.AsOfSigningTime || !v.CurrentTime.IsZero():
			return nil, fmt.Errorf("client: fetch: %w: a Tracker needs receipts verified live (Verify.CurrentTime zero, AsOfSigningTime false)", ErrNoTrust)
		}
	}
	if o.Mailbox == "" {
		o.Mailbox = "INBOX"
	}
	if o.Timeout <= 0 {
		o.Timeout = defaultTimeout
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Minute
	}
	o.TLSConfig = tlsConfigFor(o.TLSConfig, o.Server.Addr())
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	st, err := openFolder(o.Dir)
	if err != nil {
		return nil, err
	}
	return &fetcher{opts: o, log: log, store: st}, nil
}

func (f *fetcher) close() { f.store.close() }

// account is the key of this mailbox in the fetch state. The port is not
// part of it: implicit TLS and STARTTLS ports reach the same mailbox.
func (f *fetcher) account() string {
	k := string(f.opts.Protocol) + "://" + f.opts.Username + "@" + strings.ToLower(f.opts.Server.Host)
	if f.opts.Protocol == IMAP {
		k += "/" + f.opts.Mailbox
	}
	return k
}

// put stores one message read from r in the folder. An error means the
// message is not stored, and the pass must stop: nothing after it may be
// recorded as fetched.
func (f *fetcher) put(r io.Reader, uid string) (*Fetched, error) {
	path, size, isNew, err := f.store.put(r)
	if err != nil {
		return nil, err
	}
	return &Fetched{Path: path, UID: uid, Size: size, New: isNew}, nil
}

// finish classifies a stored message and feeds it to the tracker. The
// error is for a message that cannot be read back or a closed tracker; what
// is wrong with the message itself goes in fm.Err.
func (f *fetcher) finish(fm *Fetched) error {
	m, err := f.store.classify(fm.Path, f.opts.Verify)
	if err != nil {
		return fmt.Errorf("client: %s: %w", fm.Path, err)
	}
	fm.Message = m
	if m.Kind == pec.KindUnknown {
		fm.Err = fmt.Errorf("%s: %w", fm.Path, pec.ErrNotPEC)
		if len(m.Problems) > 0 {
			fm.Err = fmt.Errorf("%s: %w: %w", fm.Path, pec.ErrNotPEC, errors.Join(m.Problems...))
		}
	}
	if f.opts.Tracker != nil {
		u, err := f.opts.Tracker.Observe(m)
		fm.Update = u
		if err != nil {
			if errors.Is(err, ErrClosed) {
				return err
			}
			fm.Err = fmt.Errorf("%s: %w", fm.Path, err)
		}
	}
	f.log.Debug("fetched", "path", fm.Path, "uid", fm.UID, "kind", m.Kind, "new", fm.New, "err", fm.Err)
	return nil
}

// progress reports a step of a pass.
func (f *fetcher) progress(res *FetchResult, total int) {
	if f.opts.Progress != nil {
		f.opts.Progress(Progress{Done: len(res.Messages), Total: total, Bytes: res.Bytes})
	}
}

// add records fm in res.
func (res *FetchResult) add(fm *Fetched) {
	res.Messages = append(res.Messages, fm)
	res.Bytes += fm.Size
	if fm.New {
		res.New++
	}
}

// fetchPOP3 runs one POP3 pass: UIDL, then RETR of every message whose
// UIDL the state does not hold. The messages stay on the server.
func (f *fetcher) fetchPOP3(ctx context.Context) (res *FetchResult, err error) {
	res = &FetchResult{}
	c, err := dialPOP3(ctx, f.opts.Server.Addr(), f.opts.Server.Security, f.opts.TLSConfig, f.opts.Timeout, f.opts.DebugWriter)
	if err != nil {
		return res, err
	}
	defer func() {
		if err == nil {
			err = c.quit(ctx)
		} else {
			c.close()
		}
	}()
	if err := c.auth(ctx, f.opts.Auth, f.opts.Username, f.opts.Password); err != nil {
		return res, err
	}
	list, err := c.uidl(ctx)
	if err != nil {
		return res, err
	}
	acct := f.store.state.account(f.account())
	seen := map[string]bool{}
	for _, u := range acct.UIDL {
		seen[u] = true
	}
	// Forget the UIDs no longer on the server, so the state stays as
	// small as the mailbox.
	onServer := map[string]bool{}
	var todo []pop3Msg
	for _, m := range list {
		onServer[m.UID] = true
		if !seen[m.UID] {
			todo = append(todo, m)
		}
	}
	kept := acct.UIDL[:0]
	for _, u := range acct.UIDL {
		if onServer[u] {
			kept = append(kept, u)
		}
	}
	acct.UIDL = kept
	f.log.Info("pop3: messages", "total", len(list), "new", len(todo))
	defer func() {
		if serr := f.store.saveState(); serr != nil && err == nil {
			err = serr
		}
	}()
	for _, m := range todo {
		var fm *Fetched
		err := c.retr(ctx, m.Num, func(r io.Reader) error {
			var err error
			fm, err = f.put(r, m.UID)
			return err
		})
		if err != nil {
			return res, fmt.Errorf("client: pop3: message %d (%s): %w", m.Num, m.UID, err)
		}
		if err := f.finish(fm); err != nil {
			return res, err
		}
		res.add(fm)
		acct.UIDL = append(acct.UIDL, m.UID)
		if err := f.store.record(fetchRecord{Account: f.account(), UIDL: m.UID}); err != nil {
			return res, err
		}
		f.progress(res, len(todo))
	}
	return res, nil
}
