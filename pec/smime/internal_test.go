package smime

import (
	"bytes"
	"encoding/asn1"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// canonicalRef is the reference canonicalisation: every LF not preceded by
// CR becomes CRLF.
func canonicalRef(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' && (i == 0 || s[i-1] != '\r') {
			b.WriteByte('\r')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func TestCRLFWriter(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	inputs := []string{"", "\n", "\r", "\r\n", "\n\n", "\r\r\n", "a\nb\r\nc\rd\n", strings.Repeat("line\n", 3000), strings.Repeat("x", 10000) + "\n"}
	for range 200 {
		b := make([]byte, rng.IntN(300))
		for i := range b {
			b[i] = "ab\r\n"[rng.IntN(4)]
		}
		inputs = append(inputs, string(b))
	}
	for _, in := range inputs {
		want := canonicalRef(in)
		for _, chunk := range []int{1, 2, 3, 5, 4096, len(in) + 1} {
			var out bytes.Buffer
			w := &crlfWriter{w: &out}
			for s := in; len(s) > 0; {
				n := min(chunk, len(s))
				if m, err := w.Write([]byte(s[:n])); m != n || err != nil {
					t.Fatalf("Write = %d, %v", m, err)
				}
				s = s[n:]
			}
			if out.String() != want {
				t.Fatalf("chunk %d: %q -> %q, want %q", chunk, in, out.String(), want)
			}
			if w.changed != (want != in) {
				t.Fatalf("changed %v for %q", w.changed, in)
			}
		}
	}
}

func TestIsDER(t *testing.T) {
	long := der(tagOctetString, bytes.Repeat([]byte{1}, 300))
	for name, tc := range map[string]struct {
		b   []byte
		der bool
	}{
		"empty":              {nil, false},
		"null":               {[]byte{5, 0}, true},
		"sequence":           {[]byte{0x30, 3, 2, 1, 1}, true},
		"long-length":        {long, true},
		"non-minimal-short":  {[]byte{0x04, 0x81, 0x01, 'x'}, false},
		"non-minimal-zero":   {append([]byte{0x04, 0x83, 0x00}, long[2:]...), false},
		"indefinite":         {[]byte{0x30, 0x80, 5, 0, 0, 0}, false},
		"constructed-octets": {[]byte{0x24, 3, 4, 1, 'x'}, false},
		"trailing":           {[]byte{5, 0, 0}, false},
		"truncated":          {[]byte{0x30, 5, 2, 1}, false},
		"high-tag":           {[]byte{0x9f, 0x81, 0x01, 0}, true},
		"context-cons":       {[]byte{0xa0, 2, 5, 0}, true},
		"deep":               {bytes.Repeat([]byte{0x30, 0x80}, 100), false},
	} {
		if got := isDER(tc.b); got != tc.der {
			t.Errorf("%s: isDER = %v", name, got)
		}
	}
}

func TestDERLength(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 255, 256, 65535, 65536, 1 << 24} {
		b := der(tagOctetString, make([]byte, n))
		var got []byte
		rest, err := asn1.Unmarshal(b, &got)
		if err != nil || len(rest) != 0 || len(got) != n || !isDER(b) {
			t.Fatalf("length %d: %v", n, err)
		}
	}
}

func TestBERToDER(t *testing.T) {
	long := bytes.Repeat([]byte{'x'}, 200)
	for name, tc := range map[string]struct {
		ber, der []byte
		err      string // in the error, when not ""
		anyDER   bool   // any DER output will do
	}{
		"der":                  {[]byte{0x30, 3, 2, 1, 1}, []byte{0x30, 3, 2, 1, 1}, "", false},
		"indefinite":           {[]byte{0x30, 0x80, 2, 1, 1, 0, 0}, []byte{0x30, 3, 2, 1, 1}, "", false},
		"empty-indefinite":     {[]byte{0x30, 0x80, 0, 0}, []byte{0x30, 0}, "", false},
		"nested-indefinite":    {[]byte{0x30, 0x80, 0x31, 0x80, 5, 0, 0, 0, 0, 0}, []byte{0x30, 4, 0x31, 2, 5, 0}, "", false},
		"non-minimal-length":   {[]byte{0x04, 0x82, 0, 1, 'x'}, []byte{0x04, 1, 'x'}, "", false},
		"long-indefinite":      {append(append([]byte{0x30, 0x80, 0x04, 0x81, 200}, long...), 0, 0), append([]byte{0x30, 0x81, 203, 0x04, 0x81, 200}, long...), "", false},
		"constructed-string":   {[]byte{0x24, 0x80, 4, 1, 'a', 4, 1, 'b', 0, 0}, []byte{0x24, 6, 4, 1, 'a', 4, 1, 'b'}, "", false},
		"high-tag":             {[]byte{0xbf, 0x81, 0x01, 0x80, 5, 0, 0, 0}, []byte{0xbf, 0x81, 0x01, 2, 5, 0}, "", false},
		"trailing":             {[]byte{0x30, 0x80, 0, 0, 0xff, 0xff}, []byte{0x30, 0}, "", false},
		"tag-0-definite":       {[]byte{0x30, 0x80, 0x30, 2, 0, 0, 0, 0}, []byte{0x30, 4, 0x30, 2, 0, 0}, "", false},
		"empty":                {nil, nil, "at byte 0: empty", false},
		"indefinite-primitive": {[]byte{0x04, 0x80, 0, 0}, nil, "at byte 0: indefinite length on a primitive", false},
		"no-eoc":               {[]byte{0x30, 0x80, 5, 0}, nil, "at byte 4: truncated: no end-of-contents for the element at byte 0", false},
		"overrun":              {[]byte{0x30, 3, 0x04, 2, 'x', 'y'}, nil, "at byte 4: length 2 past the end", false},
		"overrun-long":         {[]byte{0x04, 0x84, 0xff, 0xff, 0xff, 0xff}, nil, "at byte 6: length 4294967295 past the end", false},
		"length-octets":        {[]byte{0x04, 0x85, 0, 0, 0, 0, 1, 'x'}, nil, "at byte 1: length of 5 octets", false},
		"length-ff":            {[]byte{0x04, 0xff}, nil, "at byte 1: reserved length octet", false},
		"long-tag":             {[]byte{0x1f, 0x81, 0x81, 0x81, 0x81, 0x01, 0}, nil, "at byte 0: tag number longer than 4 octets", false},
		"truncated-tag":        {[]byte{0x1f, 0x81}, nil, "at byte 2: truncated tag", false},
		"truncated-length":     {[]byte{0x30}, nil, "at byte 1: truncated length", false},
		"deep":                 {bytes.Repeat([]byte{0x30, 0x80}, maxBERDepth+2), nil, "nesting deeper than 64", false},
		"max-depth":            {append(bytes.Repeat([]byte{0x30, 0x80}, maxBERDepth+1), make([]byte, 2*(maxBERDepth+1))...), nil, "", true},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := berToDER(tc.ber)
			switch {
			case tc.anyDER:
				if err != nil || !isDER(got) {
					t.Fatalf("err %v, DER %v", err, isDER(got))
				}
			case tc.err != "":
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				var be *berError
				if !errors.As(err, &be) {
					t.Fatalf("err %T is not a *berError", err)
				}
			case err != nil:
				t.Fatal(err)
			case !bytes.Equal(got, tc.der):
				t.Fatalf("got % x, want % x", got, tc.der)
			}
		})
	}
}

