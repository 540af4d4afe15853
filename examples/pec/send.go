package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/index"
)

// passwordEnv names the environment variable holding the mailbox password
// when --password-file is not given.
const passwordEnv = "PEC_PASSWORD"

// list is a repeatable flag; commas also separate values.
type list []string

func (l *list) String() string { return strings.Join(*l, ",") }
func (l *list) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

// serverFlags are the flags that say where a provider's server is and how
// to log in, shared by send and fetch.
type serverFlags struct {
	preset, server, user, passwordFile, tlsCA, auth string
	starttls                                        bool
}

func (s *serverFlags) register(fs *flag.FlagSet, what string) {
	fs.StringVar(&s.preset, "preset", "", "provider preset ("+presetNames()+"); default: the one of --user's domain")
	fs.StringVar(&s.server, "server", "", what+" server host:port, instead of the preset's")
	fs.BoolVar(&s.starttls, "starttls", false, "with --server: cleartext, then STARTTLS/STLS (ports 587, 143, 110); default implicit TLS")
	fs.StringVar(&s.user, "user", "", "login, normally the mailbox address")
	fs.StringVar(&s.passwordFile, "password-file", "", "file holding the password; default: $"+passwordEnv)
	fs.StringVar(&s.tlsCA, "tls-ca", "", "PEM file of the roots that the server's TLS certificate must chain to; default: the system's")
	fs.StringVar(&s.auth, "auth", "", "plain, login (SMTP) or password (IMAP LOGIN, POP3 USER/PASS); default: the best offered")
}

func presetNames() string {
	var n []string
	for _, p := range client.Presets() {
		n = append(n, p.Name)
	}
	return strings.Join(n, ", ")
}

// resolve returns the endpoint (pick chooses it from a preset), the TLS
// configuration, the password and the authentication method. idx, when
// not nil, finds the preset of a custom domain its provider hosts.
func (s *serverFlags) resolve(pick func(client.Preset) client.Endpoint, idx index.Index) (client.Endpoint, *tls.Config, string, client.AuthMethod, error) {
	var ep client.Endpoint
	switch {
	case s.server != "":
		host, port, err := net.SplitHostPort(s.server)
		if err != nil {
			return ep, nil, "", "", fmt.Errorf("--server %q: %w", s.server, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil {
			return ep, nil, "", "", fmt.Errorf("--server %q: bad port", s.server)
		}
		ep = client.Endpoint{Host: host, Port: p, Security: client.SecurityTLS}
		if s.starttls {
			ep.Security = client.SecurityStartTLS
		}
	default:
		var p client.Preset
		var ok bool
		if s.preset != "" {
			p, ok = client.LookupPreset(s.preset)
		} else if s.user != "" {
			p, ok = client.PresetFor(s.user, idx)
		}
		if !ok {
			return ep, nil, "", "", errors.New("no server: give --server, or a --preset (" + presetNames() + ")")
		}
		if ep = pick(p); ep.IsZero() {
			return ep, nil, "", "", fmt.Errorf("preset %s has no such server: give --server", p.Name)
		}
	}
	if s.user == "" {
		return ep, nil, "", "", errors.New("no --user")
	}
	conf := &tls.Config{}
	if s.tlsCA != "" {
		pool, err := loadPool(s.tlsCA)
		if err != nil {
			return ep, nil, "", "", fmt.Errorf("--tls-ca: %w", err)
		}
		conf.RootCAs = pool
	}
	pass := os.Getenv(passwordEnv)
	if s.passwordFile != "" {
		b, err := os.ReadFile(s.passwordFile)
		if err != nil {
			return ep, nil, "", "", fmt.Errorf("--password-file: %w", err)
		}
		pass = strings.TrimRight(string(b), "\r\n")
	}
	var auth client.AuthMethod
	switch strings.ToLower(s.auth) {
	case "":
	case "plain":
		auth = client.AuthPlain
	case "login":
		auth = client.AuthLogin
	case "password":
		auth = client.AuthPassword
	default:
		return ep, nil, "", "", fmt.Errorf("--auth %q: want plain, login or password", s.auth)
	}
	return ep, conf, pass, auth, nil
}

// attachFile reads a file to attach, with the media type of its
// extension. A text file is declared UTF-8 when it is, else in charset,
// which must then be given: its bytes are sent as they are.
func attachFile(path, charset string) (client.Attachment, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return client.Attachment{}, err
	}
	ct := mime.TypeByExtension(filepath.Ext(path))
	if mt, params, err := mime.ParseMediaType(ct); err == nil && strings.HasPrefix(mt, "text/") {
		switch {
		case utf8.Valid(b):
			params["charset"] = "utf-8"
		case charset != "":
			params["charset"] = charset
		default:
			return client.Attachment{}, fmt.Errorf("--attach %s: text not in UTF-8: give its --charset (iso-8859-1, windows-1252, ...)", path)
		}
		if ct = mime.FormatMediaType(mt, params); ct == "" {
			return client.Attachment{}, fmt.Errorf("--attach %s: --charset %q cannot be written in a content type", path, charset)
		}
	}
	return client.Attachment{Name: filepath.Base(path), ContentType: ct, Content: bytes.NewReader(b)}, nil
}

// interruptible returns a context ended by Ctrl-C.
func interruptible() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt)
}

