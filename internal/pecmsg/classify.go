package pecmsg

import (
	"fmt"
	"strings"

	"github.com/pecsdk/pec/pec"
)

// classify decides the catalogue kind (PEC.md §15.3). Only the signed
// content decides it: the certification data (authoritative, PEC.md §6)
// and the structure of the signed part refine the family into the virus
// variants, the three delivery receipts and the two timeout notices. The
// X-Trasporto / X-Ricevuta / X-VerificaSicurezza headers lie outside the
// signature: they locate the PEC message and say what it claims to be,
// and a claim the signed content does not establish is a problem
// (pec.ErrUnsignedClaim) that leaves Established false. Without
// certification data only an anomaly envelope is established: it is the
// one kind signed without daticert.xml.
func (m *Message) classify() {
	hk := m.headerKind()
	k := hk
	switch {
	case m.Data != nil:
		dk := m.certKind()
		if dk == pec.KindUnknown {
			m.problem(m.CertPart, "", fmt.Errorf("%w: %s has no known tipo", pec.ErrMalformed, pec.CertDataName))
			break
		}
		k = dk
		switch {
		case dk == hk:
			m.Established = true
		case hk != pec.KindUnknown && dk.CertType() == hk.CertType() && isVirusVariant(dk) && !m.headerVirus():
			// The signed data says virus; the unsigned header merely
			// lacks X-VerificaSicurezza: the data decides, nothing is
			// claimed beyond it.
			m.Established = true
			m.deviate("%s says virus, the header has no %s", pec.CertDataName, pec.HeaderSecurityCheck)
		default:
			m.problem(m.Part, headerOf(hk), fmt.Errorf("%w: the header says %s, the signed %s says %s", pec.ErrUnsignedClaim, hk, pec.CertDataName, dk))
		}
	case hk == pec.KindAnomaly && m.CertPart == nil:
		m.Established = true
	case hk != pec.KindUnknown && m.CertPart == nil:
		m.problem(m.Content, headerOf(hk), fmt.Errorf("%w: the header says %s: %w", pec.ErrUnsignedClaim, hk, pec.ErrNoCertData))
	}
	m.Kind = k
	switch {
	case k == pec.KindUnknown:
	case k == pec.KindAnomaly:
		if m.CertPart != nil {
			m.deviate("anomaly envelope carries %s", pec.CertDataName)
		}
	}
	if (k == pec.KindTransport || k == pec.KindDelivery || k == pec.KindDeliveryShort) && m.Original == nil {
		m.problem(m.Content, "", fmt.Errorf("%w: %s without %s", pec.ErrMalformed, k, pec.OriginalName))
	}
	if m.SigPart == nil {
		m.Established = false
	}
	if k != pec.KindDeliveryShort && len(m.Hashes) > 0 {
		// Only a breve receipt (ricevuta tipo="breve") replaces
		// attachments with their hashes; elsewhere a ".hash" part is one
		// the sender attached, and vouches for nothing.
		m.deviate("%d %s parts in a %s are the sender's attachments, not hashes of the provider", len(m.Hashes), pec.HashSuffix, k)
		m.Hashes = nil
	}
}

// headerKind is the kind the unsigned headers claim.
func (m *Message) headerKind() pec.Kind {
	if v := strings.TrimSpace(m.Part.Get(pec.HeaderReceipt)); v != "" {
		n, err := pec.ParseNotice(v)
		if err != nil {
			m.problem(m.Part, pec.HeaderReceipt, err)
			return pec.KindUnknown
		}
		return m.noticeKind(n, m.headerVirus())
	}
	if v := strings.TrimSpace(m.Part.Get(pec.HeaderTransport)); v != "" {
		t, err := pec.ParseTransport(v)
		switch {
		case err != nil:
			m.problem(m.Part, pec.HeaderTransport, err)
		case t == pec.TransportCertified:
			return pec.KindTransport
		default:
			return pec.KindAnomaly
		}
	}
	return pec.KindUnknown
}

func isVirusVariant(k pec.Kind) bool {
	return k == pec.KindNonAcceptanceVirus || k == pec.KindDeliveryErrorVirus
}

func headerOf(k pec.Kind) string {
	if k.IsEnvelope() {
		return pec.HeaderTransport
	}
	return pec.HeaderReceipt
}

