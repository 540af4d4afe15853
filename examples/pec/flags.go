package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// newFlagSet returns the flag set of a command: errors are returned, not
// printed, and --help is a request for that command's help (parseArgs).
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// helpRequest is the error of parseArgs for -h or --help: it carries the
// command's flags, which run prints, exiting 0. It matches flag.ErrHelp.
type helpRequest struct{ fs *flag.FlagSet }

func (h *helpRequest) Error() string        { return h.fs.Name() + ": help requested" }
func (h *helpRequest) Is(target error) bool { return target == flag.ErrHelp }

// parseArgs parses flags that may come before and after the positional
// arguments (pec verify a.eml --ldif x), and returns the positional ones.
// After "--" every argument is positional.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			return nil, &helpRequest{fs}
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w (pec %s --help lists the flags)", fs.Name(), err, fs.Name())
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// printFlags writes the flags of fs, sorted by name, each with its usage
// and default on the line below.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	var fl []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) { fl = append(fl, f) })
	sort.Slice(fl, func(i, j int) bool { return fl[i].Name < fl[j].Name })
	for _, f := range fl {
		name, usage := flag.UnquoteUsage(f)
		dash := "--"
		if len(f.Name) == 1 {
			dash = "-"
		}
		s := "    " + dash + f.Name
		if name != "" {
			s += " " + name
		}
		if def := f.DefValue; def != "" && def != "false" && def != "0" && def != "[]" {
			usage += " (default " + def + ")"
		}
		fmt.Fprintf(w, "%s\n        %s\n", s, strings.ReplaceAll(usage, "\n", "\n        "))
	}
}
