package pec

import (
	"html"
	"strings"
	"time"
)

// TextData holds the values that the human-readable body of a PEC message
// shows (PEC.md §6, "Body text variables").
type TextData struct {
	Time       time.Time   // the temporal reference of the event
	Subject    string      // subject of the original message
	Sender     string      // original sender
	Recipients []Recipient // every To and Cc recipient of the original
	Recipient  string      // the one recipient concerned (consegna), when there is one
	Error      string      // short description of the error, for notices of failure
	ID         string      // PEC msgid (identificativo) of the transport envelope
}

// Recipient is an address with its certificato/esterno classification.
type Recipient struct {
	Address string
	Type    RecipientType
}

// Body texts (PEC.md §6.1–§6.11). The wording follows the texts in use by
// Italian providers; the variables are filled in by Text.
const (
	textTitleTransport   = "Messaggio di posta certificata"
	textTitleAnomaly     = "Anomalia nel messaggio"
	textTitleAcceptance  = "Ricevuta di accettazione"
	textTitleNonAccept   = "Avviso di non accettazione"
	textTitleTakeCharge  = "Ricevuta di presa in carico"
	textTitleDelivery    = "Ricevuta di avvenuta consegna"
	textTitleDeliveryErr = "Avviso di mancata consegna"
	textTitleVirus       = "Problema di sicurezza"
	textTitleTimeout     = "Avviso di mancata consegna per superamento dei tempi massimi"

	// TextTimeout12h and TextTimeout24h tell the two timeout notices apart
	// (they share headers and certification data, PEC.md §5 notes).
	TextTimeout12h = "entro le prime 12 ore"
	TextTimeout24h = "entro 24 ore"

	textCertified = "posta certificata"
	textOrdinary  = "posta ordinaria"
	textCertLine  = "Identificativo messaggio: "
)

// Text returns the plain-text body of a message of kind k, with CRLF line
// endings. The last line names the PEC msgid (PEC.md §6, common rules).
func Text(k Kind, d *TextData) string {
	day, clock, zone := FormatDate(d.Time)
	when := "Il giorno " + day + " alle ore " + clock + " (" + zone + ")"
	subj := "\"" + d.Subject + "\""
	from := "\"" + d.Sender + "\""
	var b strings.Builder
	line := func(s ...string) {
		for _, x := range s {
			b.WriteString(x)
		}
		b.WriteString("\r\n")
	}
	list := func(withType bool) {
		for _, r := range d.Recipients {
			if withType {
				t := textCertified
				if r.Type == RecipientExternal {
					t = textOrdinary
				}
				line("\"", r.Address, "\" (\"", t, "\")")
			} else {
				line(r.Address)
			}
		}
	}
	switch k {
	case KindTransport:
		line(textTitleTransport)
		line("")
		line(when, " il messaggio")
		line(subj, " è stato inviato da ", from)
		line("indirizzato a:")
		list(false)
		line("Il messaggio originale è incluso in allegato.")
	case KindAnomaly:
		line(textTitleAnomaly)
		line("")
		line(when, " è stato ricevuto")
		line("il messaggio ", subj, " proveniente da ", from)
		line("indirizzato a:")
		list(false)
		line("Tali dati non sono stati certificati per il seguente errore:")
		line(d.Error)
		line("Il messaggio originale è incluso in allegato.")
	case KindAcceptance:
		line(textTitleAcceptance)
		line("")
		line(when, " il messaggio")
		line(subj, " proveniente da ", from)
		line("ed indirizzato a:")
		list(true)
		line("è stato accettato dal sistema ed inoltrato.")
	case KindNonAcceptance, KindNonAcceptanceVirus:
		line(textTitleNonAccept)
		line("")
		line(when, " nel messaggio")
		line(subj, " proveniente da ", from)
		line("ed indirizzato a:")
		list(false)
		if k == KindNonAcceptanceVirus {
			line("è stato rilevato un problema di sicurezza (", d.Error, ").")
		} else {
			line("è stato rilevato un problema che ne impedisce l'accettazione")
			line("a causa di: ", d.Error)
		}
		line("Il messaggio non è stato accettato.")
	case KindTakeInCharge:
		line(textTitleTakeCharge)
		line("")
		line(when, " il messaggio")
		line(subj, " proveniente da ", from)
		line("ed indirizzato a:")
		list(false)
		line("è stato accettato dal sistema.")
	case KindDelivery, KindDeliveryShort, KindDeliverySummary:
		line(textTitleDelivery)
		line("")
		line(when, " il messaggio")
		line(subj, " proveniente da ", from)
		line("ed indirizzato a ", "\"", d.Recipient, "\"")
		line("è stato consegnato nella casella di destinazione.")
	case KindDeliveryError:
		line(textTitleDeliveryErr)
		line("")
		line(when, " nel messaggio")
		line(subj, " proveniente da ", from)
		line("ed indirizzato a ", "\"", d.Recipient, "\"")
		line("è stato rilevato un errore: ", d.Error)
		line("Il messaggio è stato rifiutato dal sistema.")
	case KindVirusDetected, KindDeliveryErrorVirus:
		if k == KindVirusDetected {
			line(textTitleVirus)
		} else {
			line(textTitleDeliveryErr)
		}
		line("")
		line(when, " nel messaggio")
		line(subj, " proveniente da ", from)
		line("ed indirizzato a ", "\"", d.Recipient, "\"")
		line("è stato rilevato un problema di sicurezza (", d.Error, ").")
		line("Il messaggio non è stato consegnato.")
	case KindDeliveryTimeout12h:
		line(textTitleTimeout)
		line("")
		line(when, " il messaggio")
		line(subj, " proveniente da ", from)
		line("ed indirizzato a ", "\"", d.Recipient, "\"")
		line("non è stato consegnato ", TextTimeout12h, " dal suo invio.")
		line("Il messaggio potrebbe ancora essere consegnato, ma non è possibile garantirlo;")
		line("se non perverrà la ricevuta di consegna nelle prossime 12 ore seguirà un ulteriore avviso.")
	case KindDeliveryTimeout24h:
		line(textTitleTimeout)
		line("")
		line(when, " il messaggio")
		line(subj, " proveniente da ", from)
		line("ed indirizzato a ", "\"", d.Recipient, "\"")
		line("non è stato consegnato ", TextTimeout24h, " dal suo invio.")
		line("La transazione si considera conclusa con esito negativo.")
	default:
		line(when, " messaggio ", subj, " proveniente da ", from)
	}
	line(textCertLine, d.ID)
	return b.String()
}

