package web

import (
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/pec"
)

// page is what every page's template needs.
type page struct {
	Lang  string // "it" or "en"
	Query string // "?lang=xx" when chosen by the URL, else ""
	CSRF  string // the form token
	User  string // the holder logged in; "" on the login page
	T     map[string]string
}

// langOf picks the language: ?lang=, else Accept-Language, else Italian.
func langOf(r *http.Request) (lang string, explicit bool) {
	switch q := r.URL.Query().Get("lang"); q {
	case "it", "en":
		return q, true
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag := strings.ToLower(strings.TrimSpace(strings.SplitN(part, ";", 2)[0]))
		switch {
		case tag == "it" || strings.HasPrefix(tag, "it-"):
			return "it", false
		case tag == "en" || strings.HasPrefix(tag, "en-"):
			return "en", false
		}
	}
	return "it", false
}

// langQuery returns "?lang=xx" when the request chose its language by URL.
func langQuery(r *http.Request) string {
	if l, ok := langOf(r); ok {
		return "?lang=" + l
	}
	return ""
}

func urlEscape(s string) string { return url.QueryEscape(s) }

func (s *Server) page(r *http.Request, csrf, user string) page {
	l, _ := langOf(r)
	return page{Lang: l, Query: langQuery(r), CSRF: csrf, User: user, T: texts[l]}
}

// texts are the labels of the pages, per language.
var texts = map[string]map[string]string{
	"it": {
		"title": "Posta certificata", "login": "Accedi", "logout": "Esci", "user": "Indirizzo PEC",
		"password": "Password", "badlogin": "Indirizzo o password errati.",
		"messages": "Messaggi", "inbox": "Ricevuti", "sent": "Inviati", "date": "Data", "kind": "Tipo",
		"subject": "Oggetto", "from": "Da", "to": "A", "folder": "Cartella", "none": "Nessun messaggio.",
		"quota": "Spazio usato", "of": "su", "unlimited": "senza limite", "timeline": "Esito per destinatario",
		"recipient": "Destinatario", "state": "Stato", "steps": "Ricevute", "receipt": "ricevuta (.eml)",
		"noreceipt": "nessuna ricevuta finora", "back": "Tutti i messaggi", "reason": "motivo",
		"notracked": "Messaggio non trovato.", "problems": "Anomalie", "provider": "gestore",
		"copy": "in copia", "outcome": "Esito", "overdue": "in ritardo: manca una ricevuta che il gestore doveva emettere entro 24 ore", "sentmsg": "messaggio inviato",
	},
	"en": {
		"title": "Certified mail", "login": "Log in", "logout": "Log out", "user": "PEC address",
		"password": "Password", "badlogin": "Wrong address or password.",
		"messages": "Messages", "inbox": "Inbox", "sent": "Sent", "date": "Date", "kind": "Kind",
		"subject": "Subject", "from": "From", "to": "To", "folder": "Folder", "none": "No messages.",
		"quota": "Space used", "of": "of", "unlimited": "no limit", "timeline": "Outcome per recipient",
		"recipient": "Recipient", "state": "State", "steps": "Receipts", "receipt": "receipt (.eml)",
		"noreceipt": "no receipt yet", "back": "All messages", "reason": "reason",
		"notracked": "Message not found.", "problems": "Anomalies", "provider": "provider",
		"copy": "copy", "outcome": "Outcome", "overdue": "overdue: a receipt the providers owed within 24 hours has not come", "sentmsg": "sent message",
	},
}

