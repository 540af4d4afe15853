package main

import (
	"fmt"
	"io"
	"os"
	"time"
)

// longRun is how many messages make a run long enough for a progress
// line (with --progress auto).
const longRun = 50

// progressUsage documents the --progress flag of every command that has it.
const progressUsage = "progress line on standard error: auto (on long runs, when standard error is a terminal), always, never"

// progressLine keeps one line of progress on standard error, "verifying
// 12/450", rewritten in place at most every 200 ms: with --progress auto
// only on long runs and when it is a terminal, with always in any case.
type progressLine struct {
	w        io.Writer
	mode     string
	terminal bool
	last     time.Time
	shown    bool
}

// newProgressLine checks the --progress mode.
func newProgressLine(w io.Writer, mode string) (*progressLine, error) {
	switch mode {
	case "auto", "always", "never":
	default:
		return nil, fmt.Errorf("--progress %q: want auto, always or never", mode)
	}
	return &progressLine{w: w, mode: mode, terminal: isTerminal(w)}, nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// show rewrites the line with done of total, formatted.
func (p *progressLine) show(done, total int, format string, args ...any) {
	if p == nil || p.mode == "never" || (p.mode != "always" && (total < longRun || !p.terminal)) {
		return
	}
	if done < total && time.Since(p.last) < 200*time.Millisecond && p.shown {
		return
	}
	p.last = time.Now()
	p.shown = true
	s := "\r" + fmt.Sprintf(format, args...)
	if p.terminal {
		s += "\x1b[K"
	}
	fmt.Fprint(p.w, s)
}

// clear takes the line off a terminal before other output, which may
// share it; show puts it back.
func (p *progressLine) clear() {
	if p != nil && p.shown && p.terminal {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.shown = false
		p.last = time.Time{}
	}
}

// done ends the progress line.
func (p *progressLine) done() {
	if p != nil && p.shown {
		fmt.Fprintln(p.w)
		p.shown = false
	}
}
