package mailbox

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"sync"
)

// Authenticator checks a user's password. The servers take one, so that
// the provider plugs in its own accounts.
type Authenticator interface {
	// Authenticate returns nil if password is user's, an error wrapping
	// ErrAuth if it is not (or user is unknown), another error if the
	// check could not be made.
	Authenticate(ctx context.Context, user, password string) error
}

// AccountsOptions configures NewAccounts; nil means the defaults.
type AccountsOptions struct {
	// Iterations of PBKDF2-HMAC-SHA256 per password. Default 600,000
	// (OWASP's 2023 figure); tests may lower it.
	Iterations int
}

// Accounts is an in-memory Authenticator keeping a salted PBKDF2-SHA256
// hash of each password (crypto/pbkdf2, from the standard library, so the
// module needs nothing more). It is safe for concurrent use.
type Accounts struct {
	iter  int
	mu    sync.RWMutex
	users map[string]account
	dummy account // checked for unknown users, so that they take as long
}

type account struct {
	salt [16]byte
	hash []byte
}

// NewAccounts returns an empty set of accounts.
func NewAccounts(opts *AccountsOptions) *Accounts {
	a := &Accounts{iter: 600_000, users: make(map[string]account)}
	if opts != nil && opts.Iterations > 0 {
		a.iter = opts.Iterations
	}
	a.dummy = a.hash("")
	return a
}

func (a *Accounts) hash(password string) account {
	var acc account
	rand.Read(acc.salt[:])
	acc.hash = a.derive(acc.salt[:], password)
	return acc
}

func (a *Accounts) derive(salt []byte, password string) []byte {
	h, err := pbkdf2.Key(sha256.New, password, salt, a.iter, 32)
	if err != nil {
		return nil // only for lengths or FIPS limits this code does not use
	}
	return h
}

// Set creates user's account, or changes its password.
func (a *Accounts) Set(user, password string) {
	acc := a.hash(password)
	a.mu.Lock()
	a.users[user] = acc
	a.mu.Unlock()
}

// Delete removes user's account.
func (a *Accounts) Delete(user string) {
	a.mu.Lock()
	delete(a.users, user)
	a.mu.Unlock()
}

// Authenticate checks password against user's hash in constant time; an
// unknown user costs as much as a wrong password.
func (a *Accounts) Authenticate(ctx context.Context, user, password string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	a.mu.RLock()
	acc, ok := a.users[user]
	a.mu.RUnlock()
	if !ok {
		acc = a.dummy
	}
	h := a.derive(acc.salt[:], password)
	if subtle.ConstantTimeCompare(h, acc.hash) != 1 || !ok || h == nil {
		return &Error{Op: "authenticate", User: user, Err: ErrAuth}
	}
	return nil
}
