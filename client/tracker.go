package client

import (
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pecsdk/pec/pec"
)

// Sent is what the tracker learns at submission.
type Sent struct {
	MessageID   string          // without angle brackets
	From        string          // the sender's mailbox (required: receipts must name it as mittente)
	To, Cc      []string        // the recipients, addresses or RFC 5322 mailboxes
	Subject     string          // the original subject
	Time        time.Time       // submission time; zero means TrackerOptions.Now
	ReceiptType pec.ReceiptType // requested delivery receipt type ("" = completa)
}

// State is where one recipient of a sent message stands (PEC.md §15.4).
type State int

// The states of a recipient. The order is the order of precedence: the
// state of a recipient is the highest one its evidence supports, so that
// it does not depend on the order in which receipts arrive, and a final
// state never goes back to a provisional one (PEC.md §10.3: a delivery
// receipt after the 24 h notice still counts).
const (
	StateSubmitted          State = iota // sent; no receipt yet
	StateAccepted                        // ricevuta di accettazione (§6.3)
	StateSentToOrdinaryMail              // accepted for an external (esterno) recipient: final, no further evidence (§11.5)
	StateTakenInCharge                   // presa in carico by the recipient's provider (§6.6)
	StateDelayed                         // 12 h warning: not delivered yet, still possible (§6.11)
	StateTimedOut                        // 24 h notice: final unless a late receipt arrives (§6.11)
	StateRejected                        // non-accettazione, formal or virus (§6.4, §6.5): final
	StateNotDelivered                    // avviso di mancata consegna (§6.8): final
	StateVirus                           // virus found at the recipient's provider (§6.9, §6.10): final
	StateDelivered                       // ricevuta di avvenuta consegna (§6.7): final
)

var stateNames = [...]string{
	StateSubmitted:          "submitted",
	StateAccepted:           "accepted",
	StateSentToOrdinaryMail: "sent-to-ordinary-mail",
	StateTakenInCharge:      "taken-in-charge",
	StateDelayed:            "delayed",
	StateTimedOut:           "timed-out",
	StateRejected:           "rejected",
	StateNotDelivered:       "not-delivered",
	StateVirus:              "virus",
	StateDelivered:          "delivered",
}

// String returns the name of s ("delivered", "timed-out", ...); it never panics.
func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return fmt.Sprintf("state(%d)", int(s))
	}
	return stateNames[s]
}

