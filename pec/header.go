package pec

import "strings"

// Header field names specific to PEC (PEC.md §4, RFC 6109 §2.1.1, registered
// as provisional IANA message headers). Parse them case-insensitively.
const (
	HeaderTransport      = "X-Trasporto"              // envelopes (§6.1, §6.2)
	HeaderReceipt        = "X-Ricevuta"               // every notification (§6.3–§6.11)
	HeaderReference      = "X-Riferimento-Message-ID" // the client msgid (§9)
	HeaderReceiptType    = "X-TipoRicevuta"           // requested delivery receipt type (§6.7)
	HeaderSecurityCheck  = "X-VerificaSicurezza"      // virus notices (§6.5, §6.10)
	HeaderOriginalSender = "X-Mittente"               // rilevazione-virus only (§6.9)
)

// SecurityCheckError is the only value of X-VerificaSicurezza (PEC.md §4).
const SecurityCheckError = "errore"

// Names of the MIME parts of a PEC message (PEC.md §7.1, §17 item 1).
const (
	CertDataName     = "daticert.xml"      // certification data part
	OriginalName     = "postacert.eml"     // original message part
	SignatureName    = "smime.p7s"         // detached signature part
	HashSuffix       = ".hash"             // suffix of attachments replaced in a breve receipt (§6.7)
	EnvelopeFromName = "Per conto di: "    // display-name prefix of envelope From (§4, §17 item 2)
	ServiceLocalPart = "posta-certificata" // conventional local part of a provider's service address
)

// Transport is a value of the X-Trasporto header (PEC.md §4).
type Transport string

// Values of X-Trasporto.
const (
	TransportCertified Transport = "posta-certificata" // transport envelope
	TransportError     Transport = "errore"            // anomaly envelope
)

// Notice is a value of the X-Ricevuta header (PEC.md §4).
type Notice string

// Values of X-Ricevuta.
const (
	NoticeAcceptance      Notice = "accettazione"
	NoticeNonAcceptance   Notice = "non-accettazione"
	NoticeTakeInCharge    Notice = "presa-in-carico"
	NoticeDelivery        Notice = "avvenuta-consegna"
	NoticeDeliveryError   Notice = "errore-consegna"
	NoticeDeliveryWarning Notice = "preavviso-errore-consegna"
	NoticeVirusDetected   Notice = "rilevazione-virus"
)

// ReceiptType is a requested delivery receipt type: the value of
// X-TipoRicevuta and of daticert ricevuta/@tipo (PEC.md §6.7, §8.1).
type ReceiptType string

// Delivery receipt types.
const (
	ReceiptFull    ReceiptType = "completa"
	ReceiptShort   ReceiptType = "breve"
	ReceiptSummary ReceiptType = "sintetica"
)

// ErrorCode is a value of daticert postacert/@errore (PEC.md §8.1).
type ErrorCode string

// Values of postacert/@errore.
const (
	ErrorNone     ErrorCode = "nessuno"
	ErrorNoDest   ErrorCode = "no-dest"
	ErrorNoDomain ErrorCode = "no-dominio"
	ErrorVirus    ErrorCode = "virus"
	ErrorOther    ErrorCode = "altro"
)

// CertType is a value of daticert postacert/@tipo (PEC.md §8.1).
type CertType string

// Values of postacert/@tipo.
const (
	CertAcceptance      CertType = "accettazione"
	CertNonAcceptance   CertType = "non-accettazione"
	CertTakeInCharge    CertType = "presa-in-carico"
	CertDelivery        CertType = "avvenuta-consegna"
	CertTransport       CertType = "posta-certificata"
	CertDeliveryError   CertType = "errore-consegna"
	CertDeliveryWarning CertType = "preavviso-errore-consegna"
	CertVirusDetected   CertType = "rilevazione-virus"
)

// RecipientType is a value of daticert destinatari/@tipo (PEC.md §8.1).
type RecipientType string

// Values of destinatari/@tipo.
const (
	RecipientCertified RecipientType = "certificato" // the domain is a PEC domain
	RecipientExternal  RecipientType = "esterno"     // ordinary Internet mail
)

var (
	transports     = []Transport{TransportCertified, TransportError}
	notices        = []Notice{NoticeAcceptance, NoticeNonAcceptance, NoticeTakeInCharge, NoticeDelivery, NoticeDeliveryError, NoticeDeliveryWarning, NoticeVirusDetected}
	receiptTypes   = []ReceiptType{ReceiptFull, ReceiptShort, ReceiptSummary}
	errorCodes     = []ErrorCode{ErrorNone, ErrorNoDest, ErrorNoDomain, ErrorVirus, ErrorOther}
	certTypes      = []CertType{CertAcceptance, CertNonAcceptance, CertTakeInCharge, CertDelivery, CertTransport, CertDeliveryError, CertDeliveryWarning, CertVirusDetected}
	recipientTypes = []RecipientType{RecipientCertified, RecipientExternal}
)

