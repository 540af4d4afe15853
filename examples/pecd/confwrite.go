package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// WriteConfig writes c in the format ParseConfig reads, every key that is
// set, defaults included: the demo network writes the configuration of
// each of its providers with it, and ParseConfig reads back the same
// Config.
func WriteConfig(w io.Writer, c *Config) error {
	var b strings.Builder
	section := func(name string) {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "[%s]\n", name)
	}
	kv := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%s = %s\n", k, v)
		}
	}
	section("provider")
	kv("name", c.Provider.Name)
	for _, d := range c.Provider.Domains {
		kv("domain", d)
	}
	kv("certificate", c.Provider.Certificate)
	kv("key", c.Provider.Key)
	kv("service-mailbox", c.Provider.ServiceMailbox)

	section("listen")
	l := c.Listen
	kv("hostname", l.Hostname)
	kv("submission", l.Submission)
	kv("submission-starttls", l.SubmissionSTARTTLS)
	kv("incoming", l.Incoming)
	kv("imap", l.IMAP)
	kv("imap-starttls", l.IMAPSTARTTLS)
	kv("pop3", l.POP3)
	kv("pop3-starttls", l.POP3STARTTLS)
	kv("web", l.Web)

	section("tls")
	kv("certificate", c.TLS.Certificate)
	kv("key", c.TLS.Key)
	kv("outbound-anchors", c.TLS.OutboundAnchors)

	section("index")
	x := c.Index
	kv("ldap", x.LDAP)
	kv("ldap-bind-dn", x.LDAPBindDN)
	kv("ldap-password-file", x.LDAPPasswordFile)
	kv("ldif", x.LDIF)
	kv("anchors", x.Anchors)
	kv("publisher-certificate", x.PublisherCertificate)
	kv("publisher-subject", x.PublisherSubject)
	kv("publisher-email", x.PublisherEmail)
	kv("refresh", formatDuration(x.Refresh))
	kv("state", x.State)
	kv("publish", x.Publish)

	section("storage")
	kv("spool", c.Storage.Spool)
	kv("mailbox", c.Storage.Mailbox)
	kv("lmtp-delimiter", c.Storage.LMTPDelimiter)
	kv("maildir", c.Storage.Maildir)
	kv("trace", c.Storage.Trace)
	kv("seal-interval", formatDuration(c.Storage.SealInterval))
	kv("maildir-stale-lock", formatDuration(c.Storage.MaildirStaleLock))

	section("limits")
	if c.Limits.MaxTotal > 0 {
		kv("max-total-size", strconv.FormatInt(c.Limits.MaxTotal, 10))
	}
	if c.Limits.MailboxQuota > 0 {
		kv("mailbox-quota", strconv.FormatInt(c.Limits.MailboxQuota, 10))
	}
	if c.Limits.MaxRecipients > 0 {
		kv("max-recipients", strconv.Itoa(c.Limits.MaxRecipients))
	}

	section("time-limits")
	kv("warning", formatDuration(c.TimeLimits.Warning))
	kv("final", formatDuration(c.TimeLimits.Final))

	section("accounts")
	kv("file", c.Accounts.File)
	kv("ordinary", c.Accounts.Ordinary)

	if len(c.Routes) > 0 {
		section("routes")
		doms := make([]string, 0, len(c.Routes))
		for d := range c.Routes {
			doms = append(doms, d)
		}
		slices.Sort(doms)
		for _, d := range doms {
			kv(d, c.Routes[d])
		}
	}

	section("log")
	kv("level", c.Log.Level)
	kv("format", c.Log.Format)
	_, err := io.WriteString(w, b.String())
	return err
}

// formatDuration writes d as parseDuration reads it; "" for zero.
func formatDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return ""
	case d%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return d.String()
}
