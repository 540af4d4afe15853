package pecmsg

import (
	"fmt"
	"io"
	"strings"

	"github.com/pecsdk/pec/pec"
)

// classify decides the catalogue kind (PEC.md §15.3). The headers give the
// family; the certification data, which is authoritative (PEC.md §6), and
// the structure refine it: virus variants, the three delivery receipts, the
// two timeout notices.
func (m *Message) classify() {
	h := m.Part.Header
	var k pec.Kind
	if v := strings.TrimSpace(h.Get(pec.HeaderReceipt)); v != "" {
		n, err := pec.ParseNotice(v)
		if err != nil {
			m.problem(m.Part, pec.HeaderReceipt, err)
		} else {
			k = m.noticeKind(n)
		}
	} else if v := strings.TrimSpace(h.Get(pec.HeaderTransport)); v != "" {
		t, err := pec.ParseTransport(v)
		if err != nil {
			m.problem(m.Part, pec.HeaderTransport, err)
		} else if t == pec.TransportCertified {
			k = pec.KindTransport
		} else {
			k = pec.KindAnomaly
		}
	}
	if m.Data != nil {
		if dk := m.certKind(); dk != pec.KindUnknown && dk.CertType() != k.CertType() {
			m.problem(m.Part, headerOf(k), fmt.Errorf("%w: header says %s, %s says %s", pec.ErrInconsistent, k, pec.CertDataName, dk))
			k = dk // the XML is authoritative
		}
	}
	m.Kind = k
	switch {
	case k == pec.KindUnknown:
	case k == pec.KindAnomaly:
		if m.CertPart != nil {
			m.deviate("anomaly envelope carries %s", pec.CertDataName)
		}
	case m.CertPart == nil:
		m.problem(m.Content, "", pec.ErrNoCertData)
	}
	if (k == pec.KindTransport || k == pec.KindDelivery || k == pec.KindDeliveryShort) && m.Original == nil {
		m.problem(m.Content, "", fmt.Errorf("%w: %s without %s", pec.ErrMalformed, k, pec.OriginalName))
	}
}

func headerOf(k pec.Kind) string {
	if k.IsEnvelope() {
		return pec.HeaderTransport
	}
	return pec.HeaderReceipt
}

func (m *Message) security() bool {
	v := strings.TrimSpace(m.Part.Header.Get(pec.HeaderSecurityCheck))
	return strings.EqualFold(v, pec.SecurityCheckError) ||
		(m.Data != nil && m.Data.Error == pec.ErrorVirus)
}

func (m *Message) noticeKind(n pec.Notice) pec.Kind {
	switch n {
	case pec.NoticeAcceptance:
		return pec.KindAcceptance
	case pec.NoticeNonAcceptance:
		if m.security() {
			return pec.KindNonAcceptanceVirus
		}
		return pec.KindNonAcceptance
	case pec.NoticeTakeInCharge:
		return pec.KindTakeInCharge
	case pec.NoticeDelivery:
		return m.deliveryKind()
	case pec.NoticeDeliveryError:
		if m.security() {
			return pec.KindDeliveryErrorVirus
		}
		return pec.KindDeliveryError
	case pec.NoticeDeliveryWarning:
		return pec.TimeoutKind(m.text())
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
	case len(m.Hashes) > 0:
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
		return m.noticeKind(pec.NoticeNonAcceptance)
	case pec.CertTakeInCharge:
		return pec.KindTakeInCharge
	case pec.CertDelivery:
		return m.deliveryKind()
	case pec.CertDeliveryError:
		return m.noticeKind(pec.NoticeDeliveryError)
	case pec.CertDeliveryWarning:
		return pec.TimeoutKind(m.text())
	case pec.CertVirusDetected:
		return pec.KindVirusDetected
	}
	return pec.KindUnknown
}

// text returns the plain text body, decoded, up to 64 KiB.
func (m *Message) text() string {
	if m.Text == nil {
		return ""
	}
	body, err := m.Text.Body()
	if err != nil && body == nil {
		return ""
	}
	b, _ := io.ReadAll(io.LimitReader(body, 64<<10))
	return string(b)
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
	h := m.Part.Header
	if m.Kind == pec.KindTransport {
		if id := h.Get("Message-Id"); id != "" && !pec.EqualMsgID(id, d.ID) {
			m.problem(m.Part, "Message-ID", fmt.Errorf("%w: Message-ID %s, identificativo %s", pec.ErrInconsistent, id, d.ID))
		}
	}
	if ref := h.Get(pec.HeaderReference); ref != "" && d.MsgID != "" && !pec.EqualMsgID(ref, d.MsgID) {
		m.problem(m.Part, pec.HeaderReference, fmt.Errorf("%w: %s %s, msgid %s", pec.ErrInconsistent, pec.HeaderReference, ref, d.MsgID))
	}
}
