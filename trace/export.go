package trace

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/pecsdk/pec/pec"
)

// Line returns r in the de facto line format of provider logs (PEC.md
// §14.3), from the PEC msgid on: colon-space separated key=value fields,
//
//	<PEC msgid>: [queueid=<id>: ]tipo=<X-Ricevuta or X-Trasporto value> (<Label>): mittente=<addr>:
//	destinatari=<addr> (certificato|esterno)[, …]: oggetto=<subject>: message-id=<id>: gestore=<provider>
//	[: tipo_ricevuta=<type>][: consegna=<addr>|: ricezione=<addr>][: errore=<code>][: virus=<name>|: errore-esteso=<text>]
//
// on one line (line breaks in values become spaces). The label is the
// Event; tipo is empty for an anomaly envelope and for events that emit
// no message. A record without a PEC msgid (an anomaly) starts with the
// client's Message-ID. WriteLog adds the syslog prefix.
func (r *Record) Line() string {
	var b strings.Builder
	field := func(k, v string) {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		if k != "" {
			b.WriteString(k)
			b.WriteByte('=')
		}
		b.WriteString(oneLine(v))
	}
	id := r.MsgID
	if id == "" {
		id = r.ClientMsgID
	}
	field("", id)
	if r.QueueID != "" {
		field("queueid", r.QueueID)
	}
	field("tipo", tipo(r.Kind)+" ("+string(r.Event)+")")
	field("mittente", r.Sender)
	var rc []string
	for _, x := range r.Recipients {
		if x.Type != "" {
			rc = append(rc, x.Address+" ("+string(x.Type)+")")
		} else {
			rc = append(rc, x.Address)
		}
	}
	field("destinatari", strings.Join(rc, ", "))
	field("oggetto", r.Subject)
	field("message-id", strings.Join(r.Generated, ", "))
	field("gestore", r.Provider)
	if r.ReceiptType != "" {
		field("tipo_ricevuta", string(r.ReceiptType))
	}
	switch {
	case r.Delivery != "":
		field("consegna", r.Delivery)
	case r.Reception != "":
		field("ricezione", r.Reception)
	}
	if r.Error != "" && r.Error != pec.ErrorNone {
		field("errore", string(r.Error))
	}
	switch {
	case r.Virus != "":
		field("virus", r.Virus)
	case r.ErrorExtended != "":
		field("errore-esteso", r.ErrorExtended)
	}
	return b.String()
}

// tipo is the X-Ricevuta or X-Trasporto value of a kind, "" for the
// anomaly envelope (PEC.md §14.3) and for no kind.
func tipo(k pec.Kind) string {
	switch {
	case k == pec.KindAnomaly || !k.Valid():
		return ""
	case k.IsEnvelope():
		return string(k.Transport())
	}
	return string(k.Notice())
}

func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Join(strings.FieldsFunc(s, func(c rune) bool { return c == '\r' || c == '\n' }), " ")
}

// LogOptions configures WriteLog. A nil *LogOptions selects the defaults.
type LogOptions struct {
	Host    string // the host name of the syslog prefix; "" means "-"
	Program string // the program name; "" means "pec"
	PID     int    // the process id in brackets; zero means 0
}

// italianMonths are the month abbreviations of the log lines (PEC.md §14.3).
var italianMonths = [...]string{"gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic"}

// WriteLog writes each record as one line of the de facto provider log
// format (PEC.md §14.3): the syslog-style prefix, with the time in Italian
// legal time (<mon dd hh:mm:ss yyyy> <host> <program> [<pid>]:), then
// Record.Line.
func WriteLog(w io.Writer, opts *LogOptions, recs ...*Record) error {
	var o LogOptions
	if opts != nil {
		o = *opts
	}
	if o.Host == "" {
		o.Host = "-"
	}
	if o.Program == "" {
		o.Program = "pec"
	}
	bw := bufio.NewWriter(w)
	for _, r := range recs {
		t := pec.Local(r.Time)
		fmt.Fprintf(bw, "%s %2d %s %d %s %s [%d]: %s\n", italianMonths[t.Month()-1], t.Day(), t.Format("15:04:05"), t.Year(),
			o.Host, o.Program, o.PID, r.Line())
	}
	return bw.Flush()
}