// kindWords name each kind of PEC message (PEC.md §5), in Italian and English.
var kindWords = map[pec.Kind][2]string{
	pec.KindUnknown:            {"posta ordinaria", "ordinary mail"},
	pec.KindTransport:          {"messaggio PEC (busta di trasporto)", "PEC message (transport envelope)"},
	pec.KindAnomaly:            {"messaggio con anomalia", "message with an anomaly"},
	pec.KindAcceptance:         {"ricevuta di accettazione", "acceptance receipt"},
	pec.KindNonAcceptance:      {"avviso di non accettazione", "non-acceptance notice"},
	pec.KindNonAcceptanceVirus: {"non accettazione per virus", "non-acceptance: virus"},
	pec.KindTakeInCharge:       {"ricevuta di presa in carico", "taken-in-charge receipt"},
	pec.KindDelivery:           {"ricevuta di avvenuta consegna", "delivery receipt"},
	pec.KindDeliveryShort:      {"ricevuta di consegna breve", "short delivery receipt"},
	pec.KindDeliverySummary:    {"ricevuta di consegna sintetica", "summary delivery receipt"},
	pec.KindDeliveryError:      {"avviso di mancata consegna", "non-delivery notice"},
	pec.KindVirusDetected:      {"avviso di rilevazione virus", "virus detected notice"},
	pec.KindDeliveryErrorVirus: {"mancata consegna per virus", "non-delivery: virus"},
	pec.KindDeliveryTimeout12h: {"preavviso di mancata consegna (12 ore)", "delivery warning (12 hours)"},
	pec.KindDeliveryTimeout24h: {"mancata consegna nei tempi (24 ore)", "not delivered in time (24 hours)"},
}

// stateWords name each recipient state (PEC.md §15.4).
var stateWords = map[client.State][2]string{
	client.StateSubmitted:          {"inviato, nessuna ricevuta", "sent, no receipt yet"},
	client.StateAccepted:           {"accettato", "accepted"},
	client.StateSentToOrdinaryMail: {"inviato a posta ordinaria (nessuna ricevuta di consegna)", "sent to ordinary mail (no delivery receipt)"},
	client.StateTakenInCharge:      {"preso in carico", "taken in charge"},
	client.StateDelayed:            {"in ritardo (12 ore)", "delayed (12 hours)"},
	client.StateTimedOut:           {"non consegnato nei tempi", "timed out"},
	client.StateRejected:           {"non accettato", "rejected"},
	client.StateNotDelivered:       {"non consegnato", "not delivered"},
	client.StateVirus:              {"virus rilevato", "virus found"},
	client.StateDelivered:          {"consegnato", "delivered"},
}

func pick(w [2]string, lang string) string {
	if lang == "en" {
		return w[1]
	}
	return w[0]
}

// stateClass is the CSS class of a state: ok, fail, wait or info.
func stateClass(st client.State) string {
	switch st {
	case client.StateDelivered:
		return "ok"
	case client.StateNotDelivered, client.StateVirus, client.StateRejected, client.StateTimedOut:
		return "fail"
	case client.StateSentToOrdinaryMail:
		return "info"
	}
	return "wait"
}

// rome is the time zone the dates are shown in: Italian time, or UTC
// where the zone database is missing.
var rome = func() *time.Location {
	l, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		return time.UTC
	}
	return l
}()

var funcs = template.FuncMap{
	"date": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(rome).Format("02/01/2006 15:04:05 MST")
	},
	"kind": func(k pec.Kind, lang string) string {
		if w, ok := kindWords[k]; ok {
			return pick(w, lang)
		}
		return k.String()
	},
	"state": func(st client.State, lang string) string {
		if w, ok := stateWords[st]; ok {
			return pick(w, lang)
		}
		return st.String()
	},
	"stateClass": stateClass,
	"size":       size,
}

// size writes a byte count in a readable unit.
func size(n int64) string {
	const unit = 1000
	if n < unit {
		return itoa(n) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	whole := n / div
	tenth := (n % div) * 10 / div
	return itoa(whole) + "." + itoa(tenth) + " " + string("kMGTP"[exp]) + "B"
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// errorWords name each errore code (PEC.md §8.1).
var errorWords = map[pec.ErrorCode][2]string{
	pec.ErrorNoDest:   {"casella inesistente", "no such mailbox"},
	pec.ErrorNoDomain: {"dominio inesistente", "no such domain"},
	pec.ErrorVirus:    {"virus rilevato", "virus found"},
	pec.ErrorOther:    {"altro errore", "other error"},
}

// reason says in words why a notice reports a failure: its errore code,
// then the provider's own text (errore-esteso), verbatim.
func reason(e *pec.Error, lang string) string {
	if e == nil {
		return ""
	}
	w, ok := errorWords[e.Code]
	if !ok {
		w = errorWords[pec.ErrorOther]
	}
	s := pick(w, lang)
	if ext := strings.TrimSpace(e.Extended); ext != "" {
		s += " (" + ext + ")"
	}
	return s
}
