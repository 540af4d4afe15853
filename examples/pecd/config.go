package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pecsdk/pec/pec/index"
	"github.com/pecsdk/pec/provider"
	"github.com/pecsdk/pec/trace"
)

// Config is a provider deployment, as read from a configuration file
// (see pecd.conf.example for every key and its meaning).
type Config struct {
	Provider   ProviderConfig
	Listen     ListenConfig
	TLS        TLSConfig
	Index      IndexConfig
	Storage    StorageConfig
	Limits     LimitsConfig
	TimeLimits TimeLimitsConfig
	Accounts   AccountsConfig
	// Routes maps a domain to the host:port of its incoming point
	// ([routes]); a domain not listed is reached through its MX records.
	Routes map[string]string
	Log    LogConfig
}

// ProviderConfig is the [provider] section: who the provider is.
type ProviderConfig struct {
	Name           string   // providerName in the index
	Domains        []string // the PEC domains served, lower-cased
	Certificate    string   // PEM file: the signing certificate, then its issuers
	Key            string   // the signing key: a file, or scheme:reference (see keys.go)
	ServiceMailbox string   // the account of the service mailbox; "" means the mailReceipt of Name in the index
}

// ListenConfig is the [listen] section: the addresses served ("" means
// not served).
type ListenConfig struct {
	Hostname           string // the name in the SMTP greeting; "" means the first domain
	Submission         string // implicit TLS (port 465)
	SubmissionSTARTTLS string // STARTTLS required before AUTH (port 587)
	Incoming           string // the MX of the PEC domains (port 25), STARTTLS offered
	IMAP               string // implicit TLS (993)
	IMAPSTARTTLS       string // 143
	POP3               string // implicit TLS (995)
	POP3STARTTLS       string // 110
	Web                string // the holders' web view, HTTPS (package provider/web)
}

// TLSConfig is the [tls] section: the servers' certificate.
type TLSConfig struct {
	Certificate string // PEM file, leaf first
	Key         string // PEM file
	// OutboundAnchors is a PEM file of the roots that the incoming points
	// of other providers must chain to (STARTTLS, PEC.md §11.6); "" means
	// the system roots.
	OutboundAnchors string
}

// IndexConfig is the [index] section: where the provider index comes
// from and who may sign it.
type IndexConfig struct {
	LDAP                 string // ldap:// or ldaps:// URL
	LDAPBindDN           string
	LDAPPasswordFile     string
	LDIF                 string // a path, or an https:// URL of a signed LDIF
	Anchors              string // PEM file of the roots of the publisher
	PublisherCertificate string // PEM file of the publisher's certificates
	PublisherSubject     string
	PublisherEmail       string
	Refresh              time.Duration
	// State is a file keeping the signing time of the last signed index
	// accepted, so that after a restart an older one is refused too
	// (rollback); "" keeps it in memory only.
	State string
	// Publish is a file where the provider writes its own entry of the
	// index (PEC.md §12: providerName, mailReceipt, every managedDomain,
	// its certificate) as LDIF, and beside it Publish+".p7m", the same
	// signed with the provider's key; written at the start and at every
	// reload, for the index publisher to collect. "" writes nothing.
	Publish string
}

// StorageConfig is the [storage] section.
type StorageConfig struct {
	Spool string // directory of the durable spool
	// Mailbox is the store of the mailboxes: "maildir" (the default),
	// the Maildirs under Maildir, or "lmtp:ADDRESS", the deliveries
	// handed to Dovecot's LMTP service at ADDRESS (host:port, or the
	// path of a Unix socket), which then serves the mailboxes itself.
	Mailbox string
	// LMTPDelimiter is Dovecot's recipient_delimiter: a copy for the
	// Sent folder goes to user+Sent@domain. Default "+".
	LMTPDelimiter string
	Maildir       string // root of the users' Maildirs
	Trace         string // a directory (embedded store) or a postgres:// URL
	SealInterval  time.Duration
	// MaildirStaleLock is the age past which a Maildir lock file is taken
	// to be left by a dead process (a crash) and removed.
	MaildirStaleLock time.Duration
}

