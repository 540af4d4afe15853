package pec

import "strings"

// Subject prefixes (PEC.md §5). Each ends in ": " and precedes the original
// subject. The timeout prefix has one space after "SUP." (PEC.md §17 item 5).
const (
	SubjectTransport          = "POSTA CERTIFICATA: "                                 // §6.1
	SubjectAnomaly            = "ANOMALIA MESSAGGIO: "                                // §6.2
	SubjectAcceptance         = "ACCETTAZIONE: "                                      // §6.3
	SubjectNonAcceptance      = "AVVISO DI NON ACCETTAZIONE: "                        // §6.4
	SubjectNonAcceptanceVirus = "AVVISO DI NON ACCETTAZIONE PER VIRUS: "              // §6.5
	SubjectTakeInCharge       = "PRESA IN CARICO: "                                   // §6.6
	SubjectDelivery           = "CONSEGNA: "                                          // §6.7
	SubjectDeliveryError      = "AVVISO DI MANCATA CONSEGNA: "                        // §6.8
	SubjectVirusDetected      = "PROBLEMA DI SICUREZZA: "                             // §6.9
	SubjectDeliveryErrorVirus = "AVVISO DI MANCATA CONSEGNA PER VIRUS: "              // §6.10
	SubjectDeliveryTimeout    = "AVVISO DI MANCATA CONSEGNA PER SUP. TEMPO MASSIMO: " // §6.11
)

// subjectPrefixes is ordered longest first so that a prefix that begins
// another (AVVISO DI MANCATA CONSEGNA: / ... PER VIRUS: ) matches right.
var subjectPrefixes = []string{
	SubjectDeliveryTimeout, SubjectNonAcceptanceVirus, SubjectDeliveryErrorVirus,
	SubjectNonAcceptance, SubjectDeliveryError, SubjectVirusDetected,
	SubjectTransport, SubjectAnomaly, SubjectTakeInCharge, SubjectAcceptance,
	SubjectDelivery,
}

// Subject returns the subject of a message of kind k about an original
// message with the given subject.
func Subject(k Kind, original string) string { return k.SubjectPrefix() + original }

// SplitSubject splits a PEC subject into its prefix (as defined above) and
// the original subject. The prefix is matched case-insensitively and with any
// run of white space standing for one space, so that the double space RFC
// 6109 prints after "SUP." is tolerated. ok is false when s carries no known
// prefix; original is then s itself.
func SplitSubject(s string) (prefix, original string, ok bool) {
	for _, p := range subjectPrefixes {
		if n := matchPrefixFold(s, p); n > 0 {
			return p, s[n:], true
		}
	}
	return "", s, false
}

// matchPrefixFold returns the length of the prefix of s matching p, where
// letters compare case-insensitively and an inner space of p matches a run of
// white space; the final space of p matches exactly one. It returns 0 when s
// does not start with p.
func matchPrefixFold(s, p string) int {
	i := 0
	for j := 0; j < len(p); j++ {
		if i >= len(s) {
			return 0
		}
		switch {
		case p[j] == ' ' && j == len(p)-1:
			if !isSpace(s[i]) {
				return 0
			}
			i++
		case p[j] == ' ':
			if !isSpace(s[i]) {
				return 0
			}
			for i < len(s) && isSpace(s[i]) {
				i++
			}
		case lower(s[i]) != lower(p[j]):
			return 0
		default:
			i++
		}
	}
	return i
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// KindsWithPrefix returns the kinds whose subject starts with prefix, as
// returned by SplitSubject.
func KindsWithPrefix(prefix string) []Kind {
	var out []Kind
	for _, k := range Kinds {
		if strings.EqualFold(k.SubjectPrefix(), prefix) {
			out = append(out, k)
		}
	}
	return out
}
