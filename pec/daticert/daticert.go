package daticert

import (
	"time"

	"github.com/pecsdk/pec/pec"
)

// MaxSize is the largest daticert.xml Parse and Unmarshal accept, in bytes.
// Real files are under 2 KiB; the limit only bounds hostile input.
const MaxSize = 1 << 20

// MaxDepth is the deepest element nesting Parse and Unmarshal accept. The
// DTD needs 4 levels (postacert > dati > data > giorno); unknown elements
// may nest further, up to this limit.
const MaxDepth = 32

// Data is the certification data of a PEC message: the postacert root of
// daticert.xml (PEC.md §8.1, RFC 6109 §4.4).
//
// Parse reports the DTD defaults explicitly: an absent errore reads as
// pec.ErrorNone and an absent destinatari tipo as pec.RecipientCertified.
// When building, the empty values of Error and Recipient.Type stand for
// those defaults, and Marshal writes them out.
type Data struct {
	Type          pec.CertType    // postacert/@tipo (required)
	Error         pec.ErrorCode   // postacert/@errore; "" means the default "nessuno"
	Sender        string          // intestazione/mittente
	Recipients    []Recipient     // intestazione/destinatari (1..n), To and Cc
	ReplyTo       string          // intestazione/risposte
	Subject       string          // intestazione/oggetto (emitted always, even empty)
	Provider      string          // dati/gestore-emittente
	Time          time.Time       // dati/data: parsed with a fixed zone of the given offset, marshalled in Italian legal time
	ID            string          // dati/identificativo (PEC msgid, no brackets)
	MsgID         string          // dati/msgid, as written (normally with <>); "" = absent
	ReceiptType   pec.ReceiptType // dati/ricevuta/@tipo; "" = absent
	Delivery      string          // dati/consegna; "" = absent
	Receipts      []string        // dati/ricezione (0..n)
	ExtendedError string          // dati/errore-esteso; "" = absent

	// Repairs lists what Unmarshal mended to read a daticert.xml that is
	// not well-formed XML (a control character replaced by U+FFFD, a bare
	// "&" escaped, bytes not in the declared encoding); nil when it was
	// well-formed. It is not part of the XML: Marshal ignores it.
	Repairs []string
}

// Recipient is one intestazione/destinatari element: an address of the To or
// Cc field of the original message and its type, "" meaning the default
// pec.RecipientCertified. It is the pec.Recipient of the body texts, so a
// recipient list moves between the two without conversion.
type Recipient = pec.Recipient

// RecipientsOfType returns the addresses of the recipients of type t, in
// document order. An empty type, in t or in a recipient, means
// pec.RecipientCertified.
func (d *Data) RecipientsOfType(t pec.RecipientType) []string {
	if d == nil {
		return nil
	}
	t = recipientType(t)
	var out []string
	for _, r := range d.Recipients {
		if recipientType(r.Type) == t {
			out = append(out, r.Address)
		}
	}
	return out
}

// recipientType returns t, or the DTD default for an empty t.
func recipientType(t pec.RecipientType) pec.RecipientType {
	if t == "" {
		return pec.RecipientCertified
	}
	return t
}

// errorCode returns c, or the DTD default for an empty c.
func errorCode(c pec.ErrorCode) pec.ErrorCode {
	if c == "" {
		return pec.ErrorNone
	}
	return c
}

// Element and attribute names of daticert.xml (daticert.dtd, PEC.md §8.1).
const (
	elRoot          = "postacert"
	elHeader        = "intestazione"
	elSender        = "mittente"
	elRecipient     = "destinatari"
	elReplyTo       = "risposte"
	elSubject       = "oggetto"
	elData          = "dati"
	elProvider      = "gestore-emittente"
	elDate          = "data"
	elDay           = "giorno"
	elClock         = "ora"
	elID            = "identificativo"
	elMsgID         = "msgid"
	elReceipt       = "ricevuta"
	elDelivery      = "consegna"
	elReception     = "ricezione"
	elExtendedErr   = "errore-esteso"
	attrType        = "tipo"
	attrError       = "errore"
	attrZone        = "zona"
	pathHeader      = elHeader
	pathSender      = elHeader + "/" + elSender
	pathRecipient   = elHeader + "/" + elRecipient
	pathReplyTo     = elHeader + "/" + elReplyTo
	pathSubject     = elHeader + "/" + elSubject
	pathData        = elData
	pathProvider    = elData + "/" + elProvider
	pathDate        = elData + "/" + elDate
	pathDay         = pathDate + "/" + elDay
	pathClock       = pathDate + "/" + elClock
	pathID          = elData + "/" + elID
	pathMsgID       = elData + "/" + elMsgID
	pathReceipt     = elData + "/" + elReceipt
	pathDelivery    = elData + "/" + elDelivery
	pathReception   = elData + "/" + elReception
	pathExtendedErr = elData + "/" + elExtendedErr
)