// TestBERNodeLimit converts a signature at the element bound and one past.
func TestBERNodeLimit(t *testing.T) {
	elements := func(n int) []byte { // an indefinite SEQUENCE and n-1 NULLs
		return append(append([]byte{0x30, 0x80}, bytes.Repeat([]byte{5, 0}, n-1)...), 0, 0)
	}
	if _, err := berToDER(elements(maxBERNodes)); err != nil {
		t.Fatal(err)
	}
	if _, err := berToDER(elements(maxBERNodes + 1)); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("err = %v", err)
	}
}

// TestBERConverterMemory checks that the conversion allocates its output
// and the lengths of the constructed elements, nothing per element.
func TestBERConverterMemory(t *testing.T) {
	for _, n := range []int{1000, 100_000} {
		b := append(append([]byte{0x30, 0x80}, bytes.Repeat([]byte{0x30, 0x80, 5, 0, 0, 0}, n)...), 0, 0)
		allocs := testing.AllocsPerRun(3, func() {
			if _, err := berToDER(b); err != nil {
				t.Fatal(err)
			}
		})
		// The output, and the lengths slice doubled about log2(n/64) times.
		if allocs > 20 {
			t.Errorf("%d elements: %v allocations", n, allocs)
		}
	}
}

// FuzzBERToDER: what berToDER accepts converts to DER that converts to
// itself; DER input comes back unchanged; toDER agrees with it.
func FuzzBERToDER(f *testing.F) {
	f.Add([]byte{0x30, 0x80, 2, 1, 1, 0, 0})
	f.Add([]byte{0x30, 0x80, 0x31, 0x80, 5, 0, 0, 0, 0, 0})
	f.Add([]byte{0x24, 0x80, 4, 1, 'a', 4, 0x81, 1, 'b', 0, 0})
	f.Add([]byte{0xbf, 0x81, 0x01, 0x80, 5, 0, 0, 0, 1})
	f.Add([]byte{0x30, 3, 0x04, 2, 'x', 'y'})
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := berToDER(b)
		if rest, ok := derElement(b, 0); ok {
			if err != nil || !bytes.Equal(out, b[:len(b)-len(rest)]) {
				t.Fatalf("DER input % x converted to % x, %v", b, out, err)
			}
		}
		viaTo, toErr := toDER(b)
		if (err == nil) != (toErr == nil) || !bytes.Equal(out, viaTo) {
			t.Fatalf("berToDER % x, %v; toDER % x, %v", out, err, viaTo, toErr)
		}
		if err != nil {
			var be *berError
			if !errors.As(err, &be) || be.off < 0 || be.off > len(b) {
				t.Fatalf("error %v", err)
			}
			return
		}
		again, err := berToDER(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("output % x converts to % x, %v", out, again, err)
		}
		if !hasConstructedString(out) && !isDER(out) {
			t.Fatalf("output % x is not DER", out)
		}
	})
}

