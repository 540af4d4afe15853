package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/emersion/go-message/mail"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
	"github.com/pecsdk/pec/pec/smime"
)

// pecHeaders are the header fields inspect shows, by their names.
var pecHeaders = []string{
	pec.HeaderTransport, pec.HeaderReceipt, pec.HeaderReference, pec.HeaderReceiptType,
	pec.HeaderSecurityCheck, pec.HeaderOriginalSender,
	"Message-ID", "Subject", "From", "To", "Cc", "Reply-To", "Date",
}

// idHeaders are the fields of pecHeaders that hold a message identifier:
// inspect prints it without angle brackets, as the library gives and
// takes every identifier (pec.NormalizeMsgID).
var idHeaders = map[string]bool{"Message-ID": true, pec.HeaderReference: true}

func cmdInspect(args []string, out, errOut io.Writer) (int, error) {
	fs := newFlagSet("inspect")
	asJSON := fs.Bool("json", false, "print one JSON object per file")
	trust := addTrustFlags(fs, "PEM file of trust anchors")
	progress := fs.String("progress", "auto", progressUsage)
	files, err := parseArgs(fs, args)
	if err != nil {
		return 2, err
	}
	if len(files) == 0 {
		return 2, fmt.Errorf("inspect: no file given")
	}
	pl, err := newProgressLine(errOut, *progress)
	if err != nil {
		return 2, fmt.Errorf("inspect: %w", err)
	}
	if files, err = messageFiles(files); err != nil {
		return 2, fmt.Errorf("inspect: %w", err)
	}
	opts, err := trust.options()
	if err != nil {
		return 2, err
	}
	status := 0
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	defer pl.done()
	for i, path := range files {
		pl.show(i, len(files), "inspecting %d/%d", i, len(files))
		m, err := load(path, opts)
		pl.clear()
		if err != nil {
			status = 1
			if *asJSON {
				enc.Encode(map[string]any{"file": path, "error": err.Error()})
			} else {
				fmt.Fprintf(out, "%s: %s\n", path, errText(err))
			}
			continue
		}
		r := report(path, m)
		if *asJSON {
			if err := enc.Encode(r); err != nil {
				return 2, err
			}
		} else {
			printReport(out, r)
		}
	}
	return status, nil
}

type jsonRecipient struct {
	Tipo      string `json:"tipo"`
	Indirizzo string `json:"indirizzo"`
}

type jsonDate struct {
	Zona   string `json:"zona"`
	Giorno string `json:"giorno"`
	Ora    string `json:"ora"`
}

type jsonSigner struct {
	Email     string `json:"email"`
	Subject   string `json:"subject"`
	Issuer    string `json:"issuer"`
	NotBefore string `json:"not_before"`
	NotAfter  string `json:"not_after"`
}

type jsonSignature struct {
	Present     bool        `json:"present"`
	Intact      bool        `json:"intact"`
	Algorithm   string      `json:"algorithm"`
	Legacy      bool        `json:"legacy"`
	SigningTime string      `json:"signing_time,omitempty"`
	Signer      *jsonSigner `json:"signer"`
	Chained     *bool       `json:"chained"`
	Trusted     *bool       `json:"trusted"`
	AsOfSigning bool        `json:"as_of_signing_time,omitempty"`
	FromMatches *bool       `json:"from_matches"`
	Problems    []string    `json:"problems"`
}

type jsonAttachment struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Size int64  `json:"size"`
}

type jsonOriginal struct {
	Subject     string           `json:"subject"`
	From        string           `json:"from"`
	To          []string         `json:"to"`
	Cc          []string         `json:"cc,omitempty"`
	MessageID   string           `json:"message_id"`
	Attachments []jsonAttachment `json:"attachments"`
	Error       string           `json:"error,omitempty"`
}

type jsonReport struct {
	File       string            `json:"file"`
	Kind       string            `json:"kind"`
	KindIT     string            `json:"kind_it"`
	Wrapped    bool              `json:"wrapped"`
	OK         bool              `json:"ok"`      // intact, by a trusted provider that is the sender, kind established by signed content
	Verdict    string            `json:"verdict"` // what was checked, in words
	Headers    map[string]string `json:"headers"`
	Daticert   map[string]any    `json:"daticert"`
	Signature  jsonSignature     `json:"signature"`
	Error      map[string]string `json:"error,omitempty"`
	Hashes     map[string]string `json:"hashes,omitempty"`
	Original   *jsonOriginal     `json:"original"`
	Deviations []string          `json:"deviations"`
	Problems   []string          `json:"problems"`
}

