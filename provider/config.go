package provider

import (
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"strings"
	"time"

	"github.com/pecsdk/pec/pec/index"
	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/provider/mailbox"
	"github.com/pecsdk/pec/provider/spool"
	"github.com/pecsdk/pec/trace"
)

// Defaults of a Config.
const (
	// DefaultMaxTotal is the limit on message size × recipients of PEC.md
	// §11.1 item 8: 30 MB, the figure of the Italian rules.
	DefaultMaxTotal = 30 << 20
	// DefaultWarnAfter is when the 12 h warning is due (PEC.md §10.3).
	DefaultWarnAfter = 12 * time.Hour
	// DefaultGiveUpAfter is when the final notice is emitted: within the
	// window of 22 to 24 hours after dispatch that PEC.md §10.3 fixes.
	DefaultGiveUpAfter = 23 * time.Hour
	// DefaultRetryMin and DefaultRetryMax bound the backoff of a relay or
	// a deposit that failed.
	DefaultRetryMin = 30 * time.Second
	DefaultRetryMax = 30 * time.Minute
	// DefaultPollInterval is how often the spool is looked at for work
	// that is due.
	DefaultPollInterval = 5 * time.Second
)

// Config configures a Provider. Name, Address, Domains, Signer, Index, Spool,
// Store and Users are required; zero fields of the others mean the default
// documented beside them.
type Config struct {
	// Name is the provider's name: gestore-emittente in certification
	// data, providerName in the index.
	Name string
	// Address is the service address: the From of every envelope and
	// notice, which must be the e-mail address of Signer's certificate
	// (PEC.md §3.1), e.g. posta-certificata@pec.example.it.
	Address string
	// Domains are the mail domains the provider manages: its users'
	// domains, the managedDomains of its entry in the index.
	Domains []string
	// ServiceMailbox is the account of the service mailbox, where presa
	// in carico and rilevazione virus notices about the provider's
	// messages are deposited; it is the mailReceipt address of the
	// provider in the index. Empty: the MailReceipt of Name in Index.
	ServiceMailbox string
	// Signer signs every envelope and notice.
	Signer *smime.Signer
	// Index is the provider index (a Mirror in production, index.New in
	// tests): what is certified, who signed what, where service
	// mailboxes are. It is the Authority of every verification.
	Index index.Index
	// Roots are the trust anchors signatures must chain to, as well as
	// being listed in the index. Nil: the index alone (its Pool).
	Roots *x509.CertPool
	// Spool keeps accepted messages until they are processed (a
	// *spool.Dir for durability).
	Spool spool.Spool
	// Store holds the mailboxes.
	Store mailbox.Store
	// Users says which mailboxes exist and checks their passwords.
	Users Users
	// Trace receives a record of every event (PEC.md §14). Nil: no trace.
	Trace trace.Store
	// SealInterval is how often the trace head is sealed with Signer
	// (trace.Sealer); zero: trace.DefaultSealInterval, negative: never.
	SealInterval time.Duration

	// TLS is the servers' certificate: STARTTLS on plain listeners (and
	// the configuration of tls.NewListener for implicit TLS). Required
	// for submission, which refuses AUTH without TLS.
	TLS *tls.Config
	// OutboundTLS verifies the incoming points of other providers, to
	// which STARTTLS is required (PEC.md §11.6). Nil: the system roots.
	// ServerName is set per connection.
	OutboundTLS *tls.Config
	// Router says where to connect for a domain. Nil: MXRouter (port 25).
	Router Router
	// Hostname is the name in the SMTP greeting and EHLO. Empty: the
	// first of Domains.
	Hostname string

	// MaxTotal bounds message size × recipients (PEC.md §11.1 item 8);
	// zero: DefaultMaxTotal. A message over it gets a non-acceptance; a
	// message over MaxTotal alone is refused at SMTP.
	MaxTotal int64
	// MaxRecipients bounds RCPT TO per transaction; zero: 100.
	MaxRecipients int
	// DataMemory bounds the bytes of message bodies that the DATA phases
	// of both listeners hold in memory at once; zero: 4 × MaxTotal, at
	// least MaxTotal plus 64 KiB. Each phase takes 64 KiB for the start
	// of its body; a longer body takes one of the slots of MaxTotal bytes
	// that fit in DataMemory besides (at least one). A DATA phase that
	// finds no memory waits (at most CommandTimeout), then gets a 452
	// temporary error.
	DataMemory int64
	// Scanner checks content for viruses. Nil: EICAR, which finds the
	// EICAR test string only.
	Scanner Scanner
	// RefuseOrdinary says whether user's mailbox refuses what is not a
	// valid PEC object: refused at SMTP instead of delivered in an
	// anomaly envelope (PEC.md §11.2). Nil: every mailbox accepts.
	RefuseOrdinary func(user string) bool

	// WarnAfter is when the warning of a missing presa in carico and
	// delivery receipt is due; zero: DefaultWarnAfter.
	WarnAfter time.Duration
	// GiveUpAfter is when the final non-delivery notice is due and a
	// relay stops being retried; zero: DefaultGiveUpAfter.
	GiveUpAfter time.Duration
	// RetryMin and RetryMax bound the backoff of failed relays and
	// deposits; zero: the defaults.
	RetryMin, RetryMax time.Duration
	// PollInterval is how often the spool is looked at for work due;
	// zero: DefaultPollInterval.
	PollInterval time.Duration
	// Workers is how many messages are processed at once; zero: 32.
	// Processing waits on the disk (each step is fsync'd) and on the
	// network more than it computes: many workers keep both busy.
	Workers int
	// CommandTimeout bounds each SMTP command and reply, both ways, the
	// TLS handshake and the whole of a DATA; zero: one minute. A client
	// that stalls longer is cut off. It also bounds a session's whole
	// lifetime: a connection served by ServeSubmission or ServeIncoming
	// ends 10 × CommandTimeout after it was accepted, however its client
	// paces its commands (a plain or STARTTLS one with a 421 reply, one of
	// an implicit TLS listener is closed).
	CommandTimeout time.Duration
	// Throttle slows down password guessing at the access point; nil: a
	// mailbox.Throttle with its defaults, shared by the servers of this
	// Provider.
	Throttle *mailbox.Throttle

	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// Logger receives what the provider does; nil: silent.
	Logger *slog.Logger
}

