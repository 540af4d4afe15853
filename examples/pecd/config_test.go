package main

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// minimalConf is the smallest configuration accepted.
const minimalConf = `
[provider]
name = Gestore Alfa
domain = pec.alfa.test
certificate = alfa.pem
key = alfa.key
[listen]
submission = 127.0.0.1:465
incoming = 127.0.0.1:25
[tls]
certificate = tls.pem
key = tls.key
[index]
ldif = index.ldif
[storage]
spool = spool
maildir = mail
trace = trace
[accounts]
file = accounts
`

func TestParseConfigExample(t *testing.T) {
	c, err := LoadConfig("pecd.conf.example")
	if err != nil {
		t.Fatal(err)
	}
	if c.Provider.Name != "Example PEC S.p.A." || !reflect.DeepEqual(c.Provider.Domains, []string{"pec.example.it", "legal.example.com"}) {
		t.Errorf("provider = %+v", c.Provider)
	}
	if c.Limits.MaxTotal != 30e6 || c.TimeLimits.Warning != 12*time.Hour || c.TimeLimits.Final != 23*time.Hour || c.TLS.OutboundAnchors != "" {
		t.Errorf("limits %+v, time limits %+v", c.Limits, c.TimeLimits)
	}
	if c.Accounts.Ordinary != "accept" || c.Storage.Mailbox != "maildir" || c.Index.Publish != "" {
		t.Errorf("accounts %+v, storage %+v", c.Accounts, c.Storage)
	}
	if c.Index.LDIF == "" || c.Index.PublisherCertificate == "" || c.Index.Refresh != 24*time.Hour {
		t.Errorf("index = %+v", c.Index)
	}
}

func TestParseConfigDefaults(t *testing.T) {
	c, err := ParseConfig(strings.NewReader(minimalConf))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Provider: ProviderConfig{Name: "Gestore Alfa", Domains: []string{"pec.alfa.test"}, Certificate: "alfa.pem", Key: "alfa.key"},
		Listen:   ListenConfig{Submission: "127.0.0.1:465", Incoming: "127.0.0.1:25"},
		TLS:      TLSConfig{Certificate: "tls.pem", Key: "tls.key"},
		Index:    IndexConfig{LDIF: "index.ldif", Refresh: DefaultRefresh},
		Storage: StorageConfig{Spool: "spool", Mailbox: "maildir", LMTPDelimiter: "+", Maildir: "mail", Trace: "trace",
			SealInterval: DefaultSealInterval, MaildirStaleLock: DefaultStaleLock},
		Limits:     LimitsConfig{MaxTotal: DefaultMaxTotal, MaxRecipients: DefaultMaxRecipients},
		TimeLimits: TimeLimitsConfig{Warning: 12 * time.Hour, Final: 23 * time.Hour},
		Accounts:   AccountsConfig{File: "accounts", Ordinary: "accept"},
		Log:        LogConfig{Level: "info", Format: "text"},
	}
	if !reflect.DeepEqual(*c, want) {
		t.Errorf("got  %+v\nwant %+v", *c, want)
	}
}