// MarshalText implements encoding.TextMarshaler.
func (s State) MarshalText() ([]byte, error) {
	if s < 0 || int(s) >= len(stateNames) {
		return nil, fmt.Errorf("client: invalid state %d", int(s))
	}
	return []byte(stateNames[s]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *State) UnmarshalText(b []byte) error {
	for i, n := range stateNames {
		if strings.EqualFold(n, string(b)) {
			*s = State(i)
			return nil
		}
	}
	return fmt.Errorf("client: unknown state %q", b)
}

// Final reports whether s is an outcome: delivered, not delivered, virus,
// rejected, timed out or sent to ordinary mail. Only a later delivery or
// failure notice can follow a timeout.
func (s State) Final() bool { return s == StateSentToOrdinaryMail || s >= StateTimedOut }

// Evidence is one receipt or notice about a recipient, as kept by the tracker.
type Evidence struct {
	Kind      pec.Kind   // the kind of receipt or notice
	MessageID string     // the receipt's own Message-ID
	Time      time.Time  // daticert data: the time the provider certifies
	Provider  string     // daticert gestore-emittente
	Digest    string     // SHA-256 of the receipt bytes, hexadecimal
	Path      string     // the signed receipt bytes as received; "" when not stored
	Verified  bool       // signed by a PEC provider managing the addresses it names, verified live; false only with TrackerOptions.AllowUnverified
	Error     *pec.Error // the failure the notice reports; nil for positive receipts
}

// RecipientStatus is the state of one recipient of a sent message.
type RecipientStatus struct {
	Address  string            // the recipient's address
	Copy     bool              // a Cc recipient
	Type     pec.RecipientType // certificato or esterno, from the acceptance receipt; "" before it
	State    State             // where the recipient stands
	Time     time.Time         // when the evidence of State was certified; zero for StateSubmitted
	Evidence *Evidence         // the receipt that decides State; nil for StateSubmitted
	Error    *pec.Error        // the failure, for the failing and timeout states
	Events   []Evidence        // every receipt about the recipient, by certified time
}

// Status is the state of a sent message and of each of its recipients.
type Status struct {
	Sent                         // what was submitted
	ID         string            // the PEC msgid (daticert identificativo): the acceptance's, else that of the first receipt applied; "" before
	Recipients []RecipientStatus // To then Cc, in submission order
	Problems   []string          // contradictions found in the evidence, and receipts not applied because they do not match the message
}

// Final reports whether every recipient has reached a final state.
func (s *Status) Final() bool {
	for _, r := range s.Recipients {
		if !r.State.Final() {
			return false
		}
	}
	return true
}

// OverdueAfter is how long after dispatch a certified recipient without a
// final state is overdue: the 24 h limit of PEC.md §10.3, by which the
// sender's provider must have sent the final notice, and an hour for it
// to arrive.
const OverdueAfter = 25 * time.Hour

// Overdue returns the certified recipients that have no final state
// OverdueAfter past dispatch (the acceptance, else the submission) as of
// now: a receipt or notice the providers owe has not been observed.
func (s *Status) Overdue(now time.Time) []*RecipientStatus {
	dispatch := s.Time
	var out []*RecipientStatus
	for i := range s.Recipients {
		r := &s.Recipients[i]
		for _, e := range r.Events {
			if e.Kind == pec.KindAcceptance {
				dispatch = e.Time
			}
		}
		if !r.State.Final() && r.Type != pec.RecipientExternal && now.Sub(dispatch) >= OverdueAfter {
			out = append(out, r)
		}
	}
	return out
}

// Recipient returns the status of the recipient addr, or nil.
func (s *Status) Recipient(addr string) *RecipientStatus {
	for i := range s.Recipients {
		if pec.EqualAddress(s.Recipients[i].Address, addr) {
			return &s.Recipients[i]
		}
	}
	return nil
}

// Change is the move of one recipient from a state to another.
type Change struct {
	Recipient string
	From, To  State
}

// Update is what one observed message changed.
type Update struct {
	MessageID string   // the sent message concerned (its client Message-ID)
	Kind      pec.Kind // the kind of the observed message
	Duplicate bool     // already observed (the same receipt, or the same bytes again): nothing changed
	Ignored   bool     // not a receipt or notice (ordinary mail, an envelope): nothing to track
	Changes   []Change // recipients whose state changed
}

// TrackerOptions configure a Tracker. The zero value (or nil) is the default.
type TrackerOptions struct {
	// Now is the clock, for the submission time of a Sent without one,
	// and for the time receipts must have been verified at: within an
	// hour of it (live). Nil means time.Now.
	Now func() time.Time
	// Logger receives what the tracker does and what it repairs. Nil is silent.
	Logger *slog.Logger
	// AllowUnverified accepts as evidence receipts that are not (see
	// ErrNotEvidence: signature missing, not intact, not by a listed
	// provider, not verified live...), for archives and tests; their
	// Evidence says Verified: false. By default Observe refuses them with
	// ErrNotEvidence. Their certification data must match the sent message
	// all the same.
	AllowUnverified bool
	// NoSync skips the fsync after each append, for benchmarks and tests
	// that do not simulate crashes. A power loss may then lose the last
	// records.
	NoSync bool
	// ReadOnly opens an existing store to read it, without the lock, while
	// another process may be writing it (a status display beside a fetch).
	// Register and Observe then fail with ErrReadOnly, and an incomplete
	// last record is skipped, not repaired.
	ReadOnly bool
}

// Tracker follows every recipient of every sent message to a final outcome
// (PEC.md §15.4), fed with the receipts and notices fetched from the
// mailbox in any order. Its state is kept in an append-only store and
// replayed when it is opened again. A Tracker is safe for concurrent use.
type Tracker struct {
	mu     sync.Mutex
	opts   TrackerOptions
	log    *slog.Logger
	store  *store // nil: in memory only
	closed bool

	msgs     map[string]*tracked // by normalised client Message-ID
	byID     map[string]string   // PEC msgid (identificativo) → client Message-ID
	digests  map[string]bool     // receipt bytes seen
	keys     map[string]bool     // receipt identities seen (kind, own Message-ID, recipient)
	orphans  []*observation      // receipts for messages not (yet) known
	repaired error               // what replay repaired at open
}

type tracked struct {
	sent   Sent
	obs    []*observation
	status *Status
}

// OpenTracker opens the tracker whose store is at path, creating it if
// needed, and replays it. path is a directory (existing, or ending in a
// separator), which then holds the journal tracker.jsonl and the evidence
// folder, or a journal file, whose evidence goes in path + ".evidence".
// An empty path gives a tracker kept in memory only.
func OpenTracker(path string, opts *TrackerOptions) (*Tracker, error) {
	t := &Tracker{
		msgs:    map[string]*tracked{},
		byID:    map[string]string{},
		digests: map[string]bool{},
		keys:    map[string]bool{},
	}
	if opts != nil {
		t.opts = *opts
	}
	if t.opts.Now == nil {
		t.opts.Now = time.Now
	}
	t.log = t.opts.Logger
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	if path == "" {
		return t, nil
	}
	s, err := openStore(path, !t.opts.NoSync, t.opts.ReadOnly)
	if err != nil {
		return nil, err
	}
	t.store = s
	if err := s.replay(t.apply); err != nil {
		if !errors.Is(err, ErrTornRecord) {
			s.close()
			return nil, err
		}
		t.repaired = err
		t.log.Warn("tracker store repaired", "path", s.journal, "err", err)
	}
	return t, nil
}

// Repaired returns what OpenTracker repaired in the store (an error
// matching ErrTornRecord, naming the offset of the record dropped), or nil.
func (t *Tracker) Repaired() error { return t.repaired }

// Register records a sent message. errors.Is(err, ErrAlreadySent) for a
// Message-ID the tracker already follows: sending the same message twice is
// refused. Receipts observed before the message was registered are matched
// now.
func (t *Tracker) Register(s Sent) error {
	s.MessageID = pec.NormalizeMsgID(s.MessageID)
	if s.MessageID == "" {
		return fmt.Errorf("client: register: no Message-ID")
	}
	var err error
	if s.From, err = bareAddress(s.From); err != nil {
		// Receipts are bound to the message by their mittente.
		return fmt.Errorf("client: register %s: From: %w", s.MessageID, err)
	}
	s.To, s.Cc = slices.Clone(s.To), slices.Clone(s.Cc) // the caller's slices stay as they were
	for _, l := range [][]string{s.To, s.Cc} {
		for i, a := range l {
			if l[i], err = bareAddress(a); err != nil {
				return fmt.Errorf("client: register %s: recipient: %w", s.MessageID, err)
			}
		}
	}
	if len(s.To)+len(s.Cc) == 0 {
		return fmt.Errorf("client: register %s: no recipients", s.MessageID)
	}
	if s.Time.IsZero() {
		s.Time = t.opts.Now()
	}
	s.Time = s.Time.Round(0)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrClosed
	}
	if _, ok := t.msgs[msgKey(s.MessageID)]; ok {
		return fmt.Errorf("%w: %s", ErrAlreadySent, s.MessageID)
	}
	r := &record{Sent: newSentRecord(&s)}
	if t.store != nil {
		if err := t.store.append(r); err != nil {
			return err
		}
	}
	t.apply(r)
	t.log.Info("tracker: registered", "message-id", s.MessageID, "recipients", len(s.To)+len(s.Cc))
	return nil
}

