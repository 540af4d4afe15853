package client

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pecsdk/pec/pec"
)

// newObservation extracts from a classified receipt what the tracker keeps.
func newObservation(m *Message, allowUnverified bool) (*observation, error) {
	rc := m.Receipt
	d := rc.Data
	if d == nil {
		return nil, fmt.Errorf("%w: %s %s has no certification data", ErrNotEvidence, m.Kind, m.MessageID)
	}
	sig := m.Signature
	if sig == nil {
		sig = rc.Signature
	}
	// Evidence must be trusted: an intact signature alone proves only that
	// somebody signed the receipt, not that a PEC provider did.
	verified := sig != nil && sig.Intact && sig.Trusted != nil && *sig.Trusted && (sig.FromMatches == nil || *sig.FromMatches)
	if !verified && !allowUnverified {
		why := "unsigned"
		switch {
		case sig == nil:
		case !sig.Intact:
			why = "signature not intact"
		case sig.Trusted == nil:
			why = "no trust anchors or provider index given to judge the signer"
		case !*sig.Trusted:
			why = "signer not trusted"
		default:
			why = "signer is not the sender of the notice"
		}
		if sig != nil && len(sig.Problems) > 0 {
			why += fmt.Sprintf(" (%v)", sig.Problems[0])
		}
		return nil, fmt.Errorf("%w: %s %s: %s", ErrNotEvidence, m.Kind, m.MessageID, why)
	}
	o := &observation{
		Kind:     kindText(m.Kind),
		Own:      pec.NormalizeMsgID(rc.Header.Get("Message-Id")),
		MsgID:    pec.NormalizeMsgID(d.MsgID),
		ID:       pec.NormalizeMsgID(d.ID),
		Time:     d.Time,
		Provider: d.Provider,
		Delivery: addrKey(d.Delivery),
		Covered:  slices.Clone(d.Receipts),
		Digest:   m.Digest,
		Verified: verified,
	}
	for _, r := range d.Recipients {
		o.Recipients = append(o.Recipients, obsRecipient{Address: r.Address, Type: string(r.Type)})
	}
	if o.Own == "" {
		o.Own = m.MessageID
	}
	if o.MsgID == "" {
		o.MsgID = pec.NormalizeMsgID(rc.Header.Get(pec.HeaderReference))
	}
	if o.MsgID == "" && o.ID == "" {
		return nil, fmt.Errorf("%w: %s %s names no message (no msgid, no identificativo)", ErrNotEvidence, m.Kind, o.Own)
	}
	if e := rc.Error; e != nil {
		o.Code, o.Extended = string(e.Code), e.Extended
		if o.Delivery == "" {
			o.Delivery = addrKey(e.Recipient)
		}
	}
	if m.Kind == pec.KindDeliveryTimeout12h || m.Kind == pec.KindDeliveryTimeout24h {
		t := strings.ToLower(strings.Join(strings.Fields(rc.Text()), " "))
		o.ByText = strings.Contains(t, "12 ore") || strings.Contains(t, "24 ore") || strings.Contains(t, "24 hours")
	}
	if o.Digest == "" {
		// A message not read by Classify: its identity stands for its bytes.
		o.Digest = identityDigest(o)
	}
	return o, nil
}

func identityDigest(o *observation) string {
	h := sha256.Sum256([]byte(pec.Kind(o.Kind).String() + "\x00" + o.Own + "\x00" + o.Delivery + "\x00" + o.ID))
	return hex.EncodeToString(h[:])
}

// key is the identity of a receipt beside its bytes: the same notice
// fetched twice may differ in the header fields the mailbox added.
func (o *observation) key() string {
	if o.Own == "" {
		return ""
	}
	return pec.Kind(o.Kind).String() + "\x00" + msgKey(o.Own) + "\x00" + o.Delivery
}

func (o *observation) describeTarget() string {
	if o.MsgID != "" {
		return "msgid " + o.MsgID
	}
	return "identificativo " + o.ID
}

// matchErr reports a receipt that names a recipient tm was not sent to.
func (o *observation) matchErr(tm *tracked) error {
	names := o.Covered
	if o.Delivery != "" {
		names = append(slices.Clone(names), o.Delivery)
	}
	for _, a := range names {
		if !tm.sent.hasRecipient(a) {
			return fmt.Errorf("%w: %s %s names %s, not a recipient of %s", ErrUnknownRecipient, pec.Kind(o.Kind), o.Own, a, tm.sent.MessageID)
		}
	}
	return nil
}

func (s *Sent) hasRecipient(a string) bool {
	k := addrKey(a)
	for _, l := range [][]string{s.To, s.Cc} {
		for _, r := range l {
			if addrKey(r) == k {
				return true
			}
		}
	}
	return false
}

