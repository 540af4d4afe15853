// Command pec is a tool for users of Italian certified e-mail (PEC): it
// inspects, verifies and unpacks PEC messages, submits them and follows
// their receipts, reads a provider's trace log, and writes a signed sample
// of every kind of the catalogue for testing software that consumes PEC.
//
//	pec inspect|verify [flags] FILE|DIR...
//	pec extract -o DIR FILE...
//	pec sample -o DIR
//	pec index lookup|dump [flags] ...
//	pec status|send|fetch [flags] ...
//	pec trace verify|query|reissue [flags] ...
//	pec help [COMMAND]
//
// pec help lists every command with all its flags, generated from the
// commands' own flag sets; pec COMMAND --help shows one. Flags may come
// before or after the other arguments.
//
// A signed index (--ldif FILE.p7m) is read only from its publisher, which
// PUBLISHER pins: --index-publisher-cert FILE (its certificates; the
// anchors too unless --index-ca FILE is given), or --index-ca FILE with
// --index-publisher-subject DN or --index-publisher-email ADDR. Anchors
// alone are refused, since they certify the providers too, unless
// --index-any-signer says any signer under them will do.
//
// Run with no arguments, it writes the samples to a temporary folder and
// inspects and verifies them: a demonstration on embedded defaults.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// command is one command of the tool, as pec help shows it; its flags are
// those of its flag set, read from the command itself (helpFlags).
type command struct {
	name string // "inspect", or "index lookup" for a subcommand
	args string // its positional arguments
	what string // what it does
}

// commands are the commands of the tool, in the order of pec help.
var commands = []command{
	{"inspect", "FILE|DIR...", "kind, headers, certification data, signature, original (a DIR: its .eml files)"},
	{"verify", "FILE|DIR...", "exit 0 only when every message is intact and by a trusted PEC provider (with --integrity-only: intact)"},
	{"extract", "FILE...", "write postacert.eml, daticert.xml and the attachments to -o DIR (several files: a folder each)"},
	{"sample", "", "a test CA, a provider index and a signed sample of all 14 kinds, in -o DIR"},
	{"index lookup", "DOMAIN", "exit 0 when DOMAIN is a PEC domain, 1 when not"},
	{"index dump", "", "the provider index (a sample one with no source)"},
	{"status", "[MESSAGE-ID...]", "state and evidence of each recipient of each sent message"},
	{"send", "", "submit a PEC message (password from --password-file or $" + passwordEnv + ")"},
	{"fetch", "", "fetch new mail into -o DIR, verify it, feed the tracker store"},
	{"trace verify", "", "exit 0 only when the trace log is unaltered"},
	{"trace query", "", "records of the trace log; times are RFC 3339 or a day, in Italian time"},
	{"trace reissue", "MESSAGE-ID", "the receipt exactly as it was sent, from the log"},
	{"demo", "", "sample + inspect + verify, in a temporary folder unless -o DIR"},
}

// notes follow the commands in pec help.
const notes = `
A signed --ldif (.p7m) is read only from its publisher, pinned by
--index-publisher-cert FILE [--index-ca FILE], or by --index-ca FILE and
--index-publisher-subject DN | --index-publisher-email ADDR | --index-any-signer (unsafe).
Flags may follow the other arguments; message identifiers are printed without <>.
Run with no arguments, pec runs the demo.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		args = []string{"demo"}
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if err := help(stdout, args[1:]); err != nil {
			fmt.Fprintln(stderr, "pec:", err)
			return 2
		}
		return 0
	}
	status, err := dispatch(args, stdout, stderr)
	var h *helpRequest
	if errors.As(err, &h) {
		printCommand(stdout, h.fs.Name(), h.fs)
		return 0
	}
	if err != nil {
		// The packages' errors say "pec: " themselves: say it once.
		fmt.Fprintln(stderr, "pec:", errText(err))
		if status == 0 {
			status = 2
		}
	}
	return status
}

// dispatch runs the command args names.
func dispatch(args []string, stdout, stderr io.Writer) (int, error) {
	var err error
	status := 0
	switch args[0] {
	case "inspect":
		status, err = cmdInspect(args[1:], stdout, stderr)
	case "verify":
		status, err = cmdVerify(args[1:], stdout, stderr)
	case "extract":
		err = cmdExtract(args[1:], stdout)
	case "sample":
		err = cmdSample(args[1:], stdout)
	case "index":
		status, err = cmdIndex(args[1:], stdout, stderr)
	case "status":
		err = cmdStatus(args[1:], stdout)
	case "send":
		err = cmdSend(args[1:], stdout)
	case "fetch":
		status, err = cmdFetch(args[1:], stdout, stderr)
	case "trace":
		status, err = cmdTrace(args[1:], stdout)
	case "demo":
		status, err = cmdDemo(args[1:], stdout)
	default:
		return 2, fmt.Errorf("unknown command %q (pec help lists them)", args[0])
	}
	return status, err
}

// helpFlags returns the flag set of a command, by asking the command
// itself for its help: the help cannot drift from the flags.
func helpFlags(name string) *flag.FlagSet {
	_, err := dispatch(append(strings.Fields(name), "--help"), io.Discard, io.Discard)
	var h *helpRequest
	if errors.As(err, &h) {
		return h.fs
	}
	return newFlagSet(name)
}

// help writes the help of every command, or of those named.
func help(w io.Writer, names []string) error {
	want := strings.Join(names, " ")
	if want == "" {
		fmt.Fprintln(w, "usage: pec COMMAND [flags] [arguments]")
	}
	found := false
	for _, c := range commands {
		if want != "" && c.name != want && !strings.HasPrefix(c.name, want+" ") {
			continue
		}
		if found || want == "" {
			fmt.Fprintln(w)
		}
		found = true
		printCommand(w, c.name, helpFlags(c.name))
	}
	if !found {
		return fmt.Errorf("help: unknown command %q", want)
	}
	if want == "" {
		fmt.Fprint(w, notes)
	}
	return nil
}

// printCommand writes the synopsis, the description and the flags of the
// command name.
func printCommand(w io.Writer, name string, fs *flag.FlagSet) {
	var c command
	for _, k := range commands {
		if k.name == name {
			c = k
		}
	}
	syn := "pec " + name
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		syn += " [flags]"
	}
	if c.args != "" {
		syn += " " + c.args
	}
	fmt.Fprintf(w, "%s\n    %s\n", syn, c.what)
	printFlags(w, fs)
}
