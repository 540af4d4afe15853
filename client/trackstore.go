package client

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pecsdk/pec/pec"
)

// The tracker's store is a journal of JSON lines, one record a line, each
// append written whole and fsync'd before the call returns, and replayed in
// order at open. The signed receipts themselves are kept beside it, one file
// per receipt named by the SHA-256 of its bytes, written and synced before
// the journal line that names them. A crash can leave only an incomplete last
// line (dropped at open, ErrTornRecord) or an evidence file no line names yet
// (harmless: the receipt is stored again when it is observed again).

const (
	journalName  = "tracker.jsonl"
	evidenceName = "evidence"
	// maxRecord bounds one journal line; real records are under 4 KiB.
	maxRecord = 1 << 20
	// storeVersion is the version of the record format.
	storeVersion = 1
)

// record is one line of the journal: exactly one of its fields is set.
type record struct {
	V         int              `json:"v"`
	Sent      *sentRecord      `json:"sent,omitempty"`
	Receipt   *observation     `json:"receipt,omitempty"`
	Withdrawn *withdrawnRecord `json:"withdrawn,omitempty"`
}

// withdrawnRecord undoes a registration: the provider refused the message,
// so it was never sent and may be sent again under the same Message-ID.
type withdrawnRecord struct {
	MessageID string    `json:"msgid"`
	Reason    string    `json:"reason,omitempty"`
	Time      time.Time `json:"time"`
}

// sentRecord is a Sent as the journal writes it: plain strings, so that
// values outside an enumeration (an empty receipt type) read back as written.
type sentRecord struct {
	MessageID   string    `json:"msgid"`
	From        string    `json:"from,omitempty"`
	To          []string  `json:"to,omitempty"`
	Cc          []string  `json:"cc,omitempty"`
	Subject     string    `json:"subject,omitempty"`
	Time        time.Time `json:"time"`
	ReceiptType string    `json:"receipt_type,omitempty"`
}

func newSentRecord(s *Sent) *sentRecord {
	return &sentRecord{MessageID: s.MessageID, From: s.From, To: s.To, Cc: s.Cc, Subject: s.Subject, Time: s.Time, ReceiptType: string(s.ReceiptType)}
}

func (r *sentRecord) sent() Sent {
	return Sent{MessageID: r.MessageID, From: r.From, To: r.To, Cc: r.Cc, Subject: r.Subject, Time: r.Time, ReceiptType: pec.ReceiptType(r.ReceiptType)}
}

// obsRecipient is one daticert destinatari element.
type obsRecipient struct {
	Address string `json:"address"`
	Type    string `json:"tipo,omitempty"`
}

// observation is what the tracker keeps of one receipt or notice: the data
// needed to correlate it and the reference to its signed bytes.
type observation struct {
	Kind       kindText       `json:"kind"`
	Own        string         `json:"own,omitempty"`         // the receipt's own Message-ID
	MsgID      string         `json:"msgid,omitempty"`       // daticert msgid: the client's Message-ID
	ID         string         `json:"id,omitempty"`          // daticert identificativo
	Sender     string         `json:"mittente,omitempty"`    // daticert mittente
	Time       time.Time      `json:"time"`                  // daticert data
	Provider   string         `json:"provider,omitempty"`    // daticert gestore-emittente
	Delivery   string         `json:"consegna,omitempty"`    // daticert consegna (or the virus notice's recipient)
	Covered    []string       `json:"ricezione,omitempty"`   // daticert ricezione
	Recipients []obsRecipient `json:"destinatari,omitempty"` // daticert destinatari, with tipo
	Code       string         `json:"errore,omitempty"`
	Extended   string         `json:"errore_esteso,omitempty"`
	ByText     bool           `json:"by_text,omitempty"` // a timeout notice whose text names 12 or 24 hours
	Digest     string         `json:"sha256"`
	Path       string         `json:"path,omitempty"` // evidence file, relative to the store
	Verified   bool           `json:"verified"`       // OK, verified live, its signer's provider manages the domains it speaks for
}

// kindText is a pec.Kind written by name, so that the journal does not depend
// on the numbering of the catalogue.
type kindText pec.Kind

func (k kindText) MarshalText() ([]byte, error) {
	if !pec.Kind(k).Valid() {
		return nil, fmt.Errorf("client: invalid kind %d", int(k))
	}
	return []byte(pec.Kind(k).String()), nil
}

func (k *kindText) UnmarshalText(b []byte) error {
	v, err := pec.ParseKind(string(b))
	if err != nil {
		return err
	}
	*k = kindText(v)
	return nil
}

// journalFile is what the store needs of the journal: an *os.File, or in
// tests one that fails on demand.
type journalFile interface {
	io.ReadWriteSeeker
	Sync() error
	Truncate(size int64) error
	Close() error
}

