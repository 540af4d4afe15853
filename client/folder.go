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

	"github.com/pecsdk/pec/pec/smime"
)

// StateFile is the name of the fetch state in a local folder: a snapshot,
// and beside it a journal (StateFile + ".log") of what was fetched since,
// one line per message, synced before the next message is counted.
const StateFile = ".pec-fetch.json"

// journalSuffix names the journal beside the snapshot.
const journalSuffix = ".log"

// lockName is the file locked while a fetch uses the folder.
const lockName = ".pec-fetch.lock"

// tmpPrefix starts the names of files being written; a crash leaves them
// behind, and the next fetch removes them.
const tmpPrefix = ".tmp-"

// folder is the local folder of fetched messages: one file per message,
// named by the SHA-256 of its bytes, so that a message fetched again is
// recognised and never stored twice, and the fetch state beside them.
type folder struct {
	dir     string
	state   *fetchState
	journal *os.File // appended to, synced per record
	lock    *os.File // held while the folder is open
	unlock  func()
}

// fetchRecord is one journal line: a message of an account is in the folder.
type fetchRecord struct {
	Account     string `json:"a"`
	UIDValidity uint32 `json:"v,omitempty"` // IMAP
	UID         uint32 `json:"u,omitempty"` // IMAP: LastUID is now this
	UIDL        string `json:"l,omitempty"` // POP3
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
	f := &folder{dir: dir, state: &fetchState{Version: 1, Accounts: map[string]*accountState{}}}
	// One fetch at a time per folder: a second would rewrite the state
	// under the first.
	lf, err := os.OpenFile(filepath.Join(dir, lockName), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("client: folder: %w", err)
	}
	unlock, err := lockFile(lf)
	if err != nil {
		lf.Close()
		return nil, fmt.Errorf("client: folder %s: %w", dir, err)
	}
	f.lock, f.unlock = lf, unlock
	ok := false
	defer func() {
		if !ok {
			f.close()
		}
	}()
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
	if err := f.replay(); err != nil {
		return nil, err
	}
	// Fold the journal into a new snapshot and start an empty one.
	if err := f.saveState(); err != nil {
		return nil, err
	}
	ok = true
	return f, nil
}

// replay applies the journal left by the last run to the snapshot. A last
// line cut short by a crash is dropped: its message is fetched again, and
// found already in the folder.
func (f *folder) replay() error {
	b, err := os.ReadFile(filepath.Join(f.dir, StateFile+journalSuffix))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("client: folder: %w", err)
	}
	seen := map[string]map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		var r fetchRecord
		if line == "" || json.Unmarshal([]byte(line), &r) != nil || r.Account == "" {
			continue
		}
		a := f.state.account(r.Account)
		if r.UIDL != "" {
			if seen[r.Account] == nil {
				seen[r.Account] = map[string]bool{}
				for _, u := range a.UIDL {
					seen[r.Account][u] = true
				}
			}
			if !seen[r.Account][r.UIDL] {
				seen[r.Account][r.UIDL] = true
				a.UIDL = append(a.UIDL, r.UIDL)
			}
			continue
		}
		if r.UIDValidity != a.UIDValidity {
			a.UIDValidity, a.LastUID = r.UIDValidity, r.UID
		} else if r.UID > a.LastUID {
			a.LastUID = r.UID
		}
	}
	return nil
}

// record appends r to the journal and syncs it. Call it only once the
// message it records is on disk.
func (f *folder) record(r fetchRecord) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if _, err := f.journal.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("client: folder: fetch journal: %w", err)
	}
	if err := f.journal.Sync(); err != nil {
		return fmt.Errorf("client: folder: fetch journal: %w", err)
	}
	return nil
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

// saveState writes the state as a snapshot, atomically (a temporary file,
// synced, renamed over the old one, the folder synced), then starts an
// empty journal. A crash between the two leaves a journal whose records
// the snapshot already holds: replaying them changes nothing.
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
	if err := syncDir(f.dir); err != nil {
		return err
	}
	if f.journal != nil {
		f.journal.Close()
	}
	f.journal, err = os.OpenFile(filepath.Join(f.dir, StateFile+journalSuffix), os.O_CREATE|os.O_TRUNC|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("client: folder: fetch journal: %w", err)
	}
	if err := f.journal.Sync(); err != nil {
		return fmt.Errorf("client: folder: fetch journal: %w", err)
	}
	return syncDir(f.dir)
}

// close ends the folder's use; the journal stays for the next open.
func (f *folder) close() {
	if f.journal != nil {
		f.journal.Close()
		f.journal = nil
	}
	if f.lock != nil {
		f.unlock()
		f.lock.Close()
		f.lock = nil
	}
}

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