// Withdraw undoes the registration of a message that the provider refused
// for certain (an SMTP reply refusing the data), so that it can be sent
// again under the same Message-ID. Send calls it; a failure whose outcome is
// unknown must not be withdrawn, since only the acceptance receipt, or its
// absence, can tell whether the provider took the message. A message that
// already has receipts is not withdrawn: errors.Is(err, ErrAlreadySent).
// Withdrawing a Message-ID the tracker does not follow does nothing.
func (t *Tracker) Withdraw(messageID, reason string) error {
	id := pec.NormalizeMsgID(messageID)
	if id == "" {
		return fmt.Errorf("client: withdraw: no Message-ID")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrClosed
	}
	tm, ok := t.msgs[msgKey(id)]
	if !ok {
		return nil
	}
	if len(tm.obs) > 0 {
		return fmt.Errorf("%w: %s has receipts and cannot be withdrawn", ErrAlreadySent, id)
	}
	r := &record{Withdrawn: &withdrawnRecord{MessageID: id, Reason: reason, Time: t.opts.Now().Round(0)}}
	if t.store != nil {
		if err := t.store.append(r); err != nil {
			return err
		}
	}
	t.apply(r)
	t.log.Info("tracker: withdrawn", "message-id", id, "reason", reason)
	return nil
}

