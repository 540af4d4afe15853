package client

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/pecsdk/pec/pec/index"
)

// Security is how a connection to a provider is protected. PEC providers
// accept only protected connections (PEC.md §15.1): there is no cleartext
// mode.
type Security string

// Connection security modes.
const (
	SecurityTLS      Security = "tls"      // implicit TLS from the first byte (ports 465, 993, 995)
	SecurityStartTLS Security = "starttls" // cleartext, then STARTTLS / STLS before anything else (ports 587, 143, 110)
)

// check returns ErrSecurity for a mode other than SecurityTLS,
// SecurityStartTLS and empty (SecurityTLS).
func (s Security) check() error {
	switch s {
	case "", SecurityTLS, SecurityStartTLS:
		return nil
	}
	return fmt.Errorf("%w %q: want %q or %q", ErrSecurity, string(s), SecurityTLS, SecurityStartTLS)
}

// Endpoint is one server of a provider.
type Endpoint struct {
	Host     string   `json:"host"`
	Port     int      `json:"port"`
	Security Security `json:"security"` // empty: SecurityTLS; another value is refused (ErrSecurity)
}

// Addr returns host:port.
func (e Endpoint) Addr() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }

// IsZero reports whether e names no server.
func (e Endpoint) IsZero() bool { return e.Host == "" }

// Preset is what a mail client needs to know about a PEC provider.
type Preset struct {
	Name     string   `json:"name"`     // short key, as in "aruba"
	Provider string   `json:"provider"` // the provider's name
	Domains  []string `json:"domains"`  // mailbox domains it hosts (for PresetFor)
	// IndexNames are the provider's names in the provider index
	// (providerName, PEC.md §13.3, the O= of its certificates): PresetFor
	// recognises by them a custom domain the provider hosts.
	IndexNames []string `json:"indexNames,omitempty"`
	SMTP       Endpoint `json:"smtp"` // submission
	IMAP       Endpoint `json:"imap"` // zero when not offered or not known
	POP3       Endpoint `json:"pop3"` // zero when not offered or not known
	// SentFolder is the IMAP folder holding the copies of sent messages;
	// empty when not known (look for the \Sent special use, RFC 6154).
	SentFolder string `json:"sentFolder,omitempty"`
	// Source says where the data comes from.
	Source string `json:"source,omitempty"`
}

//go:embed presets.json
var presetsJSON []byte

var presets = mustPresets()

func mustPresets() []Preset {
	ps, err := ParsePresets(strings.NewReader(string(presetsJSON)))
	if err != nil {
		panic("client: embedded presets.json: " + err.Error())
	}
	return ps
}

// Presets returns the built-in provider presets, sorted by name. The data
// is presets.json, embedded; ParsePresets reads more in the same format.
func Presets() []Preset {
	out := make([]Preset, len(presets))
	copy(out, presets)
	return out
}

// LookupPreset returns the built-in preset named name (case-insensitive).
func LookupPreset(name string) (Preset, bool) {
	for _, p := range presets {
		if strings.EqualFold(p.Name, name) {
			return p, true
		}
	}
	return Preset{}, false
}

// PresetFor returns the built-in preset of the provider hosting address,
// by its domain (case-insensitive): one of the preset's Domains, or, when
// idx is not nil, a domain that the provider index says a provider of a
// preset manages (a custom domain hosted by the provider: the entry's
// providerName is one of the preset's IndexNames). idx may be nil.
func PresetFor(address string, idx index.Index) (Preset, bool) {
	at := strings.LastIndexByte(address, '@')
	dom := strings.ToLower(strings.Trim(address[at+1:], "<> "))
	for _, p := range presets {
		for _, d := range p.Domains {
			if strings.EqualFold(d, dom) {
				return p, true
			}
		}
	}
	if idx == nil || dom == "" {
		return Preset{}, false
	}
	prov, ok := idx.Domain(dom)
	if !ok || prov == nil {
		return Preset{}, false
	}
	name := foldName(prov.Name)
	for _, p := range presets {
		for _, n := range p.IndexNames {
			if foldName(n) == name {
				return p, true
			}
		}
	}
	return Preset{}, false
}

// foldName is a provider name compared without case, spaces or
// punctuation: "ArubaPEC S.p.A." and "Aruba PEC SpA" are one provider.
func foldName(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return unicode.ToLower(r)
		}
		return -1
	}, s)
}

// ParsePresets reads presets in the JSON format of presets.json (an array
// of Preset) and checks them: a name, an SMTP endpoint, ports in range and
// known security modes.
func ParsePresets(r io.Reader) ([]Preset, error) {
	var ps []Preset
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ps); err != nil {
		return nil, fmt.Errorf("client: presets: %w", err)
	}
	seen := map[string]bool{}
	for i := range ps {
		p := &ps[i]
		if p.Name == "" || seen[strings.ToLower(p.Name)] {
			return nil, fmt.Errorf("client: presets: entry %d: missing or repeated name %q", i, p.Name)
		}
		seen[strings.ToLower(p.Name)] = true
		for _, e := range []struct {
			what string
			ep   *Endpoint
			need bool
		}{{"smtp", &p.SMTP, true}, {"imap", &p.IMAP, false}, {"pop3", &p.POP3, false}} {
			if e.ep.IsZero() {
				if e.need {
					return nil, fmt.Errorf("client: presets: %s: no %s server", p.Name, e.what)
				}
				continue
			}
			if e.ep.Security == "" {
				e.ep.Security = SecurityTLS
			}
			if err := e.ep.Security.check(); err != nil {
				return nil, fmt.Errorf("client: presets: %s: %s: %w", p.Name, e.what, err)
			}
			if e.ep.Port <= 0 || e.ep.Port > 65535 {
				return nil, fmt.Errorf("client: presets: %s: %s: bad port %d", p.Name, e.what, e.ep.Port)
			}
		}
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].Name < ps[j].Name })
	return ps, nil
}
