package client

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pecsdk/pec/pec/smime"
)

// StateFile is the name of the fetch state in a local folder.
const StateFile = ".pec-fetch.json"

// tmpPrefix starts the names of files being written; a crash leaves them
// behind, and the next fetch removes them.
const tmpPrefix = ".tmp-"

// State saving: after this many messages or this long, whichever first.
const (
	saveEvery  = 32
	saveWithin = 2 * time.Second
)

// folder is the local folder of fetched messages: one file per message,
// named by the SHA-256 of its bytes, so that a message fetched again is
// recognised and never stored twice, and the fetch state beside them.
type folder struct {
	dir      string
	state    *fetchState
	unsaved  int
	lastSave time.Time
}

// fetchState is what was fetched, per account: the persisted form of
// .pec-fetch.json.
type fetchState struct {
	Version  int                      `json:"version"`
	Accounts map[string]*accountState `json:"accounts"`
}

// accountState is what was fetched from one mailbox.
type accountState struct {
	UIDValidity uint32   `json:"uidValidity,omitempty"` // IMAP: the UIDVALIDITY the UIDs belong to
	LastUID     uint32   `json:"lastUID,omitempty"`     // IMAP: every UID up to this one is in the folder
	UIDL        []string `json:"uidl,omitempty"`        // POP3: the unique-ids in the folder
}

func (s *fetchState) account(key string) *accountState {
	a := s.Accounts[key]
	if a == nil {
		a = &accountState{}
		s.Accounts[key] = a
	}
	return a
}

// openFolder opens (creating it) the folder dir and reads its state.
func openFolder(dir string) (*folder, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("client: folder: %w", err)
	}
	f := &folder{dir: dir, state: &fetchState{Version: 1, Accounts: map[string]*accountState{}}, lastSave: time.Now()}
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("client: folder: %w", err)
	default:
		if err := json.Unmarshal(b, f.state); err != nil {
			return nil, fmt.Errorf("client: folder: %s: %w", filepath.Join(dir, StateFile), err)
		}
		if f.state.Version != 1 {
			return nil, fmt.Errorf("client: folder: %s: unknown version %d", filepath.Join(dir, StateFile), f.state.Version)
		}
		if f.state.Accounts == nil {
			f.state.Accounts = map[string]*accountState{}
		}
	}
	// Leftovers of an interrupted write: never renamed, so never counted.
	tmps, _ := filepath.Glob(filepath.Join(dir, tmpPrefix+"*"))
	for _, t := range tmps {
		_ = os.Remove(t)
	}
	return f, nil
}

// put writes the message read from r to the folder: under a temporary
// name, synced, then renamed to its digest and the folder synced. isNew is
// false when the folder already held the same bytes.
func (f *folder) put(r io.Reader) (path string, size int64, isNew bool, err error) {
	tmp, err := os.CreateTemp(f.dir, tmpPrefix+"*")
	if err != nil {
		return "", 0, false, fmt.Errorf("client: folder: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	size, err = io.Copy(io.MultiWriter(tmp, h), r)
	if err != nil {
		return "", 0, false, err
	}
	if err = tmp.Sync(); err != nil {
		return "", 0, false, fmt.Errorf("client: folder: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return "", 0, false, fmt.Errorf("client: folder: %w", err)
	}
	path = filepath.Join(f.dir, hex.EncodeToString(h.Sum(nil))[:32]+".eml")
	if _, serr := os.Stat(path); serr == nil {
		os.Remove(tmp.Name())
		return path, size, false, nil
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return "", 0, false, fmt.Errorf("client: folder: %w", err)
	}
	if err = syncDir(f.dir); err != nil {
		return "", 0, false, err
	}
	return path, size, true, nil
}

// classify reads back a stored message and classifies it in place.
func (f *folder) classify(path string, opts *smime.VerifyOptions) (*Message, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return Classify(fh, opts)
}

// maybeSaveState saves the state when enough has changed since the last
// save. Every message it records is already on disk.
func (f *folder) maybeSaveState() error {
	f.unsaved++
	if f.unsaved >= saveEvery || time.Since(f.lastSave) >= saveWithin {
		return f.saveState()
	}
	return nil
}

// saveState writes the state atomically: a temporary file, synced,
// renamed over the old one, the folder synced.
func (f *folder) saveState() error {
	b, err := json.MarshalIndent(f.state, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(f.dir, tmpPrefix+"state-*")
	if err != nil {
		return fmt.Errorf("client: folder: %w", err)
	}
	_, err = tmp.Write(append(b, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(f.dir, StateFile))
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("client: folder: saving the fetch state: %w", err)
	}
	f.unsaved, f.lastSave = 0, time.Now()
	return syncDir(f.dir)
}

func (f *folder) close() {}

// syncDir makes the names in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("client: folder: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !strings.Contains(err.Error(), "invalid argument") {
		return fmt.Errorf("client: folder: sync %s: %w", dir, err)
	}
	return nil
}
