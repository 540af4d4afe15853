package client

import (
	"bytes"
	"fmt"

	"github.com/emersion/go-sasl"
)

// loginClient is the client side of SASL LOGIN (draft-murchison-sasl-login),
// which many submission servers still offer beside or instead of PLAIN.
// go-sasl's own LOGIN client answers only a challenge of exactly
// "Password:"; servers differ ("Username:", "User Name", "Password"), and
// some ignore the initial response and ask for the user name first, so this
// one answers by what the challenge asks for.
type loginClient struct {
	user, pass string
	step       int
}

func newLoginClient(user, pass string) sasl.Client { return &loginClient{user: user, pass: pass} }

func (c *loginClient) Start() (string, []byte, error) {
	return sasl.Login, []byte(c.user), nil
}

func (c *loginClient) Next(challenge []byte) ([]byte, error) {
	c.step++
	if c.step > 3 {
		return nil, fmt.Errorf("client: SASL LOGIN: too many challenges")
	}
	ch := bytes.ToLower(challenge)
	switch {
	case bytes.Contains(ch, []byte("pass")):
		return []byte(c.pass), nil
	case bytes.Contains(ch, []byte("user")):
		return []byte(c.user), nil
	}
	return nil, fmt.Errorf("client: SASL LOGIN: unexpected challenge %q", truncate(string(challenge), 40))
}
