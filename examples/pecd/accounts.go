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

	"github.com/pecsdk/pec/provider/mailbox"
)

// The accounts file holds one account a line:
//
//	# comment
//	alice@pec.example.it {PBKDF2-SHA256}600000$<salt, base64>$<hash, base64>
//	archive@pec.example.it !
//
// The address is the login and the mailbox name (compared without regard
// to case). "!" in place of a hash makes a mailbox that receives mail but
// cannot log in. Hashes are PBKDF2-HMAC-SHA256 of the password, 32 bytes,
// written by `pecd -hash-password`.

// hashScheme prefixes every hash of the file.
const hashScheme = "{PBKDF2-SHA256}"

// DefaultHashIterations is the PBKDF2 cost of a new hash (OWASP 2023).
const DefaultHashIterations = 600_000

// fileAccounts are the accounts of an accounts file: the provider's
// Users. Safe for concurrent use (read-only once loaded).
type fileAccounts struct {
	users map[string]*passwordHash // nil hash: no login
	dummy passwordHash
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
	a := &fileAccounts{users: map[string]*passwordHash{}}
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
		if len(f) != 2 {
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
		if f[1] == "!" {
			a.users[user] = nil
			continue
		}
		h, err := parseHash(f[1])
		if err != nil {
			return nil, fmt.Errorf("%d: %s: %w", n, user, err)
		}
		a.users[user] = h
		if a.dummy.iter < h.iter {
			a.dummy = newHash("", h.iter) // unknown users cost as much as known ones
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%d: %w", n+1, err)
	}
	return a, nil
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
	h := a.users[normalUser(user)]
	known := h != nil
	if !known {
		h = &a.dummy
	}
	ok := subtle.ConstantTimeCompare(derive(password, h.salt, h.iter), h.hash) == 1
	if !ok || !known {
		return mailbox.ErrAuth
	}
	return nil
}

// Exists implements provider.Users.
func (a *fileAccounts) Exists(_ context.Context, user string) (bool, error) {
	_, ok := a.users[normalUser(user)]
	return ok, nil
}

// Users returns the account names.
func (a *fileAccounts) Users() []string {
	out := make([]string, 0, len(a.users))
	for u := range a.users {
		out = append(out, u)
	}
	return out
}

// normalUser is the account name of a login: trimmed, lower-cased.
func normalUser(s string) string {
	s = strings.TrimSpace(s)
	return strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(s, "<"), ">"))
}
