package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/provider/mailbox"
)

func TestAccounts(t *testing.T) {
	file := "# accounts\n\n" + accountLine("Alice@PEC.alfa.test", "segreta", 10) + "\n" +
		"servizio@pec.alfa.test !\n"
	a, err := parseAccounts(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := []struct {
		user, password string
		ok             bool
	}{
		{"alice@pec.alfa.test", "segreta", true},
		{"ALICE@pec.alfa.test", "segreta", true},
		{"<alice@pec.alfa.test>", "segreta", true},
		{"alice@pec.alfa.test", "Segreta", false},
		{"alice@pec.alfa.test", "", false},
		{"bob@pec.alfa.test", "segreta", false},
		{"servizio@pec.alfa.test", "", false},
		{"servizio@pec.alfa.test", "!", false},
	}
	for _, tt := range tests {
		err := a.Authenticate(ctx, tt.user, tt.password)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, mailbox.ErrAuth)) {
			t.Errorf("Authenticate(%q, %q) = %v, want ok %v", tt.user, tt.password, err, tt.ok)
		}
	}
	for user, want := range map[string]bool{"alice@pec.alfa.test": true, "Servizio@pec.alfa.test": true, "bob@pec.alfa.test": false} {
		if got, _ := a.Exists(ctx, user); got != want {
			t.Errorf("Exists(%q) = %v", user, got)
		}
	}
}