// withDefaults returns c with its defaults applied.
func (c Config) withDefaults() Config {
	if c.MaxTotal == 0 {
		c.MaxTotal = DefaultMaxTotal
	}
	if c.MaxRecipients == 0 {
		c.MaxRecipients = 100
	}
	if c.DataMemory == 0 {
		c.DataMemory = 4 * c.MaxTotal
	}
	c.DataMemory = max(c.DataMemory, c.MaxTotal+dataChunk)
	if c.Scanner == nil {
		c.Scanner = EICAR{}
	}
	if c.WarnAfter == 0 {
		c.WarnAfter = DefaultWarnAfter
	}
	if c.GiveUpAfter == 0 {
		c.GiveUpAfter = DefaultGiveUpAfter
	}
	if c.RetryMin == 0 {
		c.RetryMin = DefaultRetryMin
	}
	if c.RetryMax == 0 {
		c.RetryMax = DefaultRetryMax
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.Workers == 0 {
		c.Workers = 32
	}
	if c.CommandTimeout == 0 {
		c.CommandTimeout = time.Minute
	}
	if c.Throttle == nil {
		c.Throttle = &mailbox.Throttle{}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Router == nil {
		c.Router = &MXRouter{}
	}
	if c.Hostname == "" && len(c.Domains) > 0 {
		c.Hostname = c.Domains[0]
	}
	if c.ServiceMailbox == "" && c.Index != nil {
		if e, ok := c.Index.Provider(c.Name); ok {
			c.ServiceMailbox = e.MailReceipt
		}
	}
	doms := make([]string, len(c.Domains))
	for i, d := range c.Domains {
		doms[i] = strings.ToLower(d)
	}
	c.Domains = doms
	return c
}
