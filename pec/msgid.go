package pec

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

var msgidCounter atomic.Uint64

// NewMsgID returns a new PEC message identifier (identificativo) for a
// provider whose mail domain is domain, without angle brackets, in the
// dotted form of real traffic (PEC.md §9):
//
//	opec.20261122095501.3f9a1c2b7d6e4a10.1@pec.example.it
//
// It combines the time, 64 random bits and a process-wide counter, so that
// identifiers are unique without coordination between processes.
func NewMsgID(domain string, now time.Time) string {
	var r [8]byte
	_, _ = rand.Read(r[:]) // crypto/rand.Read never fails (Go 1.24)
	var b strings.Builder
	b.Grow(48 + len(domain))
	b.WriteString("opec.")
	b.WriteString(now.UTC().Format("20060102150405"))
	b.WriteByte('.')
	b.WriteString(hex.EncodeToString(r[:]))
	b.WriteByte('.')
	b.WriteString(strconv.FormatUint(msgidCounter.Add(1), 10))
	b.WriteByte('@')
	b.WriteString(strings.ToLower(domain))
	return b.String()
}

// NormalizeMsgID returns a message identifier without surrounding white
// space and angle brackets, the form in which identifiers are compared
// (PEC.md §9). Folding white space inside is removed.
func NormalizeMsgID(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "<")
	s = strings.TrimSuffix(s, ">")
	s = strings.TrimSpace(s)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == ' ' || c == '\t' || c == '\r' || c == '\n' {
			return strings.Join(strings.Fields(s), "")
		}
	}
	return s
}

// BracketMsgID returns id in the angle-bracket form of the Message-ID header.
func BracketMsgID(id string) string { return "<" + NormalizeMsgID(id) + ">" }

// EqualMsgID reports whether a and b name the same message: they are equal
// once normalised, with the domain part compared case-insensitively.
func EqualMsgID(a, b string) bool {
	a, b = NormalizeMsgID(a), NormalizeMsgID(b)
	ia, ib := strings.LastIndexByte(a, '@'), strings.LastIndexByte(b, '@')
	if ia < 0 || ib < 0 {
		return a == b
	}
	return a[:ia] == b[:ib] && strings.EqualFold(a[ia:], b[ib:])
}

// Domain returns the domain part of an address, lower-cased, or "".
func Domain(addr string) string {
	addr = strings.TrimSpace(NormalizeMsgID(addr))
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return ""
	}
	return strings.ToLower(addr[i+1:])
}

// EqualAddress reports whether two addresses are the same mailbox: the local
// part compared exactly, the domain case-insensitively. Angle brackets and
// white space around them are ignored.
func EqualAddress(a, b string) bool { return EqualMsgID(a, b) }
