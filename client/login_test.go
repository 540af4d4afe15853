package client

import "testing"

func TestLoginClient(t *testing.T) {
	for _, tc := range []struct {
		name       string
		challenges []string
		want       []string
		fail       bool
	}{
		{"initial response taken", []string{"Password:"}, []string{"pw"}, false},
		{"asks the user first", []string{"Username:", "Password:"}, []string{"u", "pw"}, false},
		{"other spellings", []string{"User Name", "password"}, []string{"u", "pw"}, false},
		{"unknown challenge", []string{"Token:"}, nil, true},
		{"too many", []string{"Password:", "Password:", "Password:", "Password:"}, []string{"pw", "pw", "pw"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newLoginClient("u", "pw")
			mech, ir, err := c.Start()
			if mech != "LOGIN" || string(ir) != "u" || err != nil {
				t.Fatalf("Start: %s %q %v", mech, ir, err)
			}
			var failed bool
			for i, ch := range tc.challenges {
				resp, err := c.Next([]byte(ch))
				if err != nil {
					failed = true
					break
				}
				if i < len(tc.want) && string(resp) != tc.want[i] {
					t.Errorf("challenge %q: %q, want %q", ch, resp, tc.want[i])
				}
			}
			if failed != tc.fail {
				t.Errorf("failed %v, want %v", failed, tc.fail)
			}
		})
	}
}