// Observe feeds the tracker one classified message. A receipt or notice
// that is evidence (see ErrNotEvidence; Classify it with the provider index
// as VerifyOptions.Authority) and whose signed certification data matches
// a registered message (msgid, mittente, recipients, identificativo: see
// ErrMismatch and ErrUnknownRecipient) updates the state of the recipients
// it concerns; one that does not match is kept, reported in
// Status.Problems and by the error, and never applied; the same receipt seen again (or the same bytes fetched again)
// gives Update.Duplicate and no error. A receipt about a message the
// tracker does not follow gives an error matching ErrUnknownMessage; it is
// kept, and counted if that message is registered later. Messages that are
// not receipts give Update.Ignored.
func (t *Tracker) Observe(m *Message) (*Update, error) {
	if m == nil {
		return nil, fmt.Errorf("client: observe: nil message")
	}
	u := &Update{Kind: m.Kind}
	if m.Receipt == nil || !m.Kind.IsReceipt() {
		u.Ignored = true
		return u, nil
	}
	o, err := newObservation(m, t.opts.AllowUnverified, t.opts.Now())
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, ErrClosed
	}
	if t.seen(o) {
		u.Duplicate = true
		u.MessageID = t.owner(o)
		return u, nil
	}
	if t.store != nil {
		if o.Path, err = t.store.keep(o.Digest, m.raw); err != nil {
			return nil, err
		}
	}
	r := &record{Receipt: o}
	if t.store != nil {
		if err := t.store.append(r); err != nil {
			return nil, err
		}
	}
	owner := t.owner(o)
	var before []RecipientStatus
	if tm := t.msgs[owner]; tm != nil {
		before = tm.status.Recipients
	}
	t.apply(r)
	tm := t.msgs[owner]
	if tm == nil {
		t.log.Debug("tracker: receipt for an unknown message", "kind", m.Kind, "receipt", o.Own, "about", o.describeTarget())
		return nil, fmt.Errorf("%w: %s %s about %s", ErrUnknownMessage, pec.Kind(o.Kind), o.Own, o.describeTarget())
	}
	u.MessageID = tm.sent.MessageID
	for i, rs := range tm.status.Recipients {
		if i < len(before) && before[i].State != rs.State {
			u.Changes = append(u.Changes, Change{Recipient: rs.Address, From: before[i].State, To: rs.State})
		}
	}
	t.log.Debug("tracker: receipt", "message-id", u.MessageID, "kind", m.Kind, "receipt", o.Own, "changes", len(u.Changes))
	if err := o.bind(&tm.sent, acceptanceID(&tm.sent, sortedObs(tm.obs))); err != nil {
		t.log.Warn("tracker: receipt not applied", "message-id", u.MessageID, "kind", m.Kind, "receipt", o.Own, "err", err)
		return u, err
	}
	return u, nil
}

// Status returns the state of the sent message messageID.
func (t *Tracker) Status(messageID string) (*Status, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	tm := t.msgs[msgKey(messageID)]
	if tm == nil {
		return nil, false
	}
	return tm.status.clone(), true
}

// List returns the state of every sent message, sorted by send time.
func (t *Tracker) List() []*Status {
	t.mu.Lock()
	defer t.mu.Unlock()
	l := make([]*Status, 0, len(t.msgs))
	for _, tm := range t.msgs {
		l = append(l, tm.status.clone())
	}
	slices.SortFunc(l, func(a, b *Status) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return strings.Compare(a.MessageID, b.MessageID)
	})
	return l
}

// Close closes the store. The tracker is unusable afterwards.
func (t *Tracker) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil
	}
	t.closed = true
	if t.store != nil {
		return t.store.close()
	}
	return nil
}

// seen reports whether o was observed already, by its bytes or its identity.
func (t *Tracker) seen(o *observation) bool {
	return t.digests[o.Digest] || (o.key() != "" && t.keys[o.key()])
}

