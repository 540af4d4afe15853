package daticert

import (
	"bytes"
	"encoding/xml"
	"strings"

	"github.com/pecsdk/pec/pec"
)

// Marshal returns d as daticert.xml. It is strict: it calls Validate first
// and returns its *ValidationError. The output is UTF-8 with an XML
// declaration and no DOCTYPE, the elements in the order of the DTD, two
// spaces of indentation per level, and every attribute written, defaults
// included (PEC.md §8.3, §8.4). The time is written in Italian legal time,
// truncated to the second.
func (d *Data) Marshal() ([]byte, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	w := &writer{}
	w.b.Grow(768 + 64*len(d.Recipients) + 64*len(d.Receipts))
	w.b.WriteString(xml.Header)

	w.b.WriteString(`<` + elRoot + ` ` + attrType + `="`)
	w.escape(string(d.Type))
	w.b.WriteString(`" ` + attrError + `="`)
	w.escape(string(errorCode(d.Error)))
	w.b.WriteString("\">\n")

	w.open(1, elHeader)
	w.leaf(2, elSender, d.Sender)
	for _, r := range d.Recipients {
		w.indent(2)
		w.b.WriteString(`<` + elRecipient + ` ` + attrType + `="`)
		w.escape(string(recipientType(r.Type)))
		w.b.WriteString(`">`)
		w.escape(r.Address)
		w.b.WriteString("</" + elRecipient + ">\n")
	}
	w.leaf(2, elReplyTo, d.ReplyTo)
	w.leaf(2, elSubject, d.Subject)
	w.close(1, elHeader)

	w.open(1, elData)
	w.leaf(2, elProvider, d.Provider)
	day, clock, zone := pec.FormatDate(d.Time)
	w.indent(2)
	w.b.WriteString(`<` + elDate + ` ` + attrZone + `="`)
	w.escape(zone)
	w.b.WriteString("\">\n")
	w.leaf(3, elDay, day)
	w.leaf(3, elClock, clock)
	w.close(2, elDate)
	w.leaf(2, elID, d.ID)
	if d.MsgID != "" {
		w.leaf(2, elMsgID, d.MsgID)
	}
	if d.ReceiptType != "" {
		w.indent(2)
		w.b.WriteString(`<` + elReceipt + ` ` + attrType + `="`)
		w.escape(string(d.ReceiptType))
		w.b.WriteString("\"/>\n")
	}
	if d.Delivery != "" {
		w.leaf(2, elDelivery, d.Delivery)
	}
	for _, r := range d.Receipts {
		w.leaf(2, elReception, r)
	}
	if d.ExtendedError != "" {
		w.leaf(2, elExtendedErr, d.ExtendedError)
	}
	w.close(1, elData)
	w.close(0, elRoot)
	return w.b.Bytes(), nil
}

// writer writes the indented elements of Marshal.
type writer struct {
	b bytes.Buffer
}

func (w *writer) indent(level int) {
	for range level {
		w.b.WriteString("  ")
	}
}

// escape writes s escaped for text and attribute values, as
// xml.EscapeText does. Validate has refused the characters XML cannot carry,
// so a value without markup characters is written as it is.
func (w *writer) escape(s string) {
	if !strings.ContainsAny(s, "\"'&<>\t\n\r") {
		w.b.WriteString(s)
		return
	}
	_ = xml.EscapeText(&w.b, []byte(s)) // a bytes.Buffer never fails
}

func (w *writer) open(level int, name string) {
	w.indent(level)
	w.b.WriteByte('<')
	w.b.WriteString(name)
	w.b.WriteString(">\n")
}

func (w *writer) close(level int, name string) {
	w.indent(level)
	w.end(name)
}

// end writes the end tag of name and a line feed.
func (w *writer) end(name string) {
	w.b.WriteString("</")
	w.b.WriteString(name)
	w.b.WriteString(">\n")
}

func (w *writer) leaf(level int, name, text string) {
	w.indent(level)
	w.b.WriteByte('<')
	w.b.WriteString(name)
	w.b.WriteByte('>')
	w.escape(text)
	w.end(name)
}
