package client

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
)

// liveWindow is how far from the tracker's clock the time a receipt was
// verified at may lie: evidence is judged live (smime.VerifyOptions with
// CurrentTime zero, not AsOfSigningTime), just before it is observed.
const liveWindow = time.Hour

// newObservation extracts from a classified receipt what the tracker keeps.
// Only what the signed content says is kept: the kind and the daticert
// data, never the unsigned header fields (X-Riferimento-Message-ID,
// X-VerificaSicurezza) that anyone relaying the receipt can add.
func newObservation(m *Message, allowUnverified bool, now time.Time) (*observation, error) {
	rc := m.Receipt
	d := rc.Data
	if d == nil {
		return nil, fmt.Errorf("%w: %s %s has no certification data", ErrNotEvidence, m.Kind, m.MessageID)
	}
	why := evidenceProblem(m, now)
	verified := why == ""
	if !verified && !allowUnverified {
		return nil, fmt.Errorf("%w: %s %s: %s", ErrNotEvidence, m.Kind, m.MessageID, why)
	}
	o := &observation{
		Kind:     kindText(m.Kind),
		Own:      pec.NormalizeMsgID(rc.Header.Get("Message-Id")),
		MsgID:    pec.NormalizeMsgID(d.MsgID),
		ID:       pec.NormalizeMsgID(d.ID),
		Sender:   addrKey(d.Sender),
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
		// What the text quotes from the message (its subject, sender,
		// recipient) is the sender's wording, not the provider's: it does
		// not tell the notices apart.
		t := strings.ToLower(strings.Join(strings.Fields(rc.Text()), " "))
		if d := rc.Data; d != nil {
			for _, q := range []string{d.Subject, d.Sender, d.Delivery} {
				if q = strings.ToLower(strings.Join(strings.Fields(q), " ")); q != "" {
					t = strings.ReplaceAll(t, q, " ")
				}
			}
		}
		o.ByText = strings.Contains(t, "12 ore") || strings.Contains(t, "24 ore") || strings.Contains(t, "24 hours")
	}
	if o.Digest == "" {
		// A message not read by Classify: its identity stands for its bytes.
		o.Digest = identityDigest(o)
	}
	return o, nil
}

// evidenceProblem says why m cannot be taken as evidence, or "". Evidence
// is a receipt that is OK (receipt.Receipt.OK: intact, signed by a PEC
// provider that the Authority lists, which is its From address, and whose
// signed daticert establishes its kind), verified live, and whose signer's
// provider manages the domain of whom it speaks about: the recipient for
// the notices of the recipient's provider (presa in carico, delivery,
// non-delivery, virus detection), the sender for those of the sender's
// provider (PEC.md §11.2, §12.5 steps 3 and 4). A chain to trust anchors
// alone never makes evidence: anyone with a certificate under the same CA
// could sign a receipt.
func evidenceProblem(m *Message, now time.Time) string {
	rc := m.Receipt
	sig := m.Signature
	if sig == nil {
		sig = rc.Signature
	}
	var why string
	switch {
	case sig == nil:
		return "unsigned"
	case !sig.Intact:
		why = "signature not intact"
	case sig.Trusted == nil:
		why = "no provider index given to judge the signer"
	case !*sig.Trusted:
		why = "signer not established as a PEC provider"
	case sig.FromMatches == nil || !*sig.FromMatches:
		why = "signer is not the sender of the notice"
	case !rc.OK():
		why = "the signed content does not establish the kind the header fields claim"
		for _, p := range rc.Problems {
			if errors.Is(p, pec.ErrUnsignedClaim) {
				return why + " (" + p.Error() + ")"
			}
		}
		return why
	case sig.AsOfSigningTime || sig.At.IsZero() || sig.At.Sub(now).Abs() > liveWindow:
		return "not verified live (as of " + sig.At.UTC().Format(time.RFC3339) + ")"
	case m.authority == nil:
		return "no provider index to tell which provider manages the addresses it names"
	default:
		for _, a := range authorizedFor(m.Kind, rc.Data, rc.Error) {
			if err := m.authority.Authorize(sig.Signer, a, sig.At); err != nil {
				return fmt.Sprintf("its signer's provider does not manage the domain of %s (%v)", a, err)
			}
		}
		return ""
	}
	if len(sig.Problems) > 0 {
		why += fmt.Sprintf(" (%v)", sig.Problems[0])
	}
	return why
}

// authorizedFor returns the addresses whose domain the provider that signs
// a notice of kind k must manage: the recipients it covers for the notices
// of the recipient's provider, the sender for those of the sender's.
func authorizedFor(k pec.Kind, d *daticert.Data, e *pec.Error) []string {
	switch k {
	case pec.KindTakeInCharge:
		return d.Receipts
	case pec.KindDelivery, pec.KindDeliveryShort, pec.KindDeliverySummary, pec.KindDeliveryError, pec.KindVirusDetected:
		if d.Delivery == "" && e != nil && e.Recipient != "" {
			return []string{e.Recipient}
		}
		if d.Delivery == "" {
			return nil
		}
		return []string{d.Delivery}
	}
	if d.Sender == "" {
		return nil
	}
	return []string{d.Sender}
}