// owner returns the key of the sent message o is about, or "": the one
// its msgid names, else (a receipt without msgid) the one whose
// identificativo it has.
func (t *Tracker) owner(o *observation) string {
	if o.MsgID != "" {
		if _, ok := t.msgs[msgKey(o.MsgID)]; ok {
			return msgKey(o.MsgID)
		}
		return ""
	}
	if o.ID != "" {
		if k, ok := t.byID[msgKey(o.ID)]; ok {
			return k
		}
	}
	return ""
}

// apply folds one record into the state; replay and the live calls share it.
func (t *Tracker) apply(r *record) {
	switch {
	case r.Sent != nil:
		s := r.Sent.sent()
		k := msgKey(s.MessageID)
		if _, ok := t.msgs[k]; ok {
			return
		}
		tm := &tracked{sent: s}
		t.msgs[k] = tm
		// Receipts that came first are matched now.
		var rest []*observation
		for _, o := range t.orphans {
			if o.MsgID != "" && msgKey(o.MsgID) == k {
				tm.obs = append(tm.obs, o)
			} else {
				rest = append(rest, o)
			}
		}
		t.orphans = rest
		t.refresh(tm)
	case r.Withdrawn != nil:
		k := msgKey(r.Withdrawn.MessageID)
		if tm := t.msgs[k]; tm != nil && len(tm.obs) == 0 {
			delete(t.msgs, k)
		}
	case r.Receipt != nil:
		o := r.Receipt
		t.digests[o.Digest] = true
		if o.key() != "" {
			t.keys[o.key()] = true
		}
		k := t.owner(o)
		tm := t.msgs[k]
		if tm == nil {
			t.orphans = append(t.orphans, o)
			return
		}
		tm.obs = append(tm.obs, o)
		t.refresh(tm)
	}
}

// refresh recomputes the status of tm and learns its PEC msgid, which may
// claim orphans that named only it.
func (t *Tracker) refresh(tm *tracked) {
	for {
		tm.status = derive(tm.sent, tm.obs, t.resolve)
		if tm.status.ID == "" {
			return
		}
		k := msgKey(tm.sent.MessageID)
		t.byID[msgKey(tm.status.ID)] = k
		var claimed bool
		var rest []*observation
		for _, o := range t.orphans {
			if o.MsgID == "" && o.ID != "" && msgKey(o.ID) == msgKey(tm.status.ID) {
				tm.obs = append(tm.obs, o)
				claimed = true
			} else {
				rest = append(rest, o)
			}
		}
		t.orphans = rest
		if !claimed {
			return
		}
	}
}

// resolve returns the path of an evidence file named in the journal.
func (t *Tracker) resolve(rel string) string {
	if t.store == nil {
		return rel
	}
	return t.store.abs(rel)
}

// msgKey is the form of a Message-ID used as a map key: normalised, its
// domain lower-cased (PEC.md §9).
func msgKey(id string) string {
	id = pec.NormalizeMsgID(id)
	if i := strings.LastIndexByte(id, '@'); i >= 0 {
		return id[:i] + strings.ToLower(id[i:])
	}
	return id
}

// addrKey is the form of an address used to compare recipients.
func addrKey(a string) string {
	a = strings.TrimSpace(strings.Trim(strings.TrimSpace(a), "<>"))
	if i := strings.LastIndexByte(a, '@'); i >= 0 {
		return a[:i] + strings.ToLower(a[i:])
	}
	return a
}

// bareAddress returns the addr-spec of a mailbox or address.
func bareAddress(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("empty address")
	}
	if !strings.ContainsAny(s, "<\" ") {
		return s, nil
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", fmt.Errorf("%q: %w", s, err)
	}
	return a.Address, nil
}

func (s *Status) clone() *Status {
	c := *s
	c.To = slices.Clone(s.To)
	c.Cc = slices.Clone(s.Cc)
	c.Problems = slices.Clone(s.Problems)
	c.Recipients = slices.Clone(s.Recipients)
	for i := range c.Recipients {
		r := &c.Recipients[i]
		r.Events = slices.Clone(r.Events)
		for j := range r.Events {
			r.Events[j].Error = cloneError(r.Events[j].Error)
		}
		if r.Evidence != nil {
			e := *r.Evidence
			e.Error = cloneError(e.Error)
			r.Evidence = &e
		}
		r.Error = cloneError(r.Error)
	}
	return &c
}

func cloneError(e *pec.Error) *pec.Error {
	if e == nil {
		return nil
	}
	c := *e
	return &c
}