// store is the journal file and the evidence folder.
type store struct {
	journal  string
	evidence string
	f        journalFile
	sync     bool
	readOnly bool
	unlock   func()

	evidenceReady bool  // the evidence folder exists
	size          int64 // the journal's length: the end of its last whole record
	broken        error // set when an append failed in a way that leaves the journal in doubt
}

func openStore(path string, sync, readOnly bool) (*store, error) {
	s := &store{sync: sync, readOnly: readOnly}
	if fi, err := os.Stat(path); (err == nil && fi.IsDir()) || strings.HasSuffix(path, string(filepath.Separator)) {
		if !readOnly {
			if err := os.MkdirAll(path, 0o700); err != nil {
				return nil, fmt.Errorf("client: tracker store: %w", err)
			}
		}
		s.journal = filepath.Join(path, journalName)
		s.evidence = filepath.Join(path, evidenceName)
	} else {
		s.journal = path
		s.evidence = path + "." + evidenceName
	}
	if readOnly {
		// No lock: a writer may be appending; what it has not finished
		// looks like a torn last line, which a reader leaves in place.
		f, err := os.Open(s.journal)
		if err != nil {
			return nil, fmt.Errorf("client: tracker store: %w", err)
		}
		s.f, s.unlock = f, func() {}
		return s, nil
	}
	f, err := os.OpenFile(s.journal, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("client: tracker store: %w", err)
	}
	unlock, err := lockFile(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("client: tracker store %s: %w", s.journal, err)
	}
	s.f, s.unlock = f, unlock
	return s, nil
}

// replay reads the journal from the start and calls apply for each record.
// An incomplete last record is cut off and reported with ErrTornRecord;
// any other unreadable record stops the replay with ErrCorruptStore.
func (s *store) replay(apply func(*record)) error {
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("client: tracker store: %w", err)
	}
	end, torn, err := replayJournal(s.f, apply)
	if err != nil {
		return fmt.Errorf("%s: %w", s.journal, err)
	}
	if torn != nil && !s.readOnly {
		if err := s.f.Truncate(end); err != nil {
			return fmt.Errorf("client: tracker store: repairing %s: %w", s.journal, err)
		}
		if err := s.f.Sync(); err != nil {
			return fmt.Errorf("client: tracker store: repairing %s: %w", s.journal, err)
		}
	}
	if _, err := s.f.Seek(end, io.SeekStart); err != nil && !s.readOnly {
		return fmt.Errorf("client: tracker store: %w", err)
	}
	s.size = end
	if torn != nil {
		return fmt.Errorf("%s: %w", s.journal, torn)
	}
	return nil
}

// replayJournal decodes the records of r. It returns the offset after the
// last good record and, when the last line was incomplete, an error matching
// ErrTornRecord; other damage is an error matching ErrCorruptStore.
func replayJournal(r io.Reader, apply func(*record)) (end int64, torn, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	line := 0
	for {
		b, rerr := readLine(br)
		if len(b) == 0 && rerr == io.EOF {
			return end, nil, nil
		}
		line++
		if rerr != nil && rerr != io.EOF {
			if errors.Is(rerr, errLineTooLong) {
				return end, nil, fmt.Errorf("%w: line %d at offset %d: over %d bytes", ErrCorruptStore, line, end, maxRecord)
			}
			return end, nil, fmt.Errorf("client: tracker store: %w", rerr)
		}
		complete := rerr == nil // ended by a newline
		rec, derr := decodeRecord(b)
		if derr != nil || !complete {
			if rerr == io.EOF {
				// Only the last line may be cut short by a crash.
				why := "no final newline"
				if derr != nil {
					why = derr.Error()
				}
				return end, fmt.Errorf("%w: line %d at offset %d (%d bytes): %s", ErrTornRecord, line, end, len(b), why), nil
			}
			return end, nil, fmt.Errorf("%w: line %d at offset %d: %v", ErrCorruptStore, line, end, derr)
		}
		apply(rec)
		end += int64(len(b)) + 1
	}
}

var errLineTooLong = errors.New("line too long")

