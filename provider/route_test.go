package provider_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/pecsdk/pec/provider"
)

// fakeMX answers every DNS query over a stream (TCP framing) with the MX
// records given, preference and host.
func fakeMX(mx map[uint16]string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, s := net.Pipe()
		go func() {
			defer s.Close()
			for {
				var n uint16
				if err := binary.Read(s, binary.BigEndian, &n); err != nil {
					return
				}
				q := make([]byte, n)
				if _, err := io.ReadFull(s, q); err != nil {
					return
				}
				// header: copy the ID, answer with the question and the records
				end := 12
				for q[end] != 0 {
					end += int(q[end]) + 1
				}
				end += 5 // root label, type, class
				resp := append([]byte{}, q[:2]...)
				resp = append(resp, 0x81, 0x80, 0, 1, 0, byte(len(mx)), 0, 0, 0, 0)
				resp = append(resp, q[12:end]...)
				prefs := make([]uint16, 0, len(mx))
				for p := range mx {
					prefs = append(prefs, p)
				}
				slices.Sort(prefs)
				for _, p := range prefs {
					var name []byte
					if h := strings.TrimSuffix(mx[p], "."); h != "" {
						for _, l := range strings.Split(h, ".") {
							name = append(name, byte(len(l)))
							name = append(name, l...)
						}
					}
					name = append(name, 0)
					resp = append(resp, 0xc0, 0x0c, 0, 15, 0, 1, 0, 0, 0, 60)
					resp = binary.BigEndian.AppendUint16(resp, uint16(2+len(name)))
					resp = binary.BigEndian.AppendUint16(resp, p)
					resp = append(resp, name...)
				}
				out := binary.BigEndian.AppendUint16(nil, uint16(len(resp)))
				if _, err := s.Write(append(out, resp...)); err != nil {
					return
				}
			}
		}()
		return c, nil
	}
}

func TestMXRouter(t *testing.T) {
	r := &provider.MXRouter{Resolver: &net.Resolver{PreferGo: true, Dial: fakeMX(map[uint16]string{20: "mx2.pec.example.it.", 10: "mx1.pec.example.it."})}}
	got, err := r.Route(context.Background(), "pec.example.it")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"mx1.pec.example.it:25", "mx2.pec.example.it:25"}; !slices.Equal(got, want) {
		t.Fatalf("routes %v, want %v", got, want)
	}
	null := &provider.MXRouter{Resolver: &net.Resolver{PreferGo: true, Dial: fakeMX(map[uint16]string{0: "."})}}
	_, err = null.Route(context.Background(), "nomail.example")
	var re *provider.RouteError
	if !errors.As(err, &re) || !re.Permanent {
		t.Fatalf("null MX: %v, want a permanent RouteError", err)
	}
	st := provider.StaticRouter{"a.example": "127.0.0.1:2525"}
	if got, err := st.Route(context.Background(), "A.example"); err != nil || !slices.Equal(got, []string{"127.0.0.1:2525"}) {
		t.Fatalf("static: %v %v", got, err)
	}
	if _, err := st.Route(context.Background(), "b.example"); err == nil {
		t.Fatal("static route to an unknown domain")
	}
}
