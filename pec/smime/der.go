package smime

// isDER reports whether b is exactly one ASN.1 element in the definite,
// minimal encoding that DER requires: lengths in the shortest form, no
// indefinite lengths, no constructed strings (X.690 §10.1, §10.2). Real
// providers often send BER (indefinite lengths from streaming encoders);
// Verify accepts it and flags it in Verdict.BER. The order of SET OF
// elements is not checked.
func isDER(b []byte) bool {
	rest, ok := derElement(b, 0)
	return ok && len(rest) == 0
}

// maxDERDepth bounds recursion on hostile input; CMS nests about 12 deep.
const maxDERDepth = 64

// derElement checks the element at the start of b and returns what
// follows it.
func derElement(b []byte, depth int) ([]byte, bool) {
	if depth > maxDERDepth || len(b) < 2 {
		return nil, false
	}
	tag := b[0]
	constructed := tag&0x20 != 0
	i := 1
	if tag&0x1f == 0x1f { // high tag number: base-128, no leading 0x80
		if b[i] == 0x80 {
			return nil, false
		}
		for i < len(b) && b[i]&0x80 != 0 {
			i++
		}
		i++
		if i >= len(b) {
			return nil, false
		}
	}
	l := int(b[i])
	i++
	switch {
	case l == 0x80: // indefinite
		return nil, false
	case l > 0x80:
		n := l & 0x7f
		if n > 4 || i+n > len(b) || b[i] == 0 {
			return nil, false
		}
		l = 0
		for _, c := range b[i : i+n] {
			l = l<<8 | int(c)
		}
		i += n
		if l < 0x80 {
			return nil, false
		}
	}
	if l > len(b)-i {
		return nil, false
	}
	content, rest := b[i:i+l], b[i+l:]
	if !constructed {
		return rest, true
	}
	if tag&0xc0 == 0 { // universal
		switch tag & 0x1f {
		case 3, 4, 12, 19, 20, 22, 23, 24, 26, 30: // strings and times
			return nil, false
		}
	}
	for len(content) > 0 {
		var ok bool
		if content, ok = derElement(content, depth+1); !ok {
			return nil, false
		}
	}
	return rest, true
}