// derive computes the status of a sent message from the set of its receipts.
// It depends on the set only, not on the order of arrival: receipts are
// taken by certified time (then identity), and each recipient gets the state
// of highest precedence its receipts support (see State).
func derive(s Sent, obs []*observation, resolve func(string) string) *Status {
	obs = slices.Clone(obs)
	slices.SortFunc(obs, func(a, b *observation) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		// Then by identity, which a copy fetched again shares; the
		// digest last, for receipts without a Message-ID.
		if c := strings.Compare(a.key(), b.key()); c != 0 {
			return c
		}
		return strings.Compare(a.Digest, b.Digest)
	})
	st := &Status{Sent: s}
	index := map[string]int{}
	for i, l := range [][]string{s.To, s.Cc} {
		for _, a := range l {
			if _, dup := index[addrKey(a)]; dup {
				continue
			}
			index[addrKey(a)] = len(st.Recipients)
			st.Recipients = append(st.Recipients, RecipientStatus{Address: a, Copy: i == 1})
		}
	}
	dispatch := s.Time
	var accepted bool
	for _, o := range obs {
		if o.ID != "" {
			if st.ID == "" {
				st.ID = o.ID
			} else if msgKey(st.ID) != msgKey(o.ID) {
				st.Problems = append(st.Problems, fmt.Sprintf("%s %s gives identificativo %s, others %s", pec.Kind(o.Kind), o.Own, o.ID, st.ID))
			}
		}
		if pec.Kind(o.Kind) == pec.KindAcceptance && !accepted {
			accepted = true
			dispatch = o.Time
			for _, r := range o.Recipients {
				if i, ok := index[addrKey(r.Address)]; ok {
					st.Recipients[i].Type = pec.RecipientType(r.Type)
					if st.Recipients[i].Type == "" {
						st.Recipients[i].Type = pec.RecipientCertified
					}
				}
			}
		}
	}
	for _, o := range obs {
		k := pec.Kind(o.Kind)
		ev := Evidence{Kind: k, MessageID: o.Own, Time: o.Time, Provider: o.Provider, Digest: o.Digest, Path: resolve(o.Path), Verified: o.Verified}
		state := StateSubmitted
		var targets []int
		all := func(skipExternal bool) {
			for i := range st.Recipients {
				if !skipExternal || st.Recipients[i].Type != pec.RecipientExternal {
					targets = append(targets, i)
				}
			}
		}
		switch k {
		case pec.KindAcceptance:
			state = StateAccepted
			all(false)
		case pec.KindNonAcceptance, pec.KindNonAcceptanceVirus:
			state = StateRejected
			all(false)
		case pec.KindTakeInCharge:
			state = StateTakenInCharge
			if len(o.Covered) == 0 {
				all(true)
			}
			for _, a := range o.Covered {
				if i, ok := index[addrKey(a)]; ok {
					targets = append(targets, i)
				}
			}
		default:
			switch k {
			case pec.KindDelivery, pec.KindDeliveryShort, pec.KindDeliverySummary:
				state = StateDelivered
			case pec.KindDeliveryError:
				state = StateNotDelivered
			case pec.KindDeliveryErrorVirus, pec.KindVirusDetected:
				state = StateVirus
			case pec.KindDeliveryTimeout12h:
				state = StateDelayed
				// PEC.md §15.4: a notice whose text does not tell, sent 22 h
				// or more after dispatch, is the final one (§10.3).
				if !o.ByText && o.Time.Sub(dispatch) >= 22*time.Hour {
					state = StateTimedOut
				}
			case pec.KindDeliveryTimeout24h:
				state = StateTimedOut
			}
			switch i, ok := index[o.Delivery]; {
			case ok:
				targets = append(targets, i)
			case o.Delivery == "" && len(st.Recipients) == 1:
				targets = append(targets, 0)
			case o.Delivery == "":
				st.Problems = append(st.Problems, fmt.Sprintf("%s %s names no recipient (consegna)", k, o.Own))
			}
		}
		if state >= StateDelayed && state != StateDelivered {
			ev.Error = &pec.Error{Kind: k, Code: pec.ErrorCode(o.Code), Extended: o.Extended, Recipient: o.Delivery}
		}
		for _, i := range targets {
			r := &st.Recipients[i]
			r.Events = append(r.Events, ev)
			if state != r.State && state.Final() && r.State.Final() && state != StateTimedOut && r.State != StateTimedOut {
				st.Problems = append(st.Problems, fmt.Sprintf("%s: evidence of both %s and %s (%s)", r.Address, r.State, state, o.Own))
			}
			if state > r.State {
				r.State, r.Time = state, o.Time
				e := ev
				r.Evidence, r.Error = &e, ev.Error
			}
		}
	}
	for i := range st.Recipients {
		r := &st.Recipients[i]
		if r.Type == pec.RecipientExternal && r.State == StateAccepted {
			r.State = StateSentToOrdinaryMail
		}
	}
	return st
}