func TestParseConfigValues(t *testing.T) {
	tests := []struct {
		name  string
		extra string
		check func(*Config) bool
	}{
		{"comments and blanks", "\n  # x = y\n; [nope]\n\n", func(c *Config) bool { return true }},
		{"domains comma", "[provider]\ndomain = A.Example, b.example", func(c *Config) bool {
			return reflect.DeepEqual(c.Provider.Domains, []string{"pec.alfa.test", "a.example", "b.example"})
		}},
		{"size MiB", "[limits]\nmax-total-size = 10 MiB", func(c *Config) bool { return c.Limits.MaxTotal == 10<<20 }},
		{"quota", "[limits]\nmailbox-quota = 2GiB", func(c *Config) bool { return c.Limits.MailboxQuota == 2<<30 }},
		{"size bytes", "[limits]\nmax-total-size = 1234", func(c *Config) bool { return c.Limits.MaxTotal == 1234 }},
		{"days", "[time-limits]\nfinal = 2d\nwarning = 90m", func(c *Config) bool {
			return c.TimeLimits.Final == 48*time.Hour && c.TimeLimits.Warning == 90*time.Minute
		}},
		{"routes", "[routes]\nPEC.Beta.Test = 127.0.0.1:20025", func(c *Config) bool { return c.Routes["pec.beta.test"] == "127.0.0.1:20025" }},
		{"keys case", "[LOG]\nLevel = debug", func(c *Config) bool { return c.Log.Level == "debug" }},
		{"hash in value", "[index]\npublisher-subject = CN=a#b", func(c *Config) bool { return c.Index.PublisherSubject == "CN=a#b" }},
		{"ldap", "[index]\nldif = x\n", nil}, // duplicate: see errors
		{"ordinary refused", "[accounts]\nordinary = refuse", func(c *Config) bool { return c.Accounts.Ordinary == "refuse" }},
		{"lmtp tcp", "[storage]\nmailbox = lmtp:127.0.0.1:24\nlmtp-delimiter = -", func(c *Config) bool {
			return c.Storage.Mailbox == "lmtp:127.0.0.1:24" && c.Storage.LMTPDelimiter == "-"
		}},
		{"lmtp socket", "[storage]\nmailbox = lmtp:/run/dovecot/lmtp", func(c *Config) bool { return c.Storage.Mailbox == "lmtp:/run/dovecot/lmtp" }},
		{"publish", "[index]\npublish = /var/lib/pecd/entry.ldif", func(c *Config) bool { return c.Index.Publish == "/var/lib/pecd/entry.ldif" }},
	}
	for _, tt := range tests {
		if tt.check == nil {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfig(strings.NewReader(minimalConf + tt.extra))
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Errorf("unexpected config %+v", c)
			}
		})
	}
}

func TestParseConfigErrors(t *testing.T) {
	// minimalConf starts with an empty line and has 20 lines: the extra
	// text starts at line 21.
	const next = 21
	tests := []struct {
		name  string
		text  string
		line  int
		match string
	}{
		{"unknown section", minimalConf + "[nope]\n", next, "unknown section"},
		{"unknown key", minimalConf + "[provider]\nnam = x\n", next + 1, "unknown key"},
		{"duplicate", minimalConf + "[provider]\nname = again\n", next + 1, "already given at line 3"},
		{"no equals", minimalConf + "[log]\nlevel debug\n", next + 1, "expected key = value"},
		{"outside", "name = x\n", 1, "outside any [section]"},
		{"unclosed", "[provider\n", 1, "without closing"},
		{"empty value", minimalConf + "[log]\nlevel =\n", next + 1, "empty value"},
		{"bad duration", minimalConf + "[index]\nrefresh = soon\n", next + 1, "not a positive duration"},
		{"negative duration", minimalConf + "[index]\nrefresh = -1h\n", next + 1, "not a positive duration"},
		{"bad size", minimalConf + "[limits]\nmax-total-size = 3 parsecs\n", next + 1, "not a size"},
		{"bad address", minimalConf + "[listen]\nimap = localhost\n", next + 1, "not host:port"},
		{"bad port", minimalConf + "[listen]\nimap = :99999\n", next + 1, "bad port"},
		{"bad domain", minimalConf + "[provider]\ndomain = -x.test\n", next + 1, "not a domain"},
		{"twice domain", minimalConf + "[provider]\ndomain = pec.alfa.test\n", next + 1, "listed twice"},
		{"bad route", minimalConf + "[routes]\nx_y = 1.2.3.4:25\n", next + 1, "not a domain"},
		{"both index", minimalConf + "[index]\nldap = ldap://x\n", 14, "not both"},
		{"http index", strings.Replace(minimalConf, "ldif = index.ldif", "ldif = http://x/i.p7m", 1), 14, "https"},
		{"unsigned url", strings.Replace(minimalConf, "ldif = index.ldif", "ldif = https://x/i.p7m", 1), 14, "must be signed"},
		{"anchors alone", minimalConf + "[index]\nanchors = ca.pem\n", next + 1, "anchors alone"},
		{"warning after final", minimalConf + "[time-limits]\nwarning = 25h\n", next + 1, "not before"},
		{"missing name", strings.Replace(minimalConf, "name = Gestore Alfa\n", "", 1), 0, "name: required"},
		{"missing incoming", strings.Replace(minimalConf, "incoming = 127.0.0.1:25\n", "", 1), 0, "incoming: required"},
		{"ordinary", minimalConf + "[accounts]\nordinary = bounce\n", next + 1, "want accept or refuse"},
		{"mailbox", minimalConf + "[storage]\nmailbox = mbox:/var/mail\n", next + 1, "want maildir, lmtp"},
		{"lmtp port", minimalConf + "[storage]\nmailbox = lmtp:localhost\n", next + 1, "not host:port"},
		{"lmtp imap", minimalConf + "[storage]\nmailbox = lmtp:127.0.0.1:24\n[listen]\nimap = 127.0.0.1:993\n", next + 3, "Dovecot serves the mailboxes"},
		{"lmtp quota", minimalConf + "[storage]\nmailbox = lmtp:127.0.0.1:24\n[limits]\nmailbox-quota = 1GB\n", next + 3, "quota in Dovecot"},
		{"quota over 10GB", minimalConf + "[limits]\nmailbox-quota = 11GB\n", next + 1, "over 10GB"},
		{"long line", "[provider]\nname = " + strings.Repeat("x", maxConfLine) + "\n", 2, "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig(strings.NewReader(tt.text))
			var ce *ConfigError
			if !errors.As(err, &ce) || !errors.Is(err, ErrConfig) {
				t.Fatalf("err = %v, want a *ConfigError", err)
			}
			if ce.Line != tt.line || !strings.Contains(err.Error(), tt.match) {
				t.Errorf("err = %q (line %d), want line %d and %q", err, ce.Line, tt.line, tt.match)
			}
		})
	}
}