// trimFold trims white space and lower-cases s: the tolerant form in which
// every literal is compared.
func trimFold(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func parseEnum[T ~string](what, s string, values []T) (T, error) {
	f := trimFold(s)
	for _, v := range values {
		if string(v) == f {
			return v, nil
		}
	}
	return "", &ValueError{What: what, Value: s}
}

// ParseTransport parses an X-Trasporto value, case-insensitively.
func ParseTransport(s string) (Transport, error) { return parseEnum(HeaderTransport, s, transports) }

// ParseNotice parses an X-Ricevuta value, case-insensitively.
func ParseNotice(s string) (Notice, error) { return parseEnum(HeaderReceipt, s, notices) }

// ParseReceiptType parses a requested receipt type, case-insensitively.
func ParseReceiptType(s string) (ReceiptType, error) {
	return parseEnum("receipt type", s, receiptTypes)
}

// ParseErrorCode parses a postacert/@errore value, case-insensitively.
func ParseErrorCode(s string) (ErrorCode, error) { return parseEnum("errore", s, errorCodes) }

// ParseCertType parses a postacert/@tipo value, case-insensitively.
func ParseCertType(s string) (CertType, error) { return parseEnum("tipo", s, certTypes) }

// ParseRecipientType parses a destinatari/@tipo value, case-insensitively.
func ParseRecipientType(s string) (RecipientType, error) {
	return parseEnum("destinatari tipo", s, recipientTypes)
}

// Valid reports whether t is one of the defined values.
func (t Transport) Valid() bool { return validExact(t, transports) }

// Valid reports whether n is one of the defined values.
func (n Notice) Valid() bool { return validExact(n, notices) }

// Valid reports whether t is one of the defined values.
func (t ReceiptType) Valid() bool { return validExact(t, receiptTypes) }

// Valid reports whether c is one of the defined values.
func (c ErrorCode) Valid() bool { return validExact(c, errorCodes) }

// Valid reports whether t is one of the defined values.
func (t CertType) Valid() bool { return validExact(t, certTypes) }

// Valid reports whether t is one of the defined values.
func (t RecipientType) Valid() bool { return validExact(t, recipientTypes) }

func validExact[T comparable](v T, values []T) bool {
	for _, x := range values {
		if x == v {
			return true
		}
	}
	return false
}

// MarshalText implements encoding.TextMarshaler.
func (t Transport) MarshalText() ([]byte, error) { return []byte(t), nil }

// UnmarshalText implements encoding.TextUnmarshaler (case-insensitive).
func (t *Transport) UnmarshalText(b []byte) (err error) { *t, err = ParseTransport(string(b)); return }

// MarshalText implements encoding.TextMarshaler.
func (n Notice) MarshalText() ([]byte, error) { return []byte(n), nil }

// UnmarshalText implements encoding.TextUnmarshaler (case-insensitive).
func (n *Notice) UnmarshalText(b []byte) (err error) { *n, err = ParseNotice(string(b)); return }

// MarshalText implements encoding.TextMarshaler.
func (t ReceiptType) MarshalText() ([]byte, error) { return []byte(t), nil }

// UnmarshalText implements encoding.TextUnmarshaler (case-insensitive).
func (t *ReceiptType) UnmarshalText(b []byte) (err error) {
	*t, err = ParseReceiptType(string(b))
	return
}

// MarshalText implements encoding.TextMarshaler.
func (c ErrorCode) MarshalText() ([]byte, error) { return []byte(c), nil }

// UnmarshalText implements encoding.TextUnmarshaler (case-insensitive).
func (c *ErrorCode) UnmarshalText(b []byte) (err error) { *c, err = ParseErrorCode(string(b)); return }

// MarshalText implements encoding.TextMarshaler.
func (t CertType) MarshalText() ([]byte, error) { return []byte(t), nil }

// UnmarshalText implements encoding.TextUnmarshaler (case-insensitive).
func (t *CertType) UnmarshalText(b []byte) (err error) { *t, err = ParseCertType(string(b)); return }

// MarshalText implements encoding.TextMarshaler.
func (t RecipientType) MarshalText() ([]byte, error) { return []byte(t), nil }

// UnmarshalText implements encoding.TextUnmarshaler (case-insensitive).
func (t *RecipientType) UnmarshalText(b []byte) (err error) {
	*t, err = ParseRecipientType(string(b))
	return
}
