package envelope_test

import (
	"bytes"
	"errors"
	"net/mail"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/unicode/norm"

	"github.com/pecsdk/pec/envelope"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/sample"
)

// withField returns msg with the field "name: value" added before its
// first line: a second field of that name when msg has one.
func withField(msg []byte, name, value string) []byte {
	return append([]byte(name+": "+value+"\r\n"), msg...)
}

// withFieldLast returns msg with the field "name: value" added after the
// last field of its header.
func withFieldLast(msg []byte, name, value string) []byte {
	i := bytes.Index(msg, []byte("\r\n\r\n"))
	return append(append(append([]byte{}, msg[:i+2]...), name+": "+value+"\r\n"...), msg[i+2:]...)
}

// TestUnsignedHeaderTricks rewrites the unsigned header of a genuine
// transport envelope in the ways a reader's mail client shows and a
// careless check skips: repeated fields, display names that name someone
// else, a Sender or a Reply-To of another, words in an unknown charset,
// bytes that are not UTF-8, lists that do not parse. Each that shows the
// reader a fact the signed certification data does not state makes the
// envelope not OK; the rewritings real providers make stay OK.
func TestUnsignedHeaderTricks(t *testing.T) {
	set := fixtures(t)
	genuine := set.Messages[pec.KindTransport]
	svc := "posta-certificata@" + sample.SenderDomain
	subject := headerOf(t, genuine, "Subject")
	date, err := mail.ParseDate(headerOf(t, genuine, "Date"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		msg  []byte
		ok   bool
		// field is the field named by the problem of a message not OK.
		field string
	}{
		{"second-subject", withField(genuine, "Subject", pec.SubjectTransport+"Pagamento immediato"), false, "Subject"},
		{"second-subject-last", withFieldLast(genuine, "Subject", pec.SubjectTransport+"Pagamento immediato"), false, "Subject"},
		{"second-from-last", withFieldLast(genuine, "From", `"Per conto di: ceo@pec.bigcorp.example" <`+svc+`>`), false, "From"},
		{"second-reply-to-last", withFieldLast(genuine, "Reply-To", "attacker@pec.altro.example"), false, "Reply-To"},
		{"second-subject-same", withField(genuine, "Subject", subject), true, ""},
		{"second-from", withField(genuine, "From", `"Per conto di: ceo@pec.bigcorp.example" <`+svc+`>`), false, "From"},
		{"second-date", withField(genuine, "Date", "Mon, 2 Jan 2006 15:04:05 +0100"), false, "Date"},
		{"second-to", withField(genuine, "To", "victim@pec.altro.example"), false, "To"},
		{"second-x-trasporto", withField(genuine, pec.HeaderTransport, "errore"), false, pec.HeaderTransport},
		{"from-name-address", setHeader(t, genuine, "From", `"ceo@pec.bigcorp.example" <`+svc+`>`), false, "From"},
		{"from-name-other", setHeader(t, genuine, "From", `"Agenzia delle Entrate" <`+svc+`>`), false, "From"},
		{"from-name-spaced", setHeader(t, genuine, "From", `"per  conto   di:   <`+strings.ToUpper(sample.Alice)+`>" <`+svc+`>`), true, ""},
		{"from-name-mittente", setHeader(t, genuine, "From", sample.Alice+" <"+svc+">"), true, ""},
		{"from-name-encoded-other", setHeader(t, genuine, "From", `"=?utf-8?q?Per_conto_di=3A_ceo=40pec=2Ebigcorp=2Eexample?=" <`+svc+`>`), false, "From"},
		{"from-name-unknown-charset", setHeader(t, genuine, "From", `=?x-unknown?q?ceo?= <`+svc+`>`), false, "From"},
		{"from-not-utf8", setHeader(t, genuine, "From", "\"\xc3\x28\xe0 Per conto di: ceo@pec.bigcorp.example\" <"+svc+">"), false, "From"},
		{"from-not-utf8-unparsed", setHeader(t, genuine, "From", "\xe0\xe0 Per conto di: ceo@pec.bigcorp.example <"+svc), false, "From"},
		{"sender-other", withField(genuine, "Sender", "ceo@pec.bigcorp.example"), false, "Sender"},
		{"sender-provider", withField(genuine, "Sender", svc), true, ""},
		{"reply-to-other", setHeader(t, genuine, "Reply-To", "attacker@pec.altro.example"), false, "Reply-To"},
		{"reply-to-name-other", setHeader(t, genuine, "Reply-To", `"ceo@pec.bigcorp.example" <`+sample.Alice+`>`), false, "Reply-To"},
		{"reply-to-mittente", setHeader(t, genuine, "Reply-To", `"Alice Rossi" <`+strings.ToUpper(sample.Alice)+`>`), true, ""},
		{"subject-unknown-charset-other", setHeader(t, genuine, "Subject", pec.SubjectTransport+"=?x-unknown?q?Contratto?= di pagamento"), false, "Subject"},
		{"subject-unknown-charset-same", setHeader(t, genuine, "Subject", pec.SubjectTransport+"=?x-unknown?q?Contratto?= di fornitura"), false, "Subject"},
		{"subject-language-tag", setHeader(t, genuine, "Subject", pec.SubjectTransport+"=?utf-8*it?q?Pagamento_immediato?="), false, "Subject"},
		{"subject-language-tag-same", setHeader(t, genuine, "Subject", pec.SubjectTransport+"=?utf-8*it?q?Contratto_di_fornitura?="), true, ""},
		{"subject-bare-cr", setHeader(t, genuine, "Subject", pec.SubjectTransport+"Contratto di\rfornitura"), false, "Subject"},
		{"bare-cr-in-another-field", withField(genuine, "X-Info", "a\rSubject: "+pec.SubjectTransport+"Pagamento immediato"), false, "X-Info"},
		{"nul", withField(genuine, "X-Info", "a\x00b"), false, "X-Info"},
		{"subject-unknown-charset-prefix", setHeader(t, genuine, "Subject", "=?x-unknown?q?POSTA_CERTIFICATA=3A_?=Contratto di fornitura"), false, "Subject"},
		{"subject-not-utf8", setHeader(t, genuine, "Subject", pec.SubjectTransport+"Contratto di fornitura \xe0\xe8"), false, "Subject"},
		{"to-name-other", setHeader(t, genuine, "To", `"boss@corp.example" <`+sample.Bob+`>`), false, "To"},
		{"to-unknown-charset", setHeader(t, genuine, "To", `=?x-unknown?q?Bob?= <victim@pec.altro.example>`), false, "To"},
		{"to-unparsed", setHeader(t, genuine, "To", `Bob <`+sample.Bob+`>, (comment victim@pec.altro.example`), true, ""},
		{"to-unparsed-other", setHeader(t, genuine, "To", `Bob <`+sample.Bob+`>, "unterminated <victim@pec.altro.example>`), false, "To"},
		{"to-quoted-local", setHeader(t, genuine, "To", `"bob"@`+sample.RecipientDomain), true, ""},
		{"to-group", setHeader(t, genuine, "To", `destinatari: `+sample.Bob+`;`), true, ""},
		{"to-many", setHeader(t, genuine, "To", strings.Repeat("victim@pec.altro.example, ", 5000)+sample.Bob), false, "To"},
		{"date-spaced-comment", setHeader(t, genuine, "Date", strings.Replace(headerOf(t, genuine, "Date"), " ", "  ", 2)+" (CET)"), true, ""},
		{"date-no-comma", setHeader(t, genuine, "Date", date.Format("Mon 02 Jan 2006 15:04:05 -0700")), true, ""},
		{"date-garbled", setHeader(t, genuine, "Date", "ieri sera"), false, "Date"},
		{"date-other-form", setHeader(t, genuine, "Date", date.AddDate(0, 0, 2).Format("Jan 2, 2006 15:04:05 -0700")), false, "Date"},
		{"date-colon-offset", setHeader(t, genuine, "Date", date.AddDate(0, 0, 2).Format("Mon, 2 Jan 2006 15:04:05 -07:00")), false, "Date"},
		{"date-far-zone", setHeader(t, genuine, "Date", otherZone(date, -13*time.Hour).Format(time.RFC1123Z)), false, "Date"},
		{"date-zone-name-est", setHeader(t, genuine, "Date", date.UTC().Format("Mon, 2 Jan 2006 15:04:05")+" EST"), false, "Date"},
		{"date-zone-name-gmt", setHeader(t, genuine, "Date", date.UTC().Format("Mon, 2 Jan 2006 15:04:05")+" GMT"), true, ""},
		{"date-zone-name-cet", setHeader(t, genuine, "Date", date.In(time.FixedZone("", 3600)).Format("Mon, 2 Jan 2006 15:04:05")+" CET"), true, ""},
		{"from-group", setHeader(t, genuine, "From", `"Per conto di: ceo@pec.bigcorp.example": `+svc+`;`), false, "From"},
		{"to-group-name-other", setHeader(t, genuine, "To", `"victim@pec.altro.example": `+sample.Bob+`;`), false, "To"},
		{"to-name-unknown-charset", setHeader(t, genuine, "To", `=?utf-8*it?q?victim=40pec=2Ealtro=2Eexample?= <`+sample.Bob+`>`), false, "To"},
		{"to-name-x-unknown", setHeader(t, genuine, "To", `=?x-unknown?q?victim?= <`+sample.Bob+`>`), false, "To"},
		{"to-name-fullwidth-at", setHeader(t, genuine, "To", `"victim＠pec.altro.example" <`+sample.Bob+`>`), false, "To"},
		{"bcc", withField(genuine, "Bcc", "victim@pec.altro.example"), false, "Bcc"},
		{"mail-reply-to-other", withField(genuine, "Mail-Reply-To", "attacker@pec.altro.example"), false, "Mail-Reply-To"},
		{"mail-followup-to-other", withField(genuine, "Mail-Followup-To", "attacker@pec.altro.example"), false, "Mail-Followup-To"},
		{"mail-followup-to-recipients", withField(genuine, "Mail-Followup-To", sample.Alice+", "+sample.Bob), true, ""},
		{"disposition-notification-other", withField(genuine, "Disposition-Notification-To", "attacker@pec.altro.example"), false, "Disposition-Notification-To"},
		{"disposition-notification-mittente", withField(genuine, "Disposition-Notification-To", sample.Alice), true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := envelope.Parse(bytes.NewReader(tc.msg), trusted(t, set))
			if err != nil {
				t.Fatal(err)
			}
			if !e.Signature.Intact {
				t.Fatal("the signature covers no header: it must stay intact")
			}
			if e.Sender() != sample.Alice || e.Subject() != set.Envelope.Subject {
				t.Errorf("accessors read the header: Sender %q Subject %q", e.Sender(), e.Subject())
			}
			if e.OK() != tc.ok {
				t.Fatalf("OK() = %v; problems %v", e.OK(), e.Problems)
			}
			if tc.ok {
				return
			}
			n := 0
			var pe *pec.ParseError
			for _, p := range e.Problems {
				if errors.Is(p, pec.ErrInconsistent) && errors.As(p, &pe) && strings.EqualFold(pe.Header, tc.field) {
					n++
				}
			}
			if n == 0 || n > 2 { // the field's value, and its repetition
				t.Errorf("%d problems naming %s, want 1 or 2: %v", n, tc.field, e.Problems)
			}
		})
	}
}