// TimeoutKind tells the 12 h and the 24 h timeout notices apart from their
// body text: KindDeliveryTimeout24h when the text speaks of 24 hours without
// the "first 12 hours" wording, KindDeliveryTimeout12h otherwise. quoted
// are the values the text quotes from the message it concerns (its
// subject, sender and recipient, from the signed daticert.xml): they are
// removed before the wording is read, so that a subject such as "pagare
// entro le prime 12 ore" cannot turn a final notice into a warning.
func TimeoutKind(text string, quoted ...string) Kind {
	t := strings.ToLower(strings.Join(strings.Fields(text), " "))
	for _, q := range quoted {
		if q = strings.ToLower(strings.Join(strings.Fields(q), " ")); q != "" {
			t = strings.ReplaceAll(t, q, " ")
		}
	}
	if strings.Contains(t, TextTimeout12h) || strings.Contains(t, "12 ore") && !strings.Contains(t, "24 ore") {
		return KindDeliveryTimeout12h
	}
	if strings.Contains(t, "24 ore") || strings.Contains(t, "24 hours") {
		return KindDeliveryTimeout24h
	}
	return KindDeliveryTimeout12h
}

// HTML returns the HTML alternative of Text: the same information, with no
// references to images, fonts or style sheets and no active content
// (PEC.md §7.1).
func HTML(k Kind, d *TextData) string {
	var b strings.Builder
	b.WriteString("<html><body>\r\n")
	for i, l := range strings.Split(strings.TrimRight(Text(k, d), "\r\n"), "\r\n") {
		switch {
		case i == 0:
			b.WriteString("<h3>" + html.EscapeString(l) + "</h3>\r\n")
		case l == "":
		default:
			b.WriteString("<p>" + html.EscapeString(l) + "</p>\r\n")
		}
	}
	b.WriteString("</body></html>\r\n")
	return b.String()
}