func TestAccountsErrors(t *testing.T) {
	good := accountLine("a@x.test", "p", 10)
	tests := []struct {
		name, text, want string
	}{
		{"one field", "a@x.test\n", "1: expected an address and a hash"},
		{"not an address", "ax.test {PBKDF2-SHA256}1$AAAAAAAAAAA$AAAA\n", "1: \"ax.test\" is not an address"},
		{"twice", good + "\n# again\n" + good + "\n", "3: a@x.test listed twice"},
		{"scheme", "a@x.test {SHA}abc\n", "1: a@x.test: not a {PBKDF2-SHA256}"},
		{"iterations", "a@x.test {PBKDF2-SHA256}0$AAAAAAAAAAA$" + strings.Repeat("A", 43) + "\n", "bad iteration count"},
		{"short hash", "a@x.test {PBKDF2-SHA256}10$AAAAAAAAAAA$AAAA\n", "bad salt or hash"},
		{"unknown option", good + " size=1\n", "1: a@x.test: unknown option \"size=1\""},
		{"quota over 10GB", good + " quota=10000000001\n", "over 10GB"},
		{"quota 11GB", good + " quota=11GB\n", "over 10GB"},
		{"quota 10GiB", good + " quota=10GiB\n", "over 10GB"},
		{"quota zero", good + " quota=0\n", "not a size"},
		{"quota word", good + " quota=tanto\n", "not a size"},
		{"quota twice", good + " quota=1GB quota=2GB\n", "quota= given twice"},
		{"ordinary value", good + " ordinary=bounce\n", "want accept or refuse"},
		{"ordinary twice", good + " ordinary=refuse ordinary=accept\n", "given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseAccounts(strings.NewReader(tt.text))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestAccountsOrdinary(t *testing.T) {
	file := accountLine("a@x.test", "p", 10) + " ordinary=refuse\n" +
		accountLine("b@x.test", "p", 10) + " ordinary=accept\n" +
		accountLine("c@x.test", "p", 10) + "\n" +
		"d@x.test ! ordinary=refuse\n"
	a, err := parseAccounts(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	for _, def := range []string{"accept", "refuse"} {
		n := &node{users: a}
		n.setOrdinary(def)
		for user, want := range map[string]bool{
			"a@x.test": true, "A@X.test": true, "b@x.test": false, "c@x.test": def == "refuse", "d@x.test": true,
			"nobody@x.test": def == "refuse",
		} {
			if got := n.refuseOrdinary(user); got != want {
				t.Errorf("default %s: refuseOrdinary(%s) = %v", def, user, got)
			}
		}
	}
	if err := a.Authenticate(context.Background(), "a@x.test", "p"); err != nil {
		t.Errorf("an option after the hash broke the login: %v", err)
	}
}

// TestAccountsQuota: a quota= option is the limit of its account's
// Maildir, at every delivery: a reload of the file (replace, as SIGHUP
// does) changes it from the next one; accounts without one follow
// [limits] mailbox-quota.
func TestAccountsQuota(t *testing.T) {
	ctx := context.Background()
	a, err := parseAccounts(strings.NewReader(accountLine("a@x.test", "p", 10) + " quota=3KB ordinary=refuse\n" +
		"b@x.test ! quota=10GB\n" + accountLine("c@x.test", "p", 10) + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	for user, want := range map[string]int64{"a@x.test": 3000, "A@x.test": 3000, "b@x.test": 10_000_000_000, "c@x.test": -1, "d@x.test": -1} {
		if got, err := a.Quota(ctx, user); got != want || err != nil {
			t.Errorf("Quota(%s) = %d, %v; want %d", user, got, err, want)
		}
	}
	if err := a.Authenticate(ctx, "a@x.test", "p"); err != nil {
		t.Errorf("an option after the hash broke the login: %v", err)
	}

	cfg := &Config{Storage: StorageConfig{Mailbox: DefaultMailbox, Maildir: t.TempDir()}, Limits: LimitsConfig{MailboxQuota: 5000}}
	store, err := openStore(cfg, a, nil)
	if err != nil {
		t.Fatal(err)
	}
	deliver := func(user string, size int) error {
		t.Helper()
		b, err := store.Mailbox(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		_, err = b.Deliver(ctx, mailbox.Inbox, strings.NewReader("Subject: q\r\n\r\n"+strings.Repeat("x", size)), 0, time.Time{})
		return err
	}
	limitOf := func(user string) int64 {
		t.Helper()
		b, _ := store.Mailbox(ctx, user)
		u, err := b.(mailbox.Metered).Usage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return u.Limit
	}
	if err := deliver("a@x.test", 3500); !errors.Is(err, mailbox.ErrQuota) {
		t.Errorf("3.5 kB to a, quota=3KB: %v, want ErrQuota", err)
	}
	if err := deliver("c@x.test", 3500); err != nil {
		t.Errorf("3.5 kB to c, mailbox-quota 5000: %v", err)
	}
	if err := deliver("c@x.test", 3500); !errors.Is(err, mailbox.ErrQuota) {
		t.Errorf("7 kB to c, mailbox-quota 5000: %v, want ErrQuota", err)
	}
	if got := limitOf("a@x.test"); got != 3000 {
		t.Errorf("a's limit %d, want 3000", got)
	}

	// The file read again: a's quota raised, c given one.
	b, err := parseAccounts(strings.NewReader(accountLine("a@x.test", "p", 10) + " quota=1MB\n" +
		accountLine("c@x.test", "p", 10) + " quota=2MiB\n"))
	if err != nil {
		t.Fatal(err)
	}
	a.replace(b)
	if err := deliver("a@x.test", 3500); err != nil {
		t.Errorf("3.5 kB to a after quota=1MB: %v", err)
	}
	if err := deliver("c@x.test", 3500); err != nil {
		t.Errorf("7 kB to c after quota=2MiB: %v", err)
	}
	if got := limitOf("a@x.test"); got != 1_000_000 {
		t.Errorf("a's limit after the reload %d, want 1000000", got)
	}
	if got := limitOf("c@x.test"); got != 2<<20 {
		t.Errorf("c's limit after the reload %d, want %d", got, 2<<20)
	}

	// Dovecot keeps the quota of the mailboxes it serves.
	lmtpCfg := &Config{Storage: StorageConfig{Mailbox: "lmtp:127.0.0.1:24"}, Accounts: AccountsConfig{File: "accounts"}}
	if err := checkQuotas(lmtpCfg, a); err == nil || !strings.Contains(err.Error(), "set the quota in Dovecot") {
		t.Errorf("quota= with the LMTP store: %v", err)
	}
	c, _ := parseAccounts(strings.NewReader("c@x.test !\n"))
	if err := checkQuotas(lmtpCfg, c); err != nil {
		t.Errorf("no quota= with the LMTP store: %v", err)
	}
}

func TestHashPassword(t *testing.T) {
	var out strings.Builder
	if err := hashPassword(strings.NewReader("una password lunga\n"), &out); err != nil {
		t.Fatal(err)
	}
	line := "carol@mail.test " + strings.TrimSpace(out.String())
	a, err := parseAccounts(strings.NewReader(line))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(line, "{PBKDF2-SHA256}600000$") {
		t.Errorf("hash %q: not the default cost", line)
	}
	if err := a.Authenticate(context.Background(), "carol@mail.test", "una password lunga"); err != nil {
		t.Error(err)
	}
	if err := hashPassword(strings.NewReader("\n"), &out); err == nil {
		t.Error("empty password hashed")
	}
}
