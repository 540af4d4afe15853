package daticert

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"testing"
)

// dumpScanned describes what a scan kept, offsets included.
func dumpScanned(s *scanned) string {
	var b strings.Builder
	elem := func(e *element) {
		fmt.Fprintf(&b, " @%d %q", e.offset, s.textOf(e))
		for _, a := range e.attrs {
			fmt.Fprintf(&b, " %s|%s=%q", a.Name.Space, a.Name.Local, a.Value)
		}
		b.WriteByte('\n')
	}
	b.WriteString("root")
	elem(s.root)
	paths := dtdPaths
	sort.Strings(paths[:])
	for _, p := range paths {
		for _, e := range s.elems.get(p) {
			b.WriteString(p)
			elem(e)
		}
	}
	return b.String()
}

// checkFastScan fails when fastScan accepts b and encoding/xml does not,
// or when they keep different elements.
func checkFastScan(t *testing.T, b []byte) (fast bool) {
	t.Helper()
	fs, ok := fastScan(b, 3)
	if !ok {
		return false
	}
	xs, err := xmlScan(b, 3)
	if err != nil {
		t.Fatalf("fastScan accepted what encoding/xml refuses (%v):\n%q", err, b)
	}
	if a, x := dumpScanned(fs), dumpScanned(xs); a != x {
		t.Fatalf("fastScan kept\n%s\nencoding/xml kept\n%s\ninput %q", a, x, b)
	}
	return true
}

// TestFastScanCorpus checks that the daticert.xml of every corpus message
// and the output of Marshal are read by fastScan, the same as by
// encoding/xml.
func TestFastScanCorpus(t *testing.T) {
	corpus, err := readCorpus()
	if err != nil {
		t.Skip(err)
	}
	docs := map[string][]byte{}
	for name, b := range corpus {
		docs[name] = b
	}
	for i, d := range []*Data{fullData(), minimalData()} {
		b, err := d.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		docs[fmt.Sprint("Marshal ", i)] = b
	}
	for name, b := range docs {
		b = bytes.TrimPrefix(b, utf8BOM)
		if !checkFastScan(t, b) {
			t.Errorf("%s not read by fastScan:\n%s", name, b)
		}
	}
}

// TestFastScanGivesUp checks that fastScan leaves to encoding/xml what it
// does not read the same way or what is malformed.
func TestFastScanGivesUp(t *testing.T) {
	for _, in := range []string{
		`<postacert tipo="a"><!-- c --></postacert>`,
		`<?xml version="1.0" encoding="ISO-8859-1"?><postacert/>`,
		`<?xml version="1.1"?><postacert/>`,
		`<postacert><dati><![CDATA[x]]></dati></postacert>`,
		`<postacert xmlns="urn:x"/>`,
		`<postacert a:b="1"/>`,
		`<postacert tipo="a" tipo="b"/>`,
		`<postacert tipo="a&b"/>`,
		`<postacert>&nbsp;</postacert>`,
		`<postacert>]]></postacert>`,
		`<postacert>` + "\x01" + `</postacert>`,
		`<postacert>` + "\xff" + `</postacert>`,
		`<postacert></postacerta>`,
		`<postacert>`,
		`<postacert/><x/>`,
		`x<postacert/>`,
		`<dati/>`,
		`<postacert tipo="a
b"/>`,
		`<postacert>&#0;</postacert>`,
		`<postacert>&#X41;</postacert>`,
		strings.Repeat("<postacert>", 40),
	} {
		if _, ok := fastScan([]byte(in), 0); ok {
			t.Errorf("fastScan read %q", in)
		}
	}
}

// FuzzFastScan checks fastScan against encoding/xml: whatever fastScan
// reads, encoding/xml reads too, keeping the same elements, attributes,
// text and offsets. Seeds: the cases of the tests and the corpus.
func FuzzFastScan(f *testing.F) {
	for _, tc := range tolerantCases {
		f.Add([]byte(tc.in))
	}
	for _, d := range []*Data{fullData(), minimalData()} {
		b, _ := d.Marshal()
		f.Add(b)
	}
	f.Add([]byte(`<?xml version='1.0' standalone="yes"?>` + "\r\n" + `<postacert tipo="x" errore='n&amp;&#x41;&#66;'><intestazione><mittente>a&lt;b` + "\r\n\t" + `è</mittente><x><mittente>y</mittente></x></intestazione><dati/></postacert>`))
	if docs, err := readCorpus(); err == nil {
		for _, b := range docs {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkFastScan(t, b)
	})
}

// TestDTDPaths: every container and leaf has its place in elemsByPath.
func TestDTDPaths(t *testing.T) {
	for p := range containers {
		if pathIndex(p) < 0 {
			t.Errorf("container %s is not in dtdPaths", p)
		}
	}
	for p := range leaves {
		if pathIndex(p) < 0 {
			t.Errorf("leaf %s is not in dtdPaths", p)
		}
	}
}