// readLine returns the next line without its newline; err is nil when the
// line ended with a newline, io.EOF when the input ended first.
func readLine(br *bufio.Reader) ([]byte, error) {
	var out []byte
	for {
		chunk, err := br.ReadSlice('\n')
		out = append(out, chunk...)
		if len(out) > maxRecord+1 {
			return out, errLineTooLong
		}
		switch {
		case err == nil:
			return out[:len(out)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return out, err
		}
	}
}

func decodeRecord(b []byte) (*record, error) {
	var rec record
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("data after the record")
	}
	if rec.V != storeVersion {
		return nil, fmt.Errorf("record version %d, want %d", rec.V, storeVersion)
	}
	// An empty list reads as none, as it is written.
	if r := rec.Sent; r != nil {
		r.To, r.Cc = nilIfEmpty(r.To), nilIfEmpty(r.Cc)
	}
	if o := rec.Receipt; o != nil {
		o.Covered = nilIfEmpty(o.Covered)
		if len(o.Recipients) == 0 {
			o.Recipients = nil
		}
	}
	set := 0
	for _, ok := range []bool{rec.Sent != nil, rec.Receipt != nil, rec.Withdrawn != nil} {
		if ok {
			set++
		}
	}
	switch {
	case set != 1:
		return nil, errors.New("record with not exactly one of sent, receipt and withdrawn")
	case rec.Sent != nil:
		if pec.NormalizeMsgID(rec.Sent.MessageID) == "" {
			return nil, errors.New("sent record without Message-ID")
		}
	case rec.Receipt != nil:
		if !pec.Kind(rec.Receipt.Kind).IsReceipt() || rec.Receipt.Digest == "" {
			return nil, errors.New("receipt record without kind or digest")
		}
	case rec.Withdrawn != nil:
		if pec.NormalizeMsgID(rec.Withdrawn.MessageID) == "" {
			return nil, errors.New("withdrawn record without Message-ID")
		}
	}
	return &rec, nil
}

func nilIfEmpty(l []string) []string {
	if len(l) == 0 {
		return nil
	}
	return l
}

// append writes r as one line and syncs it.
func (s *store) append(r *record) error {
	if s.readOnly {
		return ErrReadOnly
	}
	r.V = storeVersion
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("client: tracker store: encoding record: %w", err)
	}
	if len(b) > maxRecord {
		return fmt.Errorf("client: tracker store: record of %d bytes over %d", len(b), maxRecord)
	}
	b = append(b, '\n')
	if s.broken != nil {
		return s.broken
	}
	if _, err := s.f.Write(b); err != nil {
		// Cut off what was written of the record, so that the journal
		// still ends with a whole one (a disk full, a quota).
		if terr := s.f.Truncate(s.size); terr != nil {
			s.broken = fmt.Errorf("client: tracker store: %s unusable after a failed append: %w", s.journal, terr)
		} else if _, serr := s.f.Seek(s.size, io.SeekStart); serr != nil {
			s.broken = fmt.Errorf("client: tracker store: %s unusable after a failed append: %w", s.journal, serr)
		}
		return fmt.Errorf("client: tracker store: appending to %s: %w", s.journal, err)
	}
	if s.sync {
		if err := s.f.Sync(); err != nil {
			// After a failed fsync what reached the disk is unknown:
			// refuse further appends rather than build on it.
			s.broken = fmt.Errorf("client: tracker store: %s unusable after a failed sync: %w", s.journal, err)
			return s.broken
		}
	}
	s.size += int64(len(b))
	return nil
}

// keep writes the receipt bytes raw to the evidence folder, named by digest,
// and returns the path relative to the store's folder. An existing file with
// the same bytes is kept.
func (s *store) keep(digest string, raw []byte) (string, error) {
	if s.readOnly {
		return "", ErrReadOnly
	}
	if raw == nil {
		return "", nil
	}
	if len(digest) != 64 || strings.ContainsAny(digest, "/\\.") {
		return "", fmt.Errorf("client: tracker store: bad digest %q", digest)
	}
	name := filepath.Join(s.evidence, digest+".eml")
	rel, err := filepath.Rel(filepath.Dir(s.journal), name)
	if err != nil {
		rel = name
	}
	if b, err := os.ReadFile(name); err == nil && sha256.Sum256(b) == sha256.Sum256(raw) {
		// Written before a crash that came before its journal line.
		return rel, nil
	}
	if !s.evidenceReady {
		if err := os.MkdirAll(s.evidence, 0o700); err != nil {
			return "", fmt.Errorf("client: tracker store: %w", err)
		}
		s.evidenceReady = true
	}
	tmp, err := os.CreateTemp(s.evidence, ".tmp-*")
	if err != nil {
		return "", fmt.Errorf("client: tracker store: %w", err)
	}
	_, err = tmp.Write(raw)
	if err == nil && s.sync {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), name)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("client: tracker store: keeping receipt: %w", err)
	}
	if s.sync {
		if err := syncEvidenceDir(s.evidence); err != nil {
			return "", fmt.Errorf("client: tracker store: keeping receipt: %w", err)
		}
	}
	return rel, nil
}

// abs returns the path of an evidence file named in the journal.
func (s *store) abs(rel string) string {
	if rel == "" || filepath.IsAbs(rel) {
		return rel
	}
	return filepath.Join(filepath.Dir(s.journal), rel)
}

func (s *store) close() error {
	if s.f == nil {
		return nil
	}
	s.unlock()
	err := s.f.Close()
	s.f = nil
	if err != nil {
		return fmt.Errorf("client: tracker store: %w", err)
	}
	return nil
}

func syncEvidenceDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
