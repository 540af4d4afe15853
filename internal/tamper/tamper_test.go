package tamper

import "testing"

func TestSetHeader(t *testing.T) {
	msg := []byte("From: a@b\r\nX-Ricevuta: accettazione\r\nSubject: x\r\n folded\r\n\r\nbody\r\nSubject: not a header\r\n")
	for _, tc := range []struct{ name, value, want string }{
		{"X-Ricevuta", "avvenuta-consegna", "From: a@b\r\nX-Ricevuta: avvenuta-consegna\r\nSubject: x\r\n folded\r\n\r\nbody\r\nSubject: not a header\r\n"},
		{"subject", "", "From: a@b\r\nX-Ricevuta: accettazione\r\n\r\nbody\r\nSubject: not a header\r\n"},
		{"X-New", "1", "X-New: 1\r\nFrom: a@b\r\nX-Ricevuta: accettazione\r\nSubject: x\r\n folded\r\n\r\nbody\r\nSubject: not a header\r\n"},
	} {
		got, err := SetHeader(msg, tc.name, tc.value)
		if err != nil || string(got) != tc.want {
			t.Errorf("%s=%q: %q %v", tc.name, tc.value, got, err)
		}
	}
	if _, err := SetHeader([]byte("no header end"), "A", "b"); err != ErrNoHeader {
		t.Errorf("no header end: %v", err)
	}
}
