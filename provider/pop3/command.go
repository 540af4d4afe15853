package pop3

import (
	"errors"
	"strings"
)

// maxArgs bounds the arguments of a command (RFC 1939 commands take at
// most two; AUTH takes a mechanism and an initial response).
const maxArgs = 2

var (
	errEmptyCommand = errors.New("empty command")
	errBadKeyword   = errors.New("keyword must be 3 or 4 letters")
	errTooManyArgs  = errors.New("too many arguments")
)

// command is one parsed command line.
type command struct {
	name string   // upper case keyword
	args []string // as sent
}

// parseCommand reads one command line, without its CRLF: a keyword of
// three or four letters (any case), then arguments separated by spaces
// (RFC 1939 §3). Runs of spaces are taken as one. Only PASS keeps its
// argument whole, spaces included, as passwords may hold them.
func parseCommand(line string) (command, error) {
	line = strings.TrimRight(line, "\r\n")
	kw, rest, _ := strings.Cut(line, " ")
	if kw == "" {
		return command{}, errEmptyCommand
	}
	if len(kw) < 3 || len(kw) > 4 {
		return command{}, errBadKeyword
	}
	for i := 0; i < len(kw); i++ {
		c := kw[i] | 0x20
		if c < 'a' || c > 'z' {
			return command{}, errBadKeyword
		}
	}
	cmd := command{name: strings.ToUpper(kw)}
	if cmd.name == "PASS" {
		if rest != "" {
			cmd.args = []string{rest}
		}
		return cmd, nil
	}
	for f := range strings.FieldsSeq(rest) {
		if len(cmd.args) == maxArgs {
			return command{}, errTooManyArgs
		}
		cmd.args = append(cmd.args, f)
	}
	return cmd, nil
}

// String returns the command as a client writes it.
func (c command) String() string {
	return strings.Join(append([]string{c.name}, c.args...), " ")
}