// TestUnsignedDateLocalZone checks that a Date with a zone name is read
// the same whatever the machine's local zone: the time package reads a
// name in the local zone when it knows it there, and as UTC otherwise.
func TestUnsignedDateLocalZone(t *testing.T) {
	set := fixtures(t)
	genuine := set.Messages[pec.KindTransport]
	date, err := mail.ParseDate(headerOf(t, genuine, "Date"))
	if err != nil {
		t.Fatal(err)
	}
	forged := setHeader(t, genuine, "Date", date.UTC().Format("Mon, 2 Jan 2006 15:04:05")+" EST")
	local := time.Local
	defer func() { time.Local = local }()
	for _, zone := range []string{"UTC", "America/New_York", "Europe/Rome"} {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		time.Local = loc
		e, err := envelope.Parse(bytes.NewReader(forged), trusted(t, set))
		if err != nil {
			t.Fatal(err)
		}
		if e.OK() {
			t.Errorf("local zone %s: a Date 5 hours off read as OK", zone)
		}
	}
}

// TestUnsignedSubjectForms builds genuine envelopes whose subjects real
// providers' headers write otherwise than daticert.xml: empty (the header
// line then ends with the prefix's colon), raw 8-bit Latin-1, Unicode
// decomposed (NFD). Each is OK.
func TestUnsignedSubjectForms(t *testing.T) {
	set := fixtures(t)
	for _, tc := range []struct {
		name, subject string
		header        func(string) string // the Subject header written, from the signed one
	}{
		{"empty", "", nil},
		{"empty-trimmed", "", func(string) string { return strings.TrimSpace(pec.SubjectTransport) }},
		{"latin1", "Verità sull'attività", func(s string) string {
			b, _ := charmap.ISO8859_1.NewEncoder().String(pec.SubjectTransport + s)
			return b
		}},
		{"nfd", "Verità sull'attività", func(s string) string { return pec.SubjectTransport + norm.NFD.String(s) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := *set.Envelope
			d.Subject = tc.subject
			d.ID = pec.NewMsgID(sample.SenderDomain, d.Time)
			orig := strings.Replace(sample.Original, "Subject: Contratto di fornitura\r\n", "Subject: "+tc.subject+"\r\n", 1)
			var b bytes.Buffer
			if err := envelope.Build(&b, strings.NewReader(orig), &d, set.Sender, nil); err != nil {
				t.Fatal(err)
			}
			msg := b.Bytes()
			if tc.header != nil {
				msg = setHeader(t, msg, "Subject", tc.header(tc.subject))
			}
			e, err := envelope.Parse(bytes.NewReader(msg), trusted(t, set))
			if err != nil {
				t.Fatal(err)
			}
			if !e.OK() || e.Subject() != tc.subject {
				t.Fatalf("OK %v, Subject %q; problems %v", e.OK(), e.Subject(), e.Problems)
			}
		})
	}
}

