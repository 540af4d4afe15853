package pec

// Kind is one of the 14 variants of the PEC message catalogue (PEC.md §5).
// The zero value, KindUnknown, is not a PEC message kind.
type Kind int

// The catalogue of PEC messages (PEC.md §5, RFC 6109 §3).
const (
	KindUnknown            Kind = iota
	KindTransport               // busta di trasporto (§6.1)
	KindAnomaly                 // busta di anomalia (§6.2)
	KindAcceptance              // ricevuta di accettazione (§6.3)
	KindNonAcceptance           // avviso di non accettazione (§6.4)
	KindNonAcceptanceVirus      // avviso di non accettazione per virus (§6.5)
	KindTakeInCharge            // ricevuta di presa in carico (§6.6)
	KindDelivery                // ricevuta di avvenuta consegna completa (§6.7)
	KindDeliveryShort           // ricevuta di avvenuta consegna breve (§6.7)
	KindDeliverySummary         // ricevuta di avvenuta consegna sintetica (§6.7)
	KindDeliveryError           // avviso di mancata consegna (§6.8)
	KindVirusDetected           // avviso di rilevazione virus (§6.9)
	KindDeliveryErrorVirus      // avviso di mancata consegna per virus (§6.10)
	KindDeliveryTimeout12h      // avviso di mancata consegna per superamento dei tempi massimi, 12 h (§6.11)
	KindDeliveryTimeout24h      // avviso di mancata consegna per superamento dei tempi massimi, 24 h (§6.11)
)

// Kinds lists the 14 catalogue kinds in catalogue order.
var Kinds = []Kind{
	KindTransport, KindAnomaly, KindAcceptance, KindNonAcceptance,
	KindNonAcceptanceVirus, KindTakeInCharge, KindDelivery, KindDeliveryShort,
	KindDeliverySummary, KindDeliveryError, KindVirusDetected,
	KindDeliveryErrorVirus, KindDeliveryTimeout12h, KindDeliveryTimeout24h,
}

type kindInfo struct {
	name      string // stable English identifier, used by String and text marshalling
	italian   string // Italian name of the catalogue entry
	transport Transport
	notice    Notice
	cert      CertType
	errore    ErrorCode // fixed errore value, "" when not fixed by the rules
	security  bool      // carries X-VerificaSicurezza: errore
	prefix    string    // subject prefix
}

// kinds is the one table that ties every kind to its literals (PEC.md §5).
var kinds = [...]kindInfo{
	KindUnknown:            {name: "unknown", italian: "sconosciuto"},
	KindTransport:          {"transport", "busta di trasporto", TransportCertified, "", CertTransport, ErrorNone, false, SubjectTransport},
	KindAnomaly:            {"anomaly", "busta di anomalia", TransportError, "", "", "", false, SubjectAnomaly},
	KindAcceptance:         {"acceptance", "ricevuta di accettazione", "", NoticeAcceptance, CertAcceptance, ErrorNone, false, SubjectAcceptance},
	KindNonAcceptance:      {"non-acceptance", "avviso di non accettazione", "", NoticeNonAcceptance, CertNonAcceptance, "", false, SubjectNonAcceptance},
	KindNonAcceptanceVirus: {"non-acceptance-virus", "avviso di non accettazione per virus", "", NoticeNonAcceptance, CertNonAcceptance, ErrorVirus, true, SubjectNonAcceptanceVirus},
	KindTakeInCharge:       {"take-in-charge", "ricevuta di presa in carico", "", NoticeTakeInCharge, CertTakeInCharge, ErrorNone, false, SubjectTakeInCharge},
	KindDelivery:           {"delivery", "ricevuta di avvenuta consegna completa", "", NoticeDelivery, CertDelivery, ErrorNone, false, SubjectDelivery},
	KindDeliveryShort:      {"delivery-short", "ricevuta di avvenuta consegna breve", "", NoticeDelivery, CertDelivery, ErrorNone, false, SubjectDelivery},
	KindDeliverySummary:    {"delivery-summary", "ricevuta di avvenuta consegna sintetica", "", NoticeDelivery, CertDelivery, ErrorNone, false, SubjectDelivery},
	KindDeliveryError:      {"delivery-error", "avviso di mancata consegna", "", NoticeDeliveryError, CertDeliveryError, "", false, SubjectDeliveryError},
	KindVirusDetected:      {"virus-detected", "avviso di rilevazione virus", "", NoticeVirusDetected, CertVirusDetected, ErrorVirus, false, SubjectVirusDetected},
	KindDeliveryErrorVirus: {"delivery-error-virus", "avviso di mancata consegna per virus", "", NoticeDeliveryError, CertDeliveryError, ErrorVirus, true, SubjectDeliveryErrorVirus},
	KindDeliveryTimeout12h: {"delivery-timeout-12h", "avviso di mancata consegna per superamento dei tempi massimi (12 ore)", "", NoticeDeliveryWarning, CertDeliveryWarning, "", false, SubjectDeliveryTimeout},
	KindDeliveryTimeout24h: {"delivery-timeout-24h", "avviso di mancata consegna per superamento dei tempi massimi (24 ore)", "", NoticeDeliveryWarning, CertDeliveryWarning, "", false, SubjectDeliveryTimeout},
}

