package main

import (
	"context"
	"errors"
	"strings"
	"testing"

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
		{"unknown option", good + " quota=1\n", "1: a@x.test: unknown option \"quota=1\""},
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
