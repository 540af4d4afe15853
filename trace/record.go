package trace

import (
	"crypto/sha256"
	"time"

	"github.com/pecsdk/pec/pec"
)

// Point is the provider component that recorded an event (PEC.md §3.1).
type Point string

// The provider points.
const (
	PointAccess   Point = "AP" // punto di accesso: submission by the provider's own users
	PointIncoming Point = "PR" // punto di ricezione: messages from other providers
	PointDelivery Point = "PC" // punto di consegna: delivery into mailboxes
)

// Event is what happened. Its values are the labels of the de facto provider
// log line format (PEC.md §14.3), plus the events that generate no message.
type Event string

// The events. Each catalogue kind maps to one (KindEvent); the three
// delivery receipt kinds share EventDelivery and differ by ReceiptType.
const (
	EventAcceptance         Event = "Accettazione"         // ricevuta di accettazione emitted
	EventNonAcceptance      Event = "NonAccettazione"      // avviso di non accettazione
	EventNonAcceptanceVirus Event = "NonAccettazioneVirus" // non accettazione per virus
	EventTransport          Event = "BustaTrasporto"       // transport envelope emitted
	EventTakenInCharge      Event = "PresaInCarico"        // ricevuta di presa in carico
	EventDelivery           Event = "Consegna"             // ricevuta di avvenuta consegna
	EventNonDelivery        Event = "MancataConsegna"      // avviso di mancata consegna
	EventNonDeliveryVirus   Event = "MancataConsegnaVirus" // mancata consegna per virus
	EventTimeout12h         Event = "MancataConsegna12h"   // preavviso di mancata consegna (12 h)
	EventTimeout24h         Event = "MancataConsegna24h"   // mancata consegna per superamento tempi (24 h)
	EventVirusDetected      Event = "RilevazioneVirus"     // avviso di rilevazione virus
	EventAnomaly            Event = "BustaAnomalia"        // anomaly envelope emitted
	EventReceived           Event = "Ricezione"            // a message received from outside
	EventDelivered          Event = "Recapito"             // a message placed in a mailbox
	EventForwarded          Event = "Inoltro"              // a message handed to another provider or ordinary mail
)

// Events returns every Event, in declaration order: a new slice at each
// call, which the caller may keep or change.
func Events() []Event {
	return []Event{
		EventAcceptance, EventNonAcceptance, EventNonAcceptanceVirus, EventTransport,
		EventTakenInCharge, EventDelivery, EventNonDelivery, EventNonDeliveryVirus,
		EventTimeout12h, EventTimeout24h, EventVirusDetected, EventAnomaly,
		EventReceived, EventDelivered, EventForwarded,
	}
}

// Valid reports whether e is one of the events declared above.
func (e Event) Valid() bool {
	switch e {
	case EventAcceptance, EventNonAcceptance, EventNonAcceptanceVirus, EventTransport,
		EventTakenInCharge, EventDelivery, EventNonDelivery, EventNonDeliveryVirus,
		EventTimeout12h, EventTimeout24h, EventVirusDetected, EventAnomaly,
		EventReceived, EventDelivered, EventForwarded:
		return true
	}
	return false
}

// Valid reports whether p is one of the three points.
func (p Point) Valid() bool {
	return p == PointAccess || p == PointIncoming || p == PointDelivery
}

// KindEvent returns the event of emitting a message of kind k, or "" when k
// is not a catalogue kind.
func KindEvent(k pec.Kind) Event {
	switch {
	case k == pec.KindTransport:
		return EventTransport
	case k == pec.KindAnomaly:
		return EventAnomaly
	case k == pec.KindAcceptance:
		return EventAcceptance
	case k == pec.KindNonAcceptance:
		return EventNonAcceptance
	case k == pec.KindNonAcceptanceVirus:
		return EventNonAcceptanceVirus
	case k == pec.KindTakeInCharge:
		return EventTakenInCharge
	case k.IsDelivery():
		return EventDelivery
	case k == pec.KindDeliveryError:
		return EventNonDelivery
	case k == pec.KindDeliveryErrorVirus:
		return EventNonDeliveryVirus
	case k == pec.KindVirusDetected:
		return EventVirusDetected
	case k == pec.KindDeliveryTimeout12h:
		return EventTimeout12h
	case k == pec.KindDeliveryTimeout24h:
		return EventTimeout24h
	}
	return ""
}

// Hash is a SHA-256 digest: a record's hash, the chain head.
type Hash [sha256.Size]byte

// IsZero reports whether h is all zeros (the Prev of the first record).
func (h Hash) IsZero() bool { return h == Hash{} }

// Record is one event of the log, with every field PEC.md §14.1 requires and
// every datum a receipt carries, so that a lost receipt can be re-issued.
//
// Seq, Prev and Hash are assigned by Store.Append; the rest is the caller's.
type Record struct {
	Seq  uint64    // position in the log, from 1, contiguous; set by Append
	Time time.Time // the event's temporal reference (PEC.md §10.1)

	Point Point    // the provider component that recorded it
	Event Event    // what happened
	Kind  pec.Kind // kind of the message generated, when one was (else pec.KindUnknown)

	MsgID       string          // provider message identifier: the PEC msgid of the transport envelope (PEC.md §9), without brackets
	ClientMsgID string          // the Message-ID the user's client gave the original, without brackets
	Sender      string          // sender of the original (mittente)
	Recipients  []pec.Recipient // recipients of the original (destinatari), with certificato/esterno
	Subject     string          // subject of the original
	Provider    string          // the emitting provider (gestore-emittente)
	Generated   []string        // Message-IDs of the messages generated (receipts, envelopes), without brackets

	ReceiptType   pec.ReceiptType // requested delivery receipt type, for deliveries
	Delivery      string          // consegna: the recipient a delivery outcome is about
	Reception     string          // ricezione: the recipient a taking-charge receipt is about (several separated by ", ")
	Error         pec.ErrorCode   // errore, for failures ("" when none)
	ErrorExtended string          // errore-esteso
	Virus         string          // name of the virus found, when one was
	QueueID       string          // the MTA queue identifier, when known

	// Message is the signed bytes of the receipt or notice emitted, exactly
	// as sent, when the log keeps them inline. MessageRef names them when
	// they are kept elsewhere (a content-addressed file, an object key);
	// MessageHash is then their SHA-256, chained like every other field, so
	// that the reference cannot be swapped. A record that keeps a message
	// (by any of the three) is the record of emitting that one message:
	// Generated lists its Message-ID alone, and inline bytes whose header
	// names another Message-ID are refused (Validate, Keeps).
	Message     []byte
	MessageRef  string
	MessageHash Hash

	Prev Hash // hash of the record before (zero for the first); set by Append
	Hash Hash // this record's hash over Prev and every field above; set by Append
}

// Clone returns a deep copy of r: stores keep and hand out copies, so that
// a caller changing a record it appended or got cannot change the log.
func (r *Record) Clone() *Record {
	c := *r
	if r.Recipients != nil {
		c.Recipients = append([]pec.Recipient(nil), r.Recipients...)
	}
	if r.Generated != nil {
		c.Generated = append([]string(nil), r.Generated...)
	}
	if r.Message != nil {
		c.Message = append([]byte(nil), r.Message...)
	}
	return &c
}