func report(path string, m *message) *jsonReport {
	r := &jsonReport{
		File:       path,
		Kind:       m.Kind.String(),
		KindIT:     m.Kind.Italian(),
		Wrapped:    m.Wrapped,
		Headers:    map[string]string{},
		Deviations: append([]string{}, m.Deviations...),
		Problems:   []string{},
	}
	for _, k := range pecHeaders {
		if v := m.Header.Get(k); v != "" {
			if k == "Subject" {
				if s, err := m.Header.Subject(); err == nil {
					v = s
				}
			}
			if idHeaders[k] {
				v = pec.NormalizeMsgID(v)
			}
			r.Headers[k] = v
		}
	}
	for _, p := range m.Problems {
		r.Problems = append(r.Problems, p.Error())
	}
	if m.Data != nil {
		r.Daticert = daticertJSON(m.Data)
	}
	r.Signature = signatureJSON(m.Signature)
	r.OK = m.OK
	switch {
	case m.Signature == nil:
		r.Verdict = "not signed"
	case m.Signature.OK() && !m.OK:
		r.Verdict = "signed content does not establish the kind the headers claim"
	default:
		r.Verdict = m.Signature.Summary()
	}
	if m.Error != nil {
		r.Error = map[string]string{
			"errore": string(m.Error.Code), "errore-esteso": m.Error.Extended,
			"consegna": m.Error.Recipient, "status": m.Error.Status(), "message": m.Error.Error(),
		}
	}
	if len(m.Hashes) > 0 {
		r.Hashes = map[string]string{}
		for _, h := range m.Hashes {
			r.Hashes[h.Name] = h.Hex
		}
	}
	if m.hasOriginal {
		r.Original = originalJSON(m)
	}
	return r
}