func TestLoadConfigNamesFile(t *testing.T) {
	p := t.TempDir() + "/bad.conf"
	os.WriteFile(p, []byte("[provider]\nfoo = 1\n"), 0o644)
	_, err := LoadConfig(p)
	if err == nil || !strings.HasPrefix(err.Error(), p+":2: [provider] foo: ") {
		t.Errorf("err = %v", err)
	}
}

func TestWriteConfigRoundTrip(t *testing.T) {
	c, err := LoadConfig("pecd.conf.example")
	if err != nil {
		t.Fatal(err)
	}
	c.Routes = map[string]string{"pec.b.test": "127.0.0.1:2", "pec.a.test": "127.0.0.1:1"}
	var b bytes.Buffer
	if err := WriteConfig(&b, c); err != nil {
		t.Fatal(err)
	}
	c2, err := ParseConfig(&b)
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if !reflect.DeepEqual(c, c2) {
		t.Errorf("round trip differs:\n%+v\n%+v", c, c2)
	}
}

func FuzzParseConfig(f *testing.F) {
	example, err := os.ReadFile("pecd.conf.example")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	f.Add([]byte(minimalConf))
	f.Add([]byte(minimalConf + "[routes]\na.b = 1.2.3.4:5\n[limits]\nmax-total-size = 1GiB\n"))
	f.Add([]byte("[x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(bytes.NewReader(data))
		if err != nil {
			var ce *ConfigError
			if errors.As(err, &ce) && ce.Line < 0 {
				t.Fatalf("negative line in %v", err)
			}
			return
		}
		var b bytes.Buffer
		if err := WriteConfig(&b, c); err != nil {
			t.Fatal(err)
		}
		c2, err := ParseConfig(bytes.NewReader(b.Bytes()))
		if err != nil {
			t.Fatalf("written config does not parse: %v\n%s", err, b.String())
		}
		if !reflect.DeepEqual(c, c2) {
			t.Fatalf("parse → write → parse differs:\n%+v\n%+v", c, c2)
		}
	})
}
