package pec

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Italian legal time must not depend on the host's zoneinfo
)

// Location is Italian legal time (Europe/Rome: CET, CEST in summer), in which
// every PEC date is written (PEC.md §8.3, §10.2).
var Location = mustLoad("Europe/Rome")

func mustLoad(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil { // cannot happen: time/tzdata is embedded
		return time.FixedZone("CET", 3600)
	}
	return l
}

// Layouts of the PEC date formats (PEC.md §10.2).
const (
	DayLayout  = "02/01/2006" // daticert giorno, body text date
	TimeLayout = "15:04:05"   // daticert ora, body text time
	ZoneLayout = "-0700"      // daticert data/@zona, body text zone (without colon, as real traffic)
)

// Local returns t in Italian legal time, truncated to the second: the
// precision of every PEC date.
func Local(t time.Time) time.Time { return t.In(Location).Truncate(time.Second) }

// FormatDate returns the day, time and zone of t in Italian legal time, in
// the forms of daticert giorno, ora and zona.
func FormatDate(t time.Time) (day, clock, zone string) {
	t = Local(t)
	return t.Format(DayLayout), t.Format(TimeLayout), t.Format(ZoneLayout)
}

// ParseDate parses daticert giorno (dd/mm/yyyy), ora (hh:mm:ss) and zona
// ([+|-]hhmm). It tolerates surrounding white space, single-digit day, month
// and hour fields, a missing seconds field, a colon in the zone (+01:00, the
// form of RFC 6109's ABNF) and the zones "Z" and "UTC". The result carries a
// fixed zone with the given offset.
func ParseDate(day, clock, zone string) (time.Time, error) {
	d, _, err := splitInts(day, '/', 3, 3)
	if err != nil || d[0] < 1 || d[0] > 31 || d[1] < 1 || d[1] > 12 || d[2] < 1000 || d[2] > 9999 {
		return time.Time{}, &ValueError{What: "giorno", Value: day}
	}
	c, _, err := splitInts(clock, ':', 2, 3) // c[2] is 0 without seconds
	if err != nil || c[0] > 23 || c[1] > 59 || c[2] > 60 {
		return time.Time{}, &ValueError{What: "ora", Value: clock}
	}
	off, err := ParseZone(zone)
	if err != nil {
		return time.Time{}, err
	}
	loc := time.FixedZone("", off) // shared by the time package for whole hours
	t := time.Date(d[2], time.Month(d[1]), d[0], c[0], c[1], c[2], 0, loc)
	if t.Day() != d[0] { // 31/02 and the like
		return time.Time{}, &ValueError{What: "giorno", Value: day}
	}
	return t, nil
}

// ParseZone parses a zone offset such as "+0100", "+01:00", "-0530", "Z" or
// "UTC" and returns it in seconds east of UTC.
func ParseZone(zone string) (int, error) {
	z := strings.TrimSpace(zone)
	z = strings.TrimSuffix(strings.TrimPrefix(z, "("), ")")
	switch strings.ToUpper(z) {
	case "Z", "UTC", "GMT", "":
		if z == "" {
			return 0, &ValueError{What: "zona", Value: zone}
		}
		return 0, nil
	}
	sign := 1
	switch z[0] {
	case '+':
	case '-':
		sign = -1
	default:
		return 0, &ValueError{What: "zona", Value: zone}
	}
	digits := strings.Replace(z[1:], ":", "", 1)
	if len(digits) != 4 {
		return 0, &ValueError{What: "zona", Value: zone}
	}
	h, err1 := strconv.Atoi(digits[:2])
	m, err2 := strconv.Atoi(digits[2:])
	if err1 != nil || err2 != nil || h > 14 || m > 59 || digits[0] == '+' || digits[0] == '-' {
		return 0, &ValueError{What: "zona", Value: zone}
	}
	return sign * (h*3600 + m*60), nil
}

// splitInts reads min to max (at most 3) unsigned decimal fields of at
// most four digits separated by sep, without allocating: out[:n] are the
// fields.
func splitInts(s string, sep byte, min, max int) (out [3]int, n int, err error) {
	if max > len(out) {
		max = len(out)
	}
	s = strings.TrimSpace(s)
	for {
		x, rest, more := strings.Cut(s, string(sep))
		if n == max {
			return out, 0, fmt.Errorf("want %d to %d fields", min, max)
		}
		if x == "" || len(x) > 4 || x[0] == '+' || x[0] == '-' {
			return out, 0, fmt.Errorf("bad field %q", x)
		}
		v, err := strconv.Atoi(x)
		if err != nil {
			return out, 0, err
		}
		out[n] = v
		n++
		if !more {
			break
		}
		s = rest
	}
	if n < min {
		return out, 0, fmt.Errorf("want %d to %d fields", min, max)
	}
	return out, n, nil
}