// LimitsConfig is the [limits] section.
type LimitsConfig struct {
	MaxTotal      int64 // message size × recipients, bytes (PEC.md §11.1 check 8)
	MaxRecipients int
	MailboxQuota  int64 // bytes a mailbox may hold; 0: no limit
}

// TimeLimitsConfig is the [time-limits] section (PEC.md §10.3).
type TimeLimitsConfig struct {
	Warning time.Duration // the warning, 12 hours after dispatch
	Final   time.Duration // the final notice, between 22 and 24 hours
}

// AccountsConfig is the [accounts] section.
type AccountsConfig struct {
	File string // see accounts.go for its format
	// Ordinary is what a mailbox whose line does not say does with
	// ordinary mail: "accept" (the default: delivered in an anomaly
	// envelope) or "refuse" (refused at SMTP, PEC.md §11.2).
	Ordinary string
}

// LogConfig is the [log] section.
type LogConfig struct {
	Level  string // debug, info, warn, error
	Format string // text or json
}

// Defaults of the configuration.
const (
	DefaultMaxTotal      = provider.DefaultMaxTotal // PEC.md §11.1 check 8
	DefaultMaxRecipients = 100
	DefaultWarning       = provider.DefaultWarnAfter   // PEC.md §10.3
	DefaultFinal         = provider.DefaultGiveUpAfter // within 22 to 24 hours
	DefaultRefresh       = index.DefaultInterval       // PEC.md §13.1: daily
	DefaultSealInterval  = trace.DefaultSealInterval
	DefaultStaleLock     = 2 * time.Minute // Dovecot's, as package mailbox
	DefaultMailbox       = "maildir"
	DefaultLMTPDelimiter = "+"
	DefaultOrdinary      = "accept" // most providers deliver it in an anomaly envelope
)

// LoadConfig reads the configuration file at path.
func LoadConfig(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c, err := ParseConfig(f)
	var ce *ConfigError
	if errors.As(err, &ce) {
		ce.File = path
	}
	return c, err
}

// ParseConfig reads a configuration from r, checks it and fills the
// defaults. Errors are a *ConfigError naming the line.
func ParseConfig(r io.Reader) (*Config, error) {
	entries, err := readConf(r)
	if err != nil {
		return nil, err
	}
	c := &Config{
		Limits:     LimitsConfig{MaxTotal: DefaultMaxTotal, MaxRecipients: DefaultMaxRecipients},
		TimeLimits: TimeLimitsConfig{Warning: DefaultWarning, Final: DefaultFinal},
		Index:      IndexConfig{Refresh: DefaultRefresh},
		Storage: StorageConfig{SealInterval: DefaultSealInterval, MaildirStaleLock: DefaultStaleLock,
			Mailbox: DefaultMailbox, LMTPDelimiter: DefaultLMTPDelimiter},
		Accounts: AccountsConfig{Ordinary: DefaultOrdinary},
		Log:      LogConfig{Level: "info", Format: "text"},
	}
	d := &decoder{seen: map[string]int{}}
	for _, e := range entries {
		if err := d.entry(c, e); err != nil {
			return nil, err
		}
	}
	if err := c.check(d); err != nil {
		return nil, err
	}
	return c, nil
}

// decoder assigns entries to fields and remembers where each key was.
type decoder struct {
	seen map[string]int // "section.key" → line
}

