package spool

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// diskItem is the header of an item's file.
type diskItem struct {
	ID       string            `json:"id"`
	Role     Role              `json:"role,omitempty"`
	From     string            `json:"from,omitempty"`
	To       []string          `json:"to,omitempty"`
	User     string            `json:"user,omitempty"`
	Peer     string            `json:"peer,omitempty"`
	Helo     string            `json:"helo,omitempty"`
	Received time.Time         `json:"received"`
	Meta     map[string]string `json:"meta,omitempty"`
}

// diskStep is the header of a step's file.
type diskStep struct {
	ID   string    `json:"id"`
	Step string    `json:"step"`
	Time time.Time `json:"time"`
}

// diskRetry is the header of a retry's file (which has no body).
type diskRetry struct {
	ID       string    `json:"id"`
	Step     string    `json:"step"`
	Attempts int       `json:"attempts"`
	Next     time.Time `json:"next"`
	Cause    string    `json:"cause,omitempty"`
}

func itemHeader(it *Item) ([]byte, error) {
	return json.Marshal(diskItem{it.ID, it.Role, it.From, it.To, it.User, it.Peer, it.Helo, it.Received, it.Meta})
}

// decodeStrict decodes a header, refusing unknown fields and trailing
// data.
func decodeStrict(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return fmt.Errorf("data after the header")
	}
	return nil
}

// parseItemHeader decodes and checks an item's header.
func parseItemHeader(b []byte) (*Item, error) {
	var d diskItem
	if err := decodeStrict(b, &d); err != nil {
		return nil, err
	}
	it := &Item{ID: d.ID, Role: d.Role, From: d.From, To: d.To, User: d.User, Peer: d.Peer, Helo: d.Helo, Received: d.Received, Meta: d.Meta}
	if len(it.Meta) == 0 {
		it.Meta = nil
	}
	if err := validItem(it); err != nil {
		return nil, err
	}
	if it.Received.IsZero() {
		return nil, fmt.Errorf("no received time")
	}
	return it, nil
}

// parseStepHeader decodes and checks a step's header.
func parseStepHeader(b []byte) (*diskStep, error) {
	var d diskStep
	if err := decodeStrict(b, &d); err != nil {
		return nil, err
	}
	if err := ValidID(d.ID); err != nil {
		return nil, err
	}
	if err := validStep(d.Step); err != nil {
		return nil, err
	}
	return &d, nil
}

// parseRetryHeader decodes and checks a retry's header.
func parseRetryHeader(b []byte) (*diskRetry, error) {
	var d diskRetry
	if err := decodeStrict(b, &d); err != nil {
		return nil, err
	}
	if err := ValidID(d.ID); err != nil {
		return nil, err
	}
	if err := validStep(d.Step); err != nil {
		return nil, err
	}
	if d.Attempts < 1 {
		return nil, fmt.Errorf("%d attempts", d.Attempts)
	}
	if err := validRetry(d.Next, d.Cause); err != nil {
		return nil, err
	}
	return &d, nil
}