// hasConstructedString reports whether b holds a constructed string,
// which berToDER keeps and DER forbids.
func hasConstructedString(b []byte) bool {
	for i := range b {
		switch b[i] {
		case 0x23, 0x24, 0x2c, 0x33, 0x34, 0x36, 0x37, 0x38, 0x3a, 0x3e:
			return true
		}
	}
	return false
}

// TestSignedDataBounds checks the bounds on signers and attributes at
// their limit and one past it.
func TestSignedDataBounds(t *testing.T) {
	attr := der(tagSequence, []byte{0x06, 1, 0x2a}, der(tagSet))
	signerInfo := func(attrs int) []byte {
		return der(tagSequence, derVersion1, der(0xa1, bytes.Repeat(attr, attrs)))
	}
	for name, tc := range map[string]struct {
		set []byte // the contents of the SET OF SignerInfo
		ok  bool
	}{
		"one":           {signerInfo(1), true},
		"max-signers":   {bytes.Repeat(signerInfo(1), maxSigners), true},
		"many-signers":  {bytes.Repeat(signerInfo(1), maxSigners+1), false},
		"max-attrs":     {signerInfo(maxAttributes), true},
		"many-attrs":    {signerInfo(maxAttributes + 1), false},
		"truncated":     {signerInfo(1)[:5], false},
		"not-sequences": {[]byte{5, 0, 5, 0}, true},
	} {
		err := checkSignerInfos(tc.set)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if err := checkCount("certificates", bytes.Repeat([]byte{5, 0}, maxCertificates+1), maxCertificates); err == nil {
		t.Error("no error past maxCertificates")
	}
}

// FuzzUTCTime: parseUTCTime reads what asn1.Unmarshal reads into a
// time.Time, the same instant in the same zone, and nothing it refuses.
func FuzzUTCTime(f *testing.F) {
	for _, s := range []string{"250102030405Z", "491231235959Z", "500101000000Z", "990230000000Z", "251301000000Z", "250101240000Z", "2501010000Z", "250101000060Z"} {
		f.Add(append([]byte{0x17, byte(len(s))}, s...))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := parseUTCTime(b)
		if !ok {
			return
		}
		var want time.Time
		if _, err := asn1.Unmarshal(b, &want); err != nil {
			t.Fatalf("parseUTCTime(%q) = %v, asn1 refuses it: %v", b, got, err)
		}
		if !got.Equal(want) || got.Location().String() != want.Location().String() || got.String() != want.String() {
			t.Fatalf("parseUTCTime(%q) = %v, asn1 %v", b, got, want)
		}
	})
}