// fields returns the scalar fields of section, by key.
func (c *Config) fields(section string) map[string]any {
	switch section {
	case "provider":
		p := &c.Provider
		return map[string]any{"name": &p.Name, "domain": &p.Domains, "certificate": &p.Certificate,
			"key": &p.Key, "service-mailbox": &p.ServiceMailbox}
	case "listen":
		l := &c.Listen
		return map[string]any{"hostname": &l.Hostname, "submission": addr{&l.Submission},
			"submission-starttls": addr{&l.SubmissionSTARTTLS}, "incoming": addr{&l.Incoming},
			"imap": addr{&l.IMAP}, "imap-starttls": addr{&l.IMAPSTARTTLS},
			"pop3": addr{&l.POP3}, "pop3-starttls": addr{&l.POP3STARTTLS}, "web": addr{&l.Web}}
	case "tls":
		return map[string]any{"certificate": &c.TLS.Certificate, "key": &c.TLS.Key, "outbound-anchors": &c.TLS.OutboundAnchors}
	case "index":
		x := &c.Index
		return map[string]any{"ldap": &x.LDAP, "ldap-bind-dn": &x.LDAPBindDN, "ldap-password-file": &x.LDAPPasswordFile,
			"ldif": &x.LDIF, "anchors": &x.Anchors, "publisher-certificate": &x.PublisherCertificate,
			"publisher-subject": &x.PublisherSubject, "publisher-email": &x.PublisherEmail, "refresh": &x.Refresh,
			"state": &x.State, "publish": &x.Publish}
	case "storage":
		s := &c.Storage
		return map[string]any{"spool": &s.Spool, "mailbox": &s.Mailbox, "lmtp-delimiter": &s.LMTPDelimiter, "maildir": &s.Maildir, "trace": &s.Trace, "seal-interval": &s.SealInterval,
			"maildir-stale-lock": &s.MaildirStaleLock}
	case "limits":
		return map[string]any{"max-total-size": size{&c.Limits.MaxTotal}, "max-recipients": &c.Limits.MaxRecipients,
			"mailbox-quota": size{&c.Limits.MailboxQuota}}
	case "time-limits":
		return map[string]any{"warning": &c.TimeLimits.Warning, "final": &c.TimeLimits.Final}
	case "accounts":
		return map[string]any{"file": &c.Accounts.File, "ordinary": &c.Accounts.Ordinary}
	case "log":
		return map[string]any{"level": &c.Log.Level, "format": &c.Log.Format}
	}
	return nil
}

// addr marks a field holding host:port; size one holding a byte count.
type (
	addr struct{ p *string }
	size struct{ p *int64 }
)

// entry decodes one line.
func (d *decoder) entry(c *Config, e confEntry) error {
	fail := func(err error) error {
		return &ConfigError{Line: e.Line, Section: e.Section, Key: e.Key, Err: err}
	}
	if e.Key == "" {
		if e.Section != "routes" && c.fields(e.Section) == nil {
			return &ConfigError{Line: e.Line, Err: fmt.Errorf("unknown section [%s]", e.Section)}
		}
		return nil
	}
	if e.Section == "routes" {
		dom := strings.ToLower(e.Key)
		if !validDomain(dom) {
			return fail(fmt.Errorf("not a domain name"))
		}
		if prev, ok := d.seen["routes."+dom]; ok {
			return fail(fmt.Errorf("route already given at line %d", prev))
		}
		if err := checkHostPort(e.Value); err != nil {
			return fail(err)
		}
		d.seen["routes."+dom] = e.Line
		if c.Routes == nil {
			c.Routes = map[string]string{}
		}
		c.Routes[dom] = e.Value
		return nil
	}
	fields := c.fields(e.Section)
	if fields == nil {
		return &ConfigError{Line: e.Line, Err: fmt.Errorf("unknown section [%s]", e.Section)}
	}
	f, ok := fields[e.Key]
	if !ok {
		return fail(errors.New("unknown key"))
	}
	k := e.Section + "." + e.Key
	if _, list := f.(*[]string); !list {
		if prev, ok := d.seen[k]; ok {
			return fail(fmt.Errorf("already given at line %d", prev))
		}
	}
	d.seen[k] = e.Line
	if e.Value == "" {
		return fail(errors.New("empty value"))
	}
	switch p := f.(type) {
	case *string:
		*p = e.Value
	case *[]string:
		for _, v := range strings.Split(e.Value, ",") {
			v = strings.ToLower(strings.TrimSpace(v))
			if !validDomain(v) {
				return fail(fmt.Errorf("%q is not a domain name", v))
			}
			*p = append(*p, v)
		}
	case addr:
		if err := checkHostPort(e.Value); err != nil {
			return fail(err)
		}
		*p.p = e.Value
	case *time.Duration:
		v, err := parseDuration(e.Value)
		if err != nil {
			return fail(err)
		}
		*p = v
	case *int:
		v, err := strconv.Atoi(e.Value)
		if err != nil || v <= 0 {
			return fail(fmt.Errorf("%q is not a positive number", e.Value))
		}
		*p = v
	case size:
		v, err := parseSize(e.Value)
		if err != nil {
			return fail(err)
		}
		*p.p = v
	}
	return nil
}