// cmdSend submits a PEC message and registers it in the tracker store.
func cmdSend(args []string, stdout io.Writer) error {
	fs := newFlagSet("send")
	var sf serverFlags
	sf.register(fs, "submission")
	var to, cc, attach list
	from := fs.String("from", "", "sender: the mailbox logged in as (default --user), optionally \"Name <address>\"")
	fs.Var(&to, "to", "recipient (repeat, or separate with commas)")
	fs.Var(&cc, "cc", "copy recipient (repeat, or separate with commas)")
	subject := fs.String("subject", "", "subject")
	text := fs.String("text", "", "body text")
	textFile := fs.String("text-file", "", "file holding the body text (UTF-8)")
	fs.Var(&attach, "attach", "file to attach (repeat)")
	charset := fs.String("charset", "", "charset of the text files attached that are not UTF-8 (iso-8859-1, windows-1252, ...); sent as they are, never converted")
	rt := fs.String("receipt", "", "delivery receipt type: completa (default), breve or sintetica")
	msgID := fs.String("message-id", "", "Message-ID to use, with or without <> (printed without); the same one twice is refused (idempotent send)")
	store := fs.String("store", defaultStore(), "tracker store (folder or journal file), shared with fetch and status")
	maxTotal := fs.Int64("max-total", 0, "provider size limit, bytes × recipients (default 30 MiB)")
	timeout := fs.Duration("timeout", 2*time.Minute, "limit of each network exchange")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("send: unexpected arguments %q", pos)
	}
	ep, conf, pass, auth, err := sf.resolve(func(p client.Preset) client.Endpoint { return p.SMTP }, nil)
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	body := *text
	if *textFile != "" {
		b, err := os.ReadFile(*textFile)
		if err != nil {
			return fmt.Errorf("send: %w", err)
		}
		body = string(b)
	}
	d := &client.Draft{
		From: *from, To: to, Cc: cc, Subject: *subject, Text: body,
		ReceiptType: pec.ReceiptType(*rt), MessageID: pec.NormalizeMsgID(*msgID),
	}
	if d.From == "" {
		d.From = sf.user
	}
	for _, path := range attach {
		a, err := attachFile(path, *charset)
		if err != nil {
			return fmt.Errorf("send: %w", err)
		}
		d.Attachments = append(d.Attachments, a)
	}
	tr, err := client.OpenTracker(*store, nil)
	if err != nil {
		return fmt.Errorf("send: tracker store: %w", err)
	}
	defer tr.Close()
	ctx, cancel := interruptible()
	defer cancel()
	sub, err := client.Send(ctx, d, &client.SubmitOptions{
		Server: ep, TLSConfig: conf, Username: sf.user, Password: pass, Auth: auth,
		MaxTotal: *maxTotal, Tracker: tr, Timeout: *timeout,
	})
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	fmt.Fprintf(stdout, "sent %s to %d recipients (%d bytes) via %s\n", sub.MessageID, len(sub.Recipients), sub.Size, ep.Addr())
	return nil
}
