package main

import (
	"bufio"
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/pecsdk/pec/provider/mailbox"
)

// The accounts file holds one account a line:
//
//	# comment
//	alice@pec.example.it {PBKDF2-SHA256}600000$<salt, base64>$<hash, base64>
//	archive@pec.example.it !
//	office@pec.example.it {PBKDF2-SHA256}600000$...$... ordinary=refuse
//	studio@pec.example.it {PBKDF2-SHA256}600000$...$... quota=10GB
//
// The address is the login and the mailbox name (compared without regard
// to case). "!" in place of a hash makes a mailbox that receives mail but
// cannot log in. Hashes are PBKDF2-HMAC-SHA256 of the password, 32 bytes,
// written by `pecd -hash-password`.
//
// Options may follow the hash, each as name=value:
//
//	ordinary=accept   ordinary mail (anything that is not a valid PEC
//	                  object) reaches the mailbox in an anomaly envelope
//	ordinary=refuse   it is refused at SMTP (550), so that the sender's
//	                  server bounces it (PEC.md §11.2)
//	quota=SIZE        the most the mailbox may hold (the Archive folder
//	                  aside), as [limits] mailbox-quota: 500MB, 2GiB,
//	                  10GB; at most 10 GB
//
// An account without an option follows the configuration: [accounts]
// ordinary (accept when not given), [limits] mailbox-quota (no limit when
// not given).
//
// The file is read again on SIGHUP: a reload that finds an error keeps
// the accounts it had. A new quota applies from the next delivery.

// hashScheme prefixes every hash of the file.
const hashScheme = "{PBKDF2-SHA256}"

// DefaultHashIterations is the PBKDF2 cost of a new hash (OWASP 2023).
const DefaultHashIterations = 600_000

// fileAccounts are the accounts of an accounts file: the provider's
// Users. Safe for concurrent use; replace swaps in those of a file read
// again, at once for every session.
type fileAccounts struct {
	cur atomic.Pointer[accountTable]
}

// accountTable is one reading of an accounts file, never changed after.
type accountTable struct {
	users map[string]*account
	dummy passwordHash
}

// account is one line of the file.
type account struct {
	hash     *passwordHash // nil: no login
	ordinary ordinaryMode  // ordinaryDefault: the configuration's
	quota    int64         // bytes; 0: the configuration's
}

// MaxMailboxQuota is the largest quota of a mailbox, per account or in
// [limits] mailbox-quota: 10 GB, the most the providers offer.
const MaxMailboxQuota = 10_000_000_000

// parseQuota reads the value of a quota= option or of mailbox-quota.
func parseQuota(s string) (int64, error) {
	n, err := parseSize(s)
	if err != nil {
		return 0, err
	}
	if n > MaxMailboxQuota {
		return 0, fmt.Errorf("%q is over 10GB, the largest quota", clip(s))
	}
	return n, nil
}

// ordinaryMode is what a mailbox does with ordinary mail.
type ordinaryMode int

const (
	ordinaryDefault ordinaryMode = iota // not given: the configuration's
	ordinaryAccept                      // delivered in an anomaly envelope
	ordinaryRefuse                      // refused at SMTP
)

// parseOrdinary reads the value of an ordinary= option or key.
func parseOrdinary(s string) (ordinaryMode, error) {
	switch strings.ToLower(s) {
	case "accept":
		return ordinaryAccept, nil
	case "refuse":
		return ordinaryRefuse, nil
	}
	return ordinaryDefault, fmt.Errorf("ordinary=%q: want accept or refuse", clip(s))
}

// String returns the word of the file.
func (m ordinaryMode) String() string {
	switch m {
	case ordinaryAccept:
		return "accept"
	case ordinaryRefuse:
		return "refuse"
	}
	return "default"
}

// passwordHash is one PBKDF2 hash.
type passwordHash struct {
	iter       int
	salt, hash []byte
}

// loadAccounts reads an accounts file.
func loadAccounts(path string) (*fileAccounts, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	a, err := parseAccounts(f)
	if err != nil {
		return nil, fmt.Errorf("%s:%w", path, err)
	}
	return a, nil
}

// parseAccounts reads the accounts file format; errors start with the
// line number.
func parseAccounts(r io.Reader) (*fileAccounts, error) {
	a := &accountTable{users: map[string]*account{}}
	a.dummy = newHash("", 1)
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		t := strings.TrimSpace(sc.Text())
		if t == "" || t[0] == '#' {
			continue
		}
		f := strings.Fields(t)
		if len(f) < 2 {
			return nil, fmt.Errorf("%d: expected an address and a hash", n)
		}
		user := strings.ToLower(f[0])
		local, dom, ok := strings.Cut(user, "@")
		if !ok || local == "" || !validDomain(dom) {
			return nil, fmt.Errorf("%d: %q is not an address", n, clip(f[0]))
		}
		if _, dup := a.users[user]; dup {
			return nil, fmt.Errorf("%d: %s listed twice", n, user)
		}
		acc := &account{}
		for _, o := range f[2:] {
			k, v, _ := strings.Cut(o, "=")
			switch k {
			case "ordinary":
				if acc.ordinary != ordinaryDefault {
					return nil, fmt.Errorf("%d: %s: ordinary= given twice", n, user)
				}
				m, err := parseOrdinary(v)
				if err != nil {
					return nil, fmt.Errorf("%d: %s: %w", n, user, err)
				}
				acc.ordinary = m
			case "quota":
				if acc.quota != 0 {
					return nil, fmt.Errorf("%d: %s: quota= given twice", n, user)
				}
				q, err := parseQuota(v)
				if err != nil {
					return nil, fmt.Errorf("%d: %s: quota=: %w", n, user, err)
				}
				acc.quota = q
			default:
				return nil, fmt.Errorf("%d: %s: unknown option %q", n, user, clip(o))
			}
		}
		a.users[user] = acc
		if f[1] == "!" {
			continue
		}
		h, err := parseHash(f[1])
		if err != nil {
			return nil, fmt.Errorf("%d: %s: %w", n, user, err)
		}
		acc.hash = h
		if a.dummy.iter < h.iter {
			a.dummy = newHash("", h.iter) // unknown users cost as much as known ones
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%d: %w", n+1, err)
	}
	fa := &fileAccounts{}
	fa.cur.Store(a)
	return fa, nil
}

