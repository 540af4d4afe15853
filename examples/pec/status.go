package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/pec"
)

// statusNow is the clock of pec status, which says which recipients are
// overdue.
var statusNow = time.Now

// storeEnv names the environment variable that sets the default tracker store.
const storeEnv = "PEC_STORE"

// defaultStore returns the tracker store that send, fetch and status share
// when --store is not given: $PEC_STORE, else ~/.pec/tracker/.
func defaultStore() string {
	if p := os.Getenv(storeEnv); p != "" {
		return p
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(".pec", "tracker") + string(filepath.Separator)
	}
	return filepath.Join(home, ".pec", "tracker") + string(filepath.Separator)
}

// cmdStatus prints the state of every recipient of every message sent
// through the tracker store: pec status [--json] [--store PATH] [MESSAGE-ID...].
// The store is opened read-only, so that it can be read while a fetch is
// feeding it.
func cmdStatus(args []string, stdout io.Writer) error {
	fs := newFlagSet("status")
	asJSON := fs.Bool("json", false, "print JSON")
	store := fs.String("store", defaultStore(), "tracker store (folder or journal file)")
	ids, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	tr, err := client.OpenTracker(*store, &client.TrackerOptions{ReadOnly: true})
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("status: no tracker store at %s (send a message first, or give --store)", *store)
	}
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	defer tr.Close()
	var list []*client.Status
	if len(ids) == 0 {
		list = tr.List()
	}
	for _, id := range ids {
		st, ok := tr.Status(id)
		if !ok {
			return fmt.Errorf("status: %s: %w", id, client.ErrUnknownMessage)
		}
		list = append(list, st)
	}
	now := statusNow()
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(statusJSONOf(list, now))
	}
	return statusTable(stdout, list, now)
}

// overdue returns the addresses of st's overdue recipients.
func overdue(st *client.Status, now time.Time) map[string]bool {
	m := map[string]bool{}
	for _, r := range st.Overdue(now) {
		m[r.Address] = true
	}
	return m
}

// statusTable writes one line per recipient.
func statusTable(w io.Writer, list []*client.Status, now time.Time) error {
	if len(list) == 0 {
		_, err := fmt.Fprintln(w, "no messages sent")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MESSAGE-ID\tSENT\tRECIPIENT\tSTATE\tSINCE\tEVIDENCE")
	for _, st := range list {
		late := overdue(st, now)
		for i, r := range st.Recipients {
			id, sent := st.MessageID, formatTime(st.Time)
			if i > 0 {
				id, sent = "", ""
			}
			addr := r.Address
			if r.Copy {
				addr += " (cc)"
			}
			state := r.State.String()
			if r.Error != nil {
				state += " (" + describeError(r.Error) + ")"
			}
			if late[r.Address] {
				state += " [overdue]"
			}
			evidence := "-"
			if r.Evidence != nil {
				evidence = r.Evidence.Kind.String()
				if r.Evidence.Path != "" {
					evidence += " " + r.Evidence.Path
				}
				if !r.Evidence.Verified {
					evidence += " [unverified]"
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", id, sent, addr, state, formatTime(r.Time), evidence)
		}
		for _, p := range st.Problems {
			fmt.Fprintf(tw, "\t\t\tproblem: %s\t\t\n", p)
		}
	}
	return tw.Flush()
}

func describeError(e *pec.Error) string {
	var parts []string
	if e.Code != "" && e.Code != pec.ErrorNone {
		parts = append(parts, string(e.Code))
	}
	if e.Extended != "" {
		parts = append(parts, e.Extended)
	}
	if len(parts) == 0 {
		return e.Kind.String()
	}
	return strings.Join(parts, ": ")
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return pec.Local(t).Format("2006-01-02 15:04:05 -0700")
}

// The JSON form of the table: one object per message.
type (
	statusMessageJSON struct {
		MessageID   string                `json:"message_id"`
		ID          string                `json:"pec_id,omitempty"`
		From        string                `json:"from,omitempty"`
		Subject     string                `json:"subject,omitempty"`
		Sent        time.Time             `json:"sent"`
		ReceiptType string                `json:"receipt_type,omitempty"`
		Final       bool                  `json:"final"`
		Recipients  []statusRecipientJSON `json:"recipients"`
		Problems    []string              `json:"problems,omitempty"`
	}
	statusRecipientJSON struct {
		Address  string              `json:"address"`
		Copy     bool                `json:"cc,omitempty"`
		Type     string              `json:"type,omitempty"`
		State    client.State        `json:"state"`
		Final    bool                `json:"final"`
		Overdue  bool                `json:"overdue,omitempty"`
		Time     *time.Time          `json:"time,omitempty"`
		Evidence *statusEvidenceJSON `json:"evidence,omitempty"`
		Error    *statusErrorJSON    `json:"error,omitempty"`
		Events   []string            `json:"events,omitempty"`
	}
	statusEvidenceJSON struct {
		Kind      string    `json:"kind"`
		MessageID string    `json:"message_id,omitempty"`
		Time      time.Time `json:"time"`
		Provider  string    `json:"provider,omitempty"`
		SHA256    string    `json:"sha256"`
		Path      string    `json:"path,omitempty"`
		Verified  bool      `json:"verified"`
	}
	statusErrorJSON struct {
		Code     string `json:"code,omitempty"`
		Extended string `json:"extended,omitempty"`
		Status   string `json:"status,omitempty"`
	}
)

func statusJSONOf(list []*client.Status, now time.Time) []statusMessageJSON {
	out := []statusMessageJSON{}
	for _, st := range list {
		late := overdue(st, now)
		js := statusMessageJSON{
			MessageID: st.MessageID, ID: st.ID, From: st.From, Subject: st.Subject, Sent: st.Time,
			ReceiptType: string(st.ReceiptType), Final: st.Final(), Recipients: []statusRecipientJSON{}, Problems: st.Problems,
		}
		for _, r := range st.Recipients {
			jr := statusRecipientJSON{Address: r.Address, Copy: r.Copy, Type: string(r.Type), State: r.State, Final: r.State.Final(), Overdue: late[r.Address]}
			if !r.Time.IsZero() {
				t := r.Time
				jr.Time = &t
			}
			if e := r.Evidence; e != nil {
				jr.Evidence = &statusEvidenceJSON{Kind: e.Kind.String(), MessageID: e.MessageID, Time: e.Time, Provider: e.Provider, SHA256: e.Digest, Path: e.Path, Verified: e.Verified}
			}
			if e := r.Error; e != nil {
				jr.Error = &statusErrorJSON{Code: string(e.Code), Extended: e.Extended, Status: e.Status()}
			}
			for _, ev := range r.Events {
				jr.Events = append(jr.Events, ev.Kind.String())
			}
			js.Recipients = append(js.Recipients, jr)
		}
		out = append(out, js)
	}
	return out
}
