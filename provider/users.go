package provider

import (
	"context"
	"strings"
	"sync"

	"github.com/pecsdk/pec/provider/mailbox"
)

// Users are the provider's accounts: the Authenticator of submission (and of
// the IMAP and POP3 servers), and the list of mailboxes that exist, so that
// the delivery point tells a recipient it can deposit for from an unknown one
// (no-dest, PEC.md §6.8). Account names are the mailbox addresses.
type Users interface {
	mailbox.Authenticator
	// Exists reports whether user has a mailbox.
	Exists(ctx context.Context, user string) (bool, error)
}

// Accounts is an in-memory Users: mailbox.Accounts (salted PBKDF2 hashes)
// and the set of names it holds. It is safe for concurrent use.
type Accounts struct {
	auth  *mailbox.Accounts
	mu    sync.RWMutex
	names map[string]bool
}

// NewAccounts returns an empty set of accounts; opts as mailbox.NewAccounts.
func NewAccounts(opts *mailbox.AccountsOptions) *Accounts {
	return &Accounts{auth: mailbox.NewAccounts(opts), names: make(map[string]bool)}
}

// Set creates the account of address, or changes its password.
func (a *Accounts) Set(address, password string) {
	u := userName(address)
	a.auth.Set(u, password)
	a.mu.Lock()
	a.names[u] = true
	a.mu.Unlock()
}

// Delete removes the account of address.
func (a *Accounts) Delete(address string) {
	u := userName(address)
	a.auth.Delete(u)
	a.mu.Lock()
	delete(a.names, u)
	a.mu.Unlock()
}

// Authenticate implements mailbox.Authenticator.
func (a *Accounts) Authenticate(ctx context.Context, user, password string) error {
	return a.auth.Authenticate(ctx, userName(user), password)
}

// Exists implements Users.
func (a *Accounts) Exists(_ context.Context, user string) (bool, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.names[userName(user)], nil
}

// userName is the account and mailbox name of an address: trimmed, without
// angle brackets, lower-cased. PEC logins are the mailbox address, and
// providers treat them without regard to case.
func userName(addr string) string {
	addr = strings.TrimSpace(addr)
	addr = strings.TrimSuffix(strings.TrimPrefix(addr, "<"), ">")
	return strings.ToLower(addr)
}