func identityDigest(o *observation) string {
	h := sha256.Sum256([]byte(pec.Kind(o.Kind).String() + "\x00" + o.Own + "\x00" + o.Delivery + "\x00" + o.ID + "\x00" + o.MsgID + "\x00" + o.Sender))
	return hex.EncodeToString(h[:])
}

// key is the identity of a receipt beside its bytes: the same notice
// fetched twice may differ in the header fields the mailbox added. Its own
// Message-ID is outside the signature: the signed data that names the
// message it is about are part of the identity, so that a receipt about
// another message cannot pass for a copy of one about this message.
func (o *observation) key() string {
	if o.Own == "" {
		return ""
	}
	// Signed facts only: the receipt's own Message-ID is outside the
	// signature, and a genuine receipt replayed under a new one is the
	// same evidence, not a second event.
	return strings.Join([]string{pec.Kind(o.Kind).String(), o.Time.UTC().Format(time.RFC3339Nano), o.Provider, o.Delivery,
		strings.Join(o.Covered, ","), msgKey(o.MsgID), msgKey(o.ID), o.Sender}, "\x00")
}

func (o *observation) describeTarget() string {
	if o.MsgID != "" {
		return "msgid " + o.MsgID
	}
	return "identificativo " + o.ID
}

// names returns the recipients o is about: consegna, ricezione.
func (o *observation) names() []string {
	names := o.Covered
	if o.Delivery != "" {
		names = append(slices.Clone(names), o.Delivery)
	}
	return names
}

// bind reports whether o is evidence about the sent message s, as its
// signed certification data says (PEC.md §9, §11.2): the msgid is s's
// Message-ID (without one, the identificativo is the acceptance's), the
// mittente is s's sender, every recipient it names is one of s's, and its
// identificativo is the acceptance's, once an acceptance told it (id).
// A genuine receipt about another message can be put in any mailbox
// (PEC.md §11.2: valid notices are deposited unchanged): what does not
// match is reported and never applied. The error matches ErrMismatch or
// ErrUnknownRecipient.
func (o *observation) bind(s *Sent, id string) error {
	k := pec.Kind(o.Kind)
	switch {
	case o.MsgID != "" && msgKey(o.MsgID) != msgKey(s.MessageID):
		return fmt.Errorf("%w: %s %s has msgid %s, not %s", ErrMismatch, k, o.Own, o.MsgID, s.MessageID)
	case o.MsgID == "" && id == "":
		return fmt.Errorf("%w: %s %s has no msgid, and no acceptance has told the identificativo of %s yet", ErrMismatch, k, o.Own, s.MessageID)
	case s.From == "" || addrKey(o.Sender) != addrKey(s.From):
		return fmt.Errorf("%w: %s %s has mittente %q, not the sender %s of %s", ErrMismatch, k, o.Own, o.Sender, s.From, s.MessageID)
	case id != "" && msgKey(o.ID) != msgKey(id):
		return fmt.Errorf("%w: %s %s has identificativo %q, not %s of the acceptance of %s", ErrMismatch, k, o.Own, o.ID, id, s.MessageID)
	}
	names := o.names()
	if len(names) == 0 && k != pec.KindAcceptance && k != pec.KindNonAcceptance && k != pec.KindNonAcceptanceVirus {
		return fmt.Errorf("%w: %s %s names no recipient (consegna, ricezione)", ErrUnknownRecipient, k, o.Own)
	}
	for _, a := range names {
		if !s.hasRecipient(a) {
			return fmt.Errorf("%w: %s %s names %s, not a recipient of %s", ErrUnknownRecipient, k, o.Own, a, s.MessageID)
		}
	}
	return nil
}

// acceptanceID returns the identificativo of the acceptance of s among
// obs (sorted by certified time): the first acceptance bound to s, or "".
func acceptanceID(s *Sent, obs []*observation) string {
	for _, o := range obs {
		if pec.Kind(o.Kind) == pec.KindAcceptance && o.ID != "" && o.bind(s, "") == nil {
			return o.ID
		}
	}
	return ""
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

// sortedObs returns obs sorted by certified time, then identity: an order
// that does not depend on the order of arrival.
func sortedObs(obs []*observation) []*observation {
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
	return obs
}

// derive computes the status of a sent message from the set of its receipts.
// It depends on the set only, not on the order of arrival: receipts are
// taken by certified time (then identity), and each recipient gets the state
// of highest precedence its receipts support (see State).
func derive(s Sent, obs []*observation, resolve func(string) string) *Status {
	obs = sortedObs(obs)
	st := &Status{Sent: s}
	id := acceptanceID(&s, obs)
	bound := make([]*observation, 0, len(obs))
	for _, o := range obs {
		if err := o.bind(&s, id); err != nil {
			st.Problems = append(st.Problems, "not applied: "+err.Error())
			continue
		}
		bound = append(bound, o)
	}
	obs = bound
	st.ID = id
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
		all := func() {
			for i := range st.Recipients {
				targets = append(targets, i)
			}
		}
		switch k {
		case pec.KindAcceptance:
			state = StateAccepted
			all()
		case pec.KindNonAcceptance, pec.KindNonAcceptanceVirus:
			state = StateRejected
			all()
		case pec.KindTakeInCharge:
			state = StateTakenInCharge
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
			if i, ok := index[o.Delivery]; ok {
				targets = append(targets, i)
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