func daticertJSON(d *daticert.Data) map[string]any {
	dest := []jsonRecipient{}
	for _, x := range d.Recipients {
		t := x.Type
		if t == "" {
			t = pec.RecipientCertified
		}
		dest = append(dest, jsonRecipient{Tipo: string(t), Indirizzo: x.Address})
	}
	errore := d.Error
	if errore == "" {
		errore = pec.ErrorNone
	}
	ricezione := append([]string{}, d.Receipts...)
	var data jsonDate
	if !d.Time.IsZero() {
		data = jsonDate{Zona: d.Time.Format(pec.ZoneLayout), Giorno: d.Time.Format(pec.DayLayout), Ora: d.Time.Format(pec.TimeLayout)}
	}
	return map[string]any{
		"tipo":              string(d.Type),
		"errore":            string(errore),
		"mittente":          d.Sender,
		"destinatari":       dest,
		"risposte":          d.ReplyTo,
		"oggetto":           d.Subject,
		"gestore-emittente": d.Provider,
		"data":              data,
		"identificativo":    pec.NormalizeMsgID(d.ID),
		"msgid":             nullable(pec.NormalizeMsgID(d.MsgID)),
		"ricevuta":          nullable(string(d.ReceiptType)),
		"consegna":          nullable(d.Delivery),
		"ricezione":         ricezione,
		"errore-esteso":     nullable(d.ExtendedError),
	}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func signatureJSON(v *smime.Verdict) jsonSignature {
	s := jsonSignature{Problems: []string{}}
	if v == nil {
		s.Problems = append(s.Problems, "not signed")
		return s
	}
	s.Present, s.Intact, s.Algorithm, s.Legacy = v.Present, v.Intact, v.Algorithm, v.Legacy
	s.Chained, s.Trusted, s.FromMatches, s.AsOfSigning = v.Chained, v.Trusted, v.FromMatches, v.AsOfSigningTime
	if !v.SigningTime.IsZero() {
		s.SigningTime = v.SigningTime.UTC().Format("2006-01-02T15:04:05Z")
	}
	if c := v.Signer; c != nil {
		s.Signer = &jsonSigner{
			Email: v.SignerEmail, Subject: c.Subject.String(), Issuer: c.Issuer.String(),
			NotBefore: c.NotBefore.UTC().Format("2006-01-02"), NotAfter: c.NotAfter.UTC().Format("2006-01-02"),
		}
	}
	for _, p := range v.Problems {
		s.Problems = append(s.Problems, p.String())
	}
	return s
}

func originalJSON(m *message) *jsonOriginal {
	o := &jsonOriginal{To: []string{}, Attachments: []jsonAttachment{}}
	raw, err := m.originalRaw()
	if err != nil {
		o.Error = err.Error()
		return o
	}
	h, err := walkAttachments(raw, func(a *attachment) error {
		n, err := io.Copy(io.Discard, a.Body)
		o.Attachments = append(o.Attachments, jsonAttachment{Name: a.Name, Type: a.Type, Size: n})
		return err
	})
	if err != nil {
		o.Error = err.Error()
	}
	if h == nil {
		return o
	}
	o.Subject, _ = h.Subject()
	if f := addrs(*h, "From"); len(f) > 0 {
		o.From = f[0]
	}
	o.To = addrs(*h, "To")
	o.Cc = addrs(*h, "Cc")
	if id, err := h.MessageID(); err == nil && id != "" {
		o.MessageID = id
	} else {
		o.MessageID = pec.NormalizeMsgID(h.Get("Message-Id"))
	}
	return o
}

func addrs(h mail.Header, key string) []string {
	l, err := h.AddressList(key)
	out := []string{}
	if err != nil {
		if v := h.Get(key); v != "" {
			out = append(out, v)
		}
		return out
	}
	for _, a := range l {
		out = append(out, a.Address)
	}
	return out
}

func printReport(w io.Writer, r *jsonReport) {
	fmt.Fprintf(w, "%s\n  kind: %s (%s)\n", r.File, r.Kind, r.KindIT)
	if r.Wrapped {
		fmt.Fprintln(w, "  found inside a wrapper message")
	}
	for _, k := range pecHeaders {
		if v, ok := r.Headers[k]; ok {
			fmt.Fprintf(w, "  %s: %s\n", k, v)
		}
	}
	if d := r.Daticert; d != nil {
		fmt.Fprintf(w, "  daticert: tipo=%v errore=%v gestore=%q identificativo=%v\n", d["tipo"], d["errore"], d["gestore-emittente"], d["identificativo"])
		dt := d["data"].(jsonDate)
		fmt.Fprintf(w, "    data: %s %s (%s)  mittente: %v\n", dt.Giorno, dt.Ora, dt.Zona, d["mittente"])
		for _, x := range d["destinatari"].([]jsonRecipient) {
			fmt.Fprintf(w, "    destinatario: %s (%s)\n", x.Indirizzo, x.Tipo)
		}
		for _, k := range []string{"msgid", "ricevuta", "consegna", "errore-esteso"} {
			if d[k] != nil {
				fmt.Fprintf(w, "    %s: %v\n", k, d[k])
			}
		}
		if rz := d["ricezione"].([]string); len(rz) > 0 {
			fmt.Fprintf(w, "    ricezione: %s\n", strings.Join(rz, ", "))
		}
	}
	s := r.Signature
	fmt.Fprintf(w, "  verdict: %s\n", r.Verdict)
	fmt.Fprintf(w, "  signature: present=%v intact=%v algorithm=%s chained=%s trusted=%s\n", s.Present, s.Intact, s.Algorithm, tri(s.Chained), tri(s.Trusted))
	if s.Signer != nil {
		fmt.Fprintf(w, "    signer: %s (%s), valid %s to %s\n", s.Signer.Email, s.Signer.Subject, s.Signer.NotBefore, s.Signer.NotAfter)
	}
	for _, p := range s.Problems {
		fmt.Fprintf(w, "    - %s\n", p)
	}
	if r.Error != nil {
		fmt.Fprintf(w, "  error: %s\n", r.Error["message"])
	}
	for n, h := range r.Hashes {
		fmt.Fprintf(w, "  hash: %s = %s\n", n, h)
	}
	if o := r.Original; o != nil {
		fmt.Fprintf(w, "  original: %q from %s to %s\n", o.Subject, o.From, strings.Join(o.To, ", "))
		for _, a := range o.Attachments {
			fmt.Fprintf(w, "    attachment: %s (%s, %d bytes)\n", a.Name, a.Type, a.Size)
		}
	}
	for _, d := range r.Deviations {
		fmt.Fprintf(w, "  tolerated: %s\n", d)
	}
	for _, p := range r.Problems {
		fmt.Fprintf(w, "  problem: %s\n", p)
	}
}

func tri(b *bool) string {
	if b == nil {
		return "not checked"
	}
	return fmt.Sprint(*b)
}