// check verifies what single lines cannot: required keys and
// consistency.
func (c *Config) check(d *decoder) error {
	missing := func(section, key string) error {
		return &ConfigError{Section: section, Key: key, Err: errors.New("required")}
	}
	at := func(section, key string, err error) error {
		return &ConfigError{Line: d.seen[section+"."+key], Section: section, Key: key, Err: err}
	}
	switch {
	case c.Provider.Name == "":
		return missing("provider", "name")
	case len(c.Provider.Domains) == 0:
		return missing("provider", "domain")
	case c.Provider.Certificate == "":
		return missing("provider", "certificate")
	case c.Provider.Key == "":
		return missing("provider", "key")
	case c.TLS.Certificate == "":
		return missing("tls", "certificate")
	case c.TLS.Key == "":
		return missing("tls", "key")
	case c.Storage.Spool == "":
		return missing("storage", "spool")
	case c.Storage.Maildir == "" && c.Storage.Mailbox == DefaultMailbox:
		return missing("storage", "maildir")
	case c.Storage.Trace == "":
		return missing("storage", "trace")
	case c.Accounts.File == "":
		return missing("accounts", "file")
	}
	l := c.Listen
	if l.Submission == "" && l.SubmissionSTARTTLS == "" {
		return missing("listen", "submission")
	}
	if l.Incoming == "" {
		return missing("listen", "incoming")
	}
	if _, err := parseOrdinary(c.Accounts.Ordinary); err != nil {
		return at("accounts", "ordinary", fmt.Errorf("%q: want accept or refuse", c.Accounts.Ordinary))
	}
	if c.Storage.Mailbox != DefaultMailbox {
		network, address, err := lmtpAddress(c.Storage.Mailbox)
		if err != nil {
			return at("storage", "mailbox", err)
		}
		if network == "tcp" {
			if err := checkHostPort(address); err != nil {
				return at("storage", "mailbox", err)
			}
		}
		// The LMTP store delivers only: Dovecot serves the mailboxes.
		for _, k := range []struct{ key, addr string }{{"imap", l.IMAP}, {"imap-starttls", l.IMAPSTARTTLS},
			{"pop3", l.POP3}, {"pop3-starttls", l.POP3STARTTLS}, {"web", l.Web}} {
			if k.addr != "" {
				return at("listen", k.key, errors.New("with [storage] mailbox = lmtp:..., Dovecot serves the mailboxes: remove this listener"))
			}
		}
		if c.Limits.MailboxQuota != 0 {
			return at("limits", "mailbox-quota", errors.New("with [storage] mailbox = lmtp:..., set the quota in Dovecot"))
		}
	}
	if c.Limits.MailboxQuota > MaxMailboxQuota {
		return at("limits", "mailbox-quota", fmt.Errorf("%d bytes is over 10GB, the largest quota", c.Limits.MailboxQuota))
	}
	if strings.ContainsAny(c.Storage.LMTPDelimiter, "@<> \t") {
		return at("storage", "lmtp-delimiter", fmt.Errorf("%q cannot separate a folder from a user", c.Storage.LMTPDelimiter))
	}
	seen := map[string]bool{}
	for _, d := range c.Provider.Domains {
		if seen[d] {
			return at("provider", "domain", fmt.Errorf("%s listed twice", d))
		}
		seen[d] = true
	}
	x := c.Index
	switch {
	case x.LDAP == "" && x.LDIF == "":
		return missing("index", "ldap or ldif")
	case x.LDAP != "" && x.LDIF != "":
		return at("index", "ldif", errors.New("give ldap or ldif, not both"))
	case x.LDAP != "" && !strings.HasPrefix(x.LDAP, "ldap://") && !strings.HasPrefix(x.LDAP, "ldaps://"):
		return at("index", "ldap", errors.New("not an ldap:// or ldaps:// URL"))
	case strings.HasPrefix(x.LDIF, "http://"):
		return at("index", "ldif", errors.New("an index by URL must come over https://"))
	case strings.HasPrefix(x.LDIF, "https://") && x.Anchors == "" && x.PublisherCertificate == "":
		return at("index", "ldif", errors.New("an index by URL must be signed: give anchors or publisher-certificate"))
	case x.LDIF != "" && x.Anchors != "" && x.PublisherCertificate == "" && x.PublisherSubject == "" && x.PublisherEmail == "":
		// index.ErrPublisher explains why anchors alone are refused.
		return at("index", "anchors", errors.New("anchors alone do not say who publishes the index: pin publisher-certificate, publisher-subject or publisher-email"))
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return at("log", "level", fmt.Errorf("%q: want debug, info, warn or error", c.Log.Level))
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		return at("log", "format", fmt.Errorf("%q: want text or json", c.Log.Format))
	}
	t := c.TimeLimits
	if t.Warning >= t.Final {
		return at("time-limits", "warning", fmt.Errorf("%v is not before the final notice (%v)", t.Warning, t.Final))
	}
	return nil
}

