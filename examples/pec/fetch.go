package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/index"
)

// cmdFetch fetches the new messages of a mailbox into a local folder,
// verifies each and feeds the tracker store; it exits 1 when a PEC message
// does not verify.
func cmdFetch(args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlagSet("fetch")
	var sf serverFlags
	sf.register(fs, "IMAP or POP3")
	pop3 := fs.Bool("pop3", false, "use POP3 instead of IMAP")
	mailbox := fs.String("mailbox", "INBOX", "IMAP mailbox")
	dir := fs.String("o", "", "local folder (required): one .eml per message and the fetch state")
	trust := addTrustFlags(fs, "PEM file of trust anchors for the PEC signatures; with it, a PEC message must also be trusted")
	store := fs.String("store", defaultStore(), "tracker store (folder or journal file), shared with send and status")
	watch := fs.Bool("watch", false, "keep fetching new mail (IMAP IDLE, else polling) until interrupted")
	poll := fs.Duration("poll", time.Minute, "with --watch: how often to look when the server cannot notify")
	progress := fs.String("progress", "auto", progressUsage)
	timeout := fs.Duration("timeout", 2*time.Minute, "limit of each network exchange")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return 2, err
	}
	if len(pos) > 0 {
		return 2, fmt.Errorf("fetch: unexpected argument %q", pos[0])
	}
	if *dir == "" {
		return 2, errors.New("fetch: no -o folder")
	}
	proto := client.IMAP
	if *pop3 {
		proto = client.POP3
	}
	verify, err := trust.options()
	if err != nil {
		return 2, fmt.Errorf("fetch: %w", err)
	}
	// The index, when given, also finds the preset of a custom domain.
	var idx index.Index
	if verify != nil {
		idx, _ = verify.Authority.(index.Index)
	}
	ep, conf, pass, auth, err := sf.resolve(func(p client.Preset) client.Endpoint {
		if proto == client.POP3 {
			return p.POP3
		}
		return p.IMAP
	}, idx)
	if err != nil {
		return 2, fmt.Errorf("fetch: %w", err)
	}
	anchors := verify != nil
	tr, err := client.OpenTracker(*store, nil)
	if err != nil {
		return 2, fmt.Errorf("fetch: tracker store: %w", err)
	}
	defer tr.Close()
	pl, err := newProgressLine(stderr, *progress)
	if err != nil {
		return 2, fmt.Errorf("fetch: %w", err)
	}
	opts := &client.FetchOptions{
		Protocol: proto, Server: ep, TLSConfig: conf, Username: sf.user, Password: pass, Auth: auth,
		Mailbox: *mailbox, Dir: *dir, Verify: verify, Tracker: tr,
		Progress: pl.update, Timeout: *timeout, PollInterval: *poll,
	}
	ctx, cancel := interruptible()
	defer cancel()
	var sum summary
	report := func(res *client.FetchResult) {
		pl.done()
		for _, fm := range res.Messages {
			sum.add(stdout, fm, anchors)
		}
	}
	if *watch {
		err = client.Watch(ctx, opts, func(res *client.FetchResult) error {
			report(res)
			return nil
		})
		if ctx.Err() != nil {
			err = nil // interrupted: the normal end of --watch
		}
	} else {
		var res *client.FetchResult
		res, err = client.Fetch(ctx, opts)
		if res != nil {
			report(res)
		}
	}
	pl.done()
	fmt.Fprintf(stdout, "%d fetched (%d new) into %s: %d PEC verified, %d PEC failing, %d not PEC, %d receipts of unknown messages\n",
		sum.total, sum.fresh, *dir, sum.ok, sum.bad, sum.notPEC, sum.unknown)
	if err != nil {
		return 2, fmt.Errorf("fetch: %w", err)
	}
	if sum.bad > 0 {
		return 1, nil
	}
	return 0, nil
}

// summary counts what a fetch brought.
type summary struct {
	total, fresh, ok, bad, notPEC, unknown int
}

// add prints one line for fm and counts it.
func (s *summary) add(w io.Writer, fm *client.Fetched, anchors bool) {
	s.total++
	if fm.New {
		s.fresh++
	}
	m := fm.Message
	verdict := "not PEC"
	var notes []string
	switch {
	case m.Kind == pec.KindUnknown:
		s.notPEC++
		for _, p := range m.Problems {
			notes = append(notes, p.Error())
		}
	case m.Signature == nil:
		s.bad++
		verdict = "FAIL not signed"
	case !m.Signature.Intact:
		s.bad++
		verdict = "FAIL not intact"
	case !anchors:
		s.ok++
		verdict = "INTACT, trust not checked"
	case !m.Signature.OK():
		s.bad++
		verdict = "FAIL " + m.Signature.Summary()
	default:
		s.ok++
		verdict = "OK intact, trusted"
	}
	if fm.Update != nil {
		for _, c := range fm.Update.Changes {
			notes = append(notes, fmt.Sprintf("%s: %s → %s", c.Recipient, c.From, c.To))
		}
		if fm.Update.Duplicate {
			notes = append(notes, "already seen")
		}
	}
	if errors.Is(fm.Err, client.ErrUnknownMessage) {
		s.unknown++
		notes = append(notes, "receipt of a message not sent from here")
	} else if fm.Err != nil && m.Kind != pec.KindUnknown {
		notes = append(notes, fm.Err.Error())
	}
	line := fmt.Sprintf("%s  %-22s %s", filepath.Base(fm.Path), m.Kind, verdict)
	if len(notes) > 0 {
		line += "  (" + strings.Join(notes, "; ") + ")"
	}
	fmt.Fprintln(w, line)
}

// update shows the progress of a fetch.
func (p *progressLine) update(pr client.Progress) {
	p.show(pr.Done, pr.Total, "fetching %d/%d (%.1f MB)", pr.Done, pr.Total, float64(pr.Bytes)/1e6)
}