// TestUnsignedCopiedFromOriginal builds genuine envelopes of originals
// whose To, Cc, Reply-To and Subject are as senders' clients write them:
// display names that name other addresses, a charset this package cannot
// read. The envelope copies them (PEC.md §4), the signed original holds
// them as written: OK. The same text in an envelope whose original says
// otherwise is not.
func TestUnsignedCopiedFromOriginal(t *testing.T) {
	set := fixtures(t)
	for _, tc := range []struct{ name, field, value string }{
		{"to-name-address", "To", `"Bob Bianchi (bob.bianchi@gmail.example)" <` + sample.Bob + `>`},
		{"to-name-other", "To", `"info@azienda.example" <` + sample.Bob + `>`},
		{"cc-name-address", "Cc", `"Carol (carol@altro.example)" <` + sample.Carol + `>`},
		{"reply-to-name-address", "Reply-To", `"alice.rossi@gmail.example" <` + sample.Alice + `>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			orig := sample.Original
			i := strings.Index(orig, tc.field+": ")
			if i >= 0 {
				j := strings.Index(orig[i:], "\r\n")
				orig = orig[:i] + tc.field + ": " + tc.value + orig[i+j:]
			} else {
				orig = tc.field + ": " + tc.value + "\r\n" + orig
			}
			d := *set.Envelope
			d.ID = pec.NewMsgID(sample.SenderDomain, d.Time)
			var b bytes.Buffer
			if err := envelope.Build(&b, strings.NewReader(orig), &d, set.Sender, nil); err != nil {
				t.Fatal(err)
			}
			e, err := envelope.Parse(bytes.NewReader(b.Bytes()), trusted(t, set))
			if err != nil {
				t.Fatal(err)
			}
			if got := headerOf(t, b.Bytes(), tc.field); got != tc.value {
				t.Fatalf("the envelope's %s is %q, not the original's", tc.field, got)
			}
			if !e.OK() {
				t.Fatalf("a field copied from the signed original: not OK: %v", e.Problems)
			}
			f, err := envelope.Parse(bytes.NewReader(setHeader(t, set.Messages[pec.KindTransport], tc.field, tc.value)), trusted(t, set))
			if err != nil {
				t.Fatal(err)
			}
			if f.OK() {
				t.Fatalf("the same %s on an envelope whose original says otherwise: OK", tc.field)
			}
		})
	}
}

// FuzzUnsignedHeader puts any header on a genuine envelope's signed body:
// parsing never panics, and whatever the header says, the accessors give
// the signed facts and the signature stays intact.
func FuzzUnsignedHeader(f *testing.F) {
	set := fixtures(f)
	genuine := set.Messages[pec.KindTransport]
	i := bytes.Index(genuine, []byte("\r\n\r\n"))
	head, body := genuine[:i+2], genuine[i+2:]
	var mimeFields []byte
	for _, line := range strings.SplitAfter(string(head), "\r\n") {
		if strings.HasPrefix(strings.ToLower(line), "content-type:") || strings.HasPrefix(strings.ToLower(line), "mime-version:") ||
			(len(mimeFields) > 0 && (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")) && !bytes.HasSuffix(mimeFields, []byte("\r\n\r\n"))) {
			mimeFields = append(mimeFields, line...)
		}
	}
	f.Add(head)
	f.Add([]byte("From: \xc3\x28\xe0 Per conto di: x@y <" + sample.Alice + "\r\nSubject: =?x?q?a?= =?utf-8?q?b?=\r\n"))
	f.Add([]byte("To: a, (b, \"c <d@e>, =?utf-8?b?ZEBl?= <f@g>;\r\nDate: Mon,  2 Jan 2006 15:04:05 +0100 (CET)\r\n"))
	f.Add([]byte("Subject: =?a?q?" + strings.Repeat("x=?a?q?", 200) + "\r\nReply-To: \"x@y\" <" + sample.Alice + ">\r\n"))
	opts := trusted(f, set)
	f.Fuzz(func(t *testing.T, h []byte) {
		if bytes.Contains(h, []byte("\r\n\r\n")) || bytes.Contains(h, []byte("\n\n")) {
			return // the header would end early: another test
		}
		msg := append(append(append([]byte{}, h...), mimeFields...), body...)
		e, err := envelope.Parse(bytes.NewReader(msg), opts)
		if err != nil || e.Signature == nil || !e.Signature.Intact || e.Data == nil {
			return
		}
		if e.Sender() != sample.Alice || e.Subject() != set.Envelope.Subject || !e.Data.Time.Equal(set.Envelope.Time.Truncate(time.Second)) {
			t.Fatalf("the header changed a signed fact: Sender %q Subject %q Time %v", e.Sender(), e.Subject(), e.Data.Time)
		}
	})
}