// headerVirus reports whether the unsigned X-VerificaSicurezza header
// claims a virus.
func (m *Message) headerVirus() bool {
	return strings.EqualFold(strings.TrimSpace(m.Part.Get(pec.HeaderSecurityCheck)), pec.SecurityCheckError)
}

func (m *Message) noticeKind(n pec.Notice, virus bool) pec.Kind {
	switch n {
	case pec.NoticeAcceptance:
		return pec.KindAcceptance
	case pec.NoticeNonAcceptance:
		if virus {
			return pec.KindNonAcceptanceVirus
		}
		return pec.KindNonAcceptance
	case pec.NoticeTakeInCharge:
		return pec.KindTakeInCharge
	case pec.NoticeDelivery:
		return m.deliveryKind()
	case pec.NoticeDeliveryError:
		if virus {
			return pec.KindDeliveryErrorVirus
		}
		return pec.KindDeliveryError
	case pec.NoticeDeliveryWarning:
		return pec.TimeoutKind(m.text(), m.quoted()...)
	case pec.NoticeVirusDetected:
		return pec.KindVirusDetected
	}
	return pec.KindUnknown
}

// deliveryKind infers the delivery variant from the structure: ricevuta/@tipo
// is the type requested, not the one delivered (PEC.md §17 item 11).
func (m *Message) deliveryKind() pec.Kind {
	switch {
	case m.Original == nil:
		return pec.KindDeliverySummary
	case len(m.Hashes) > 0 && m.Data != nil && m.Data.ReceiptType == pec.ReceiptShort:
		return pec.KindDeliveryShort
	}
	return pec.KindDelivery
}

func (m *Message) certKind() pec.Kind {
	switch m.Data.Type {
	case pec.CertTransport:
		return pec.KindTransport
	case pec.CertAcceptance:
		return pec.KindAcceptance
	case pec.CertNonAcceptance:
		return m.noticeKind(pec.NoticeNonAcceptance, m.Data.Error == pec.ErrorVirus)
	case pec.CertTakeInCharge:
		return pec.KindTakeInCharge
	case pec.CertDelivery:
		return m.deliveryKind()
	case pec.CertDeliveryError:
		return m.noticeKind(pec.NoticeDeliveryError, m.Data.Error == pec.ErrorVirus)
	case pec.CertDeliveryWarning:
		return pec.TimeoutKind(m.text(), m.quoted()...)
	case pec.CertVirusDetected:
		return pec.KindVirusDetected
	}
	return pec.KindUnknown
}

// quoted returns what the body text quotes from the signed certification
// data (subject, sender, recipient), for pec.TimeoutKind.
func (m *Message) quoted() []string {
	if m.Data == nil {
		return nil
	}
	return []string{m.Data.Subject, m.Data.Sender, m.Data.Delivery}
}

// text returns the plain text body, decoded, up to 64 KiB. It is read
// once: the kind of a timeout notice and the caller both ask for it.
func (m *Message) text() string {
	if m.textSet || m.Text == nil {
		return m.textBody
	}
	m.textSet = true
	m.textBody = m.Text.Text(64 << 10)
	return m.textBody
}

// TextBody returns the human-readable text of the message, decoded.
func (m *Message) TextBody() string { return m.text() }

// crossCheck compares the headers with the certification data (PEC.md
// §12.5 step 5): on mismatch the XML is trusted and the message flagged.
func (m *Message) crossCheck() {
	d := m.Data
	if d == nil {
		return
	}
	if m.Kind == pec.KindTransport {
		if id := m.Part.Get("Message-Id"); id != "" && !pec.EqualMsgID(id, d.ID) {
			m.disagree("Message-ID", fmt.Errorf("%w: Message-ID %s, identificativo %s", pec.ErrInconsistent, id, d.ID))
		}
	}
	if ref := m.Part.Get(pec.HeaderReference); ref != "" && d.MsgID != "" && !pec.EqualMsgID(ref, d.MsgID) {
		m.disagree(pec.HeaderReference, fmt.Errorf("%w: %s %s, msgid %s", pec.ErrInconsistent, pec.HeaderReference, ref, d.MsgID))
	}
	m.checkUnsigned()
}
