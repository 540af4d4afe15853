package provider

import (
	"errors"

	"github.com/emersion/go-sasl"
)

// loginServer is the server side of SASL LOGIN (draft-murchison-sasl-login),
// which go-sasl does not provide and which many mail clients still use for
// submission: the user name and the password each in answer to a prompt, or
// the user name as the initial response.
type loginServer struct {
	check func(user, pass string) error
	user  string
	step  int
}

var _ sasl.Server = (*loginServer)(nil)

// Next implements sasl.Server.
func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	l.step++
	switch {
	case l.step == 1 && resp == nil:
		return []byte("Username:"), false, nil
	case l.step <= 2 && l.user == "" && resp != nil:
		l.user = string(resp)
		if l.user == "" {
			return nil, true, errors.New("empty user name")
		}
		return []byte("Password:"), false, nil
	case l.step <= 3 && l.user != "":
		return nil, true, l.check(l.user, string(resp))
	}
	return nil, true, errors.New("unexpected response")
}