// lmtpAddress reads "lmtp:host:port" (tcp) or "lmtp:/path" (a Unix socket).
func lmtpAddress(s string) (network, address string, err error) {
	rest, ok := strings.CutPrefix(s, "lmtp:")
	switch {
	case !ok:
		return "", "", fmt.Errorf("%q: want maildir, lmtp:host:port or lmtp:/path/of/socket", clip(s))
	case strings.HasPrefix(rest, "/"):
		return "unix", rest, nil
	}
	return "tcp", rest, nil
}

// parseDuration reads a Go duration, or a number of days ("30d").
func parseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if v, err := strconv.Atoi(n); err == nil && v > 0 && v < 100000 {
			return time.Duration(v) * 24 * time.Hour, nil
		}
	}
	v, err := time.ParseDuration(s)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration such as 90s, 12h or 30d", clip(s))
	}
	return v, nil
}

// parseSize reads a byte count: a number with an optional unit, KB, MB,
// GB (powers of 1,000) or KiB, MiB, GiB (powers of 1,024).
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	units := map[string]int64{"": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30}
	m, ok := units[strings.ToLower(strings.TrimSpace(t[i:]))]
	if err != nil || !ok || n <= 0 || n > (1<<62)/m {
		return 0, fmt.Errorf("%q is not a size such as 30MB or 10MiB", clip(s))
	}
	return n * m, nil
}

// checkHostPort checks an address to listen on or connect to.
func checkHostPort(s string) error {
	h, p, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not host:port", clip(s))
	}
	if n, err := strconv.Atoi(p); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q: bad port", clip(s))
	}
	if strings.ContainsAny(h, " \t/") {
		return fmt.Errorf("%q: bad host", clip(s))
	}
	return nil
}

// validDomain reports whether s is a domain name (dot-atom of letters,
// digits and hyphens), lower case.
func validDomain(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
