package client

import (
	"errors"
	"testing"

	"github.com/pecsdk/pec/pec"
)

// TestBind checks each condition under which a receipt is evidence about a
// sent message, one at a time: the signed msgid, mittente, recipients and
// identificativo must all match (PEC.md §9, §11.2).
func TestBind(t *testing.T) {
	s := &Sent{MessageID: "m-1@client.example", From: alice, To: []string{bob}, Cc: []string{carol}}
	const id, otherID = "opec.1@pec.mittente.example", "opec.2@pec.mittente.example"
	good := func(k pec.Kind) observation {
		o := observation{Kind: kindText(k), Own: "r@p", MsgID: s.MessageID, ID: id, Sender: alice}
		switch k {
		case pec.KindTakeInCharge:
			o.Covered = []string{bob}
		case pec.KindAcceptance, pec.KindNonAcceptance, pec.KindNonAcceptanceVirus:
		default:
			o.Delivery = bob
		}
		return o
	}
	for _, tc := range []struct {
		name   string
		kind   pec.Kind
		change func(*observation)
		accept string // the acceptance's identificativo, "" when none is known
		want   error
	}{
		{"delivery", pec.KindDeliverySummary, nil, id, nil},
		{"delivery before the acceptance", pec.KindDeliverySummary, nil, "", nil},
		{"acceptance", pec.KindAcceptance, nil, "", nil},
		{"non-acceptance", pec.KindNonAcceptance, nil, "", nil},
		{"presa in carico", pec.KindTakeInCharge, nil, id, nil},
		{"msgid in other case of domain", pec.KindDeliverySummary, func(o *observation) { o.MsgID = "m-1@CLIENT.example" }, id, nil},
		{"other msgid", pec.KindDeliverySummary, func(o *observation) { o.MsgID = "m-2@client.example" }, id, ErrMismatch},
		{"other msgid, local part in other case", pec.KindDeliverySummary, func(o *observation) { o.MsgID = "M-1@client.example" }, id, ErrMismatch},
		{"no msgid, identificativo of the acceptance", pec.KindDeliverySummary, func(o *observation) { o.MsgID = "" }, id, nil},
		{"no msgid, no acceptance yet", pec.KindDeliverySummary, func(o *observation) { o.MsgID = "" }, "", ErrMismatch},
		{"no msgid, other identificativo", pec.KindDeliverySummary, func(o *observation) { o.MsgID, o.ID = "", otherID }, id, ErrMismatch},
		{"other mittente", pec.KindDeliverySummary, func(o *observation) { o.Sender = "mallory@pec.mittente.example" }, id, ErrMismatch},
		{"no mittente", pec.KindAcceptance, func(o *observation) { o.Sender = "" }, "", ErrMismatch},
		{"other identificativo", pec.KindDeliverySummary, func(o *observation) { o.ID = otherID }, id, ErrMismatch},
		{"no identificativo", pec.KindDeliveryError, func(o *observation) { o.ID = "" }, id, ErrMismatch},
		{"other identificativo, no acceptance yet", pec.KindDeliverySummary, func(o *observation) { o.ID = otherID }, "", nil},
		{"consegna not a recipient", pec.KindDeliverySummary, func(o *observation) { o.Delivery = dora }, id, ErrUnknownRecipient},
		{"no consegna", pec.KindDeliveryTimeout24h, func(o *observation) { o.Delivery = "" }, id, ErrUnknownRecipient},
		{"ricezione with a non-recipient", pec.KindTakeInCharge, func(o *observation) { o.Covered = []string{bob, dora} }, id, ErrUnknownRecipient},
		{"no ricezione", pec.KindTakeInCharge, func(o *observation) { o.Covered = nil }, id, ErrUnknownRecipient},
		{"Cc recipient", pec.KindDeliverySummary, func(o *observation) { o.Delivery = carol }, id, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := good(tc.kind)
			if tc.change != nil {
				tc.change(&o)
			}
			err := o.bind(s, tc.accept)
			if (err == nil) != (tc.want == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("bind = %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("no sender registered", func(t *testing.T) {
		o := good(pec.KindAcceptance)
		if err := o.bind(&Sent{MessageID: s.MessageID, To: s.To}, ""); !errors.Is(err, ErrMismatch) {
			t.Fatalf("bind = %v, want ErrMismatch", err)
		}
	})
}