func (k Kind) info() kindInfo {
	if k < 0 || int(k) >= len(kinds) {
		return kinds[KindUnknown]
	}
	return kinds[k]
}

// String returns a stable English name for k ("transport", "delivery-short",
// ...). It never panics: out-of-range values print as "unknown".
func (k Kind) String() string { return k.info().name }

// Italian returns the Italian name of the catalogue entry.
func (k Kind) Italian() string { return k.info().italian }

// Valid reports whether k is one of the 14 catalogue kinds.
func (k Kind) Valid() bool { return k > KindUnknown && int(k) < len(kinds) }

// IsEnvelope reports whether k is a transport or an anomaly envelope.
func (k Kind) IsEnvelope() bool { return k == KindTransport || k == KindAnomaly }

// IsReceipt reports whether k is a receipt or notice (it carries X-Ricevuta).
func (k Kind) IsReceipt() bool { return k.info().notice != "" }

// Transport returns the X-Trasporto value of an envelope kind, or "".
func (k Kind) Transport() Transport { return k.info().transport }

// Notice returns the X-Ricevuta value of a receipt kind, or "".
func (k Kind) Notice() Notice { return k.info().notice }

// CertType returns the daticert.xml postacert/@tipo value of k, or "" for
// kinds without certification data (the anomaly envelope).
func (k Kind) CertType() CertType { return k.info().cert }

// ErrorCode returns the postacert/@errore value the rules fix for k, or ""
// when the value depends on the case (non-acceptance, non-delivery, timeouts).
func (k Kind) ErrorCode() ErrorCode { return k.info().errore }

// SecurityError reports whether k carries the header X-VerificaSicurezza: errore.
func (k Kind) SecurityError() bool { return k.info().security }

// SubjectPrefix returns the literal subject prefix of k, ending in ": ".
func (k Kind) SubjectPrefix() string { return k.info().prefix }

// IsDelivery reports whether k is one of the three delivery receipt variants.
func (k Kind) IsDelivery() bool {
	return k == KindDelivery || k == KindDeliveryShort || k == KindDeliverySummary
}

// IsTimeout reports whether k is one of the two timeout notices.
func (k Kind) IsTimeout() bool { return k == KindDeliveryTimeout12h || k == KindDeliveryTimeout24h }

// MarshalText implements encoding.TextMarshaler with the String form.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler for the String form.
func (k *Kind) UnmarshalText(b []byte) error {
	v, err := ParseKind(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// ParseKind parses the String form of a kind, case-insensitively.
func ParseKind(s string) (Kind, error) {
	s = trimFold(s)
	for k, in := range kinds {
		if in.name == s {
			return Kind(k), nil
		}
	}
	return KindUnknown, &ValueError{What: "kind", Value: s}
}

// DeliveryKind returns the delivery receipt variant for a requested receipt
// type (PEC.md §6.7): completa (or empty) gives KindDelivery, breve
// KindDeliveryShort, sintetica KindDeliverySummary. A copy (Cc) recipient
// always gets the sintetica variant.
func DeliveryKind(requested ReceiptType, copyRecipient bool) Kind {
	if copyRecipient {
		return KindDeliverySummary
	}
	switch requested {
	case ReceiptShort:
		return KindDeliveryShort
	case ReceiptSummary:
		return KindDeliverySummary
	}
	return KindDelivery
}