// replace makes the accounts of b those of a, for every later call.
func (a *fileAccounts) replace(b *fileAccounts) { a.cur.Store(b.cur.Load()) }

// Ordinary returns what user's mailbox does with ordinary mail, as its
// line says (ordinaryDefault when it says nothing, or when there is no
// such account).
func (a *fileAccounts) Ordinary(user string) ordinaryMode {
	if acc := a.cur.Load().users[normalUser(user)]; acc != nil {
		return acc.ordinary
	}
	return ordinaryDefault
}

// Quota implements mailbox.MaildirOptions.UserQuota: the limit of user's
// line, or -1 (the configuration's) when it gives none, or when there is
// no such account.
func (a *fileAccounts) Quota(_ context.Context, user string) (int64, error) {
	if acc := a.cur.Load().users[normalUser(user)]; acc != nil && acc.quota > 0 {
		return acc.quota, nil
	}
	return -1, nil
}

// withQuota returns an account whose line gives a quota, "" when none
// does.
func (a *fileAccounts) withQuota() string {
	for u, acc := range a.cur.Load().users {
		if acc.quota > 0 {
			return u
		}
	}
	return ""
}

// parseHash reads {PBKDF2-SHA256}iter$salt$hash.
func parseHash(s string) (*passwordHash, error) {
	rest, ok := strings.CutPrefix(s, hashScheme)
	parts := strings.Split(rest, "$")
	if !ok || len(parts) != 3 {
		return nil, fmt.Errorf("not a %siterations$salt$hash", hashScheme)
	}
	iter, err := strconv.Atoi(parts[0])
	if err != nil || iter < 1 || iter > 100_000_000 {
		return nil, errors.New("bad iteration count")
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	hash, err2 := base64.RawStdEncoding.DecodeString(strings.TrimRight(parts[2], "="))
	if err1 != nil || err2 != nil || len(salt) < 8 || len(hash) != 32 {
		return nil, errors.New("bad salt or hash")
	}
	return &passwordHash{iter: iter, salt: salt, hash: hash}, nil
}

// newHash hashes password with a fresh salt.
func newHash(password string, iter int) passwordHash {
	h := passwordHash{iter: iter, salt: make([]byte, 16)}
	rand.Read(h.salt)
	h.hash = derive(password, h.salt, iter)
	return h
}

// derive is PBKDF2-HMAC-SHA256 of password, 32 bytes; nil only for
// parameters this file never uses.
func derive(password string, salt []byte, iter int) []byte {
	k, err := pbkdf2.Key(sha256.New, password, salt, iter, 32)
	if err != nil {
		return nil
	}
	return k
}

// String writes the hash as the accounts file holds it.
func (h passwordHash) String() string {
	return fmt.Sprintf("%s%d$%s$%s", hashScheme, h.iter,
		base64.RawStdEncoding.EncodeToString(h.salt), base64.RawStdEncoding.EncodeToString(h.hash))
}

// accountLine returns a line of the accounts file for user and password.
func accountLine(user, password string, iter int) string {
	return strings.ToLower(user) + " " + newHash(password, iter).String()
}

// Authenticate implements mailbox.Authenticator, in constant time: an
// unknown user or one without login costs as much as a wrong password.
func (a *fileAccounts) Authenticate(ctx context.Context, user, password string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t := a.cur.Load()
	var h *passwordHash
	if acc := t.users[normalUser(user)]; acc != nil {
		h = acc.hash
	}
	known := h != nil
	if !known {
		h = &t.dummy
	}
	ok := subtle.ConstantTimeCompare(derive(password, h.salt, h.iter), h.hash) == 1
	if !ok || !known {
		return mailbox.ErrAuth
	}
	return nil
}

// Exists implements provider.Users.
func (a *fileAccounts) Exists(_ context.Context, user string) (bool, error) {
	_, ok := a.cur.Load().users[normalUser(user)]
	return ok, nil
}

// Users returns the account names.
func (a *fileAccounts) Users() []string {
	users := a.cur.Load().users
	out := make([]string, 0, len(users))
	for u := range users {
		out = append(out, u)
	}
	return out
}

// normalUser is the account name of a login: trimmed, lower-cased.
func normalUser(s string) string {
	s = strings.TrimSpace(s)
	return strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(s, "<"), ">"))
}
