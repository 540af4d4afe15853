package client

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"reflect"
	"testing"
	"time"
)

// FuzzParsePresets: what ParsePresets accepts marshals to JSON that it
// parses back to the same presets.
func FuzzParsePresets(f *testing.F) {
	f.Add(presetsJSON)
	f.Add([]byte(`[{"name":"x","smtp":{"host":"h","port":587,"security":"starttls"}}]`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ps, err := ParsePresets(bytes.NewReader(b))
		if err != nil {
			return
		}
		out, err := json.Marshal(ps)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParsePresets(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("re-parse of %s: %v", out, err)
		}
		if len(ps) == 0 && len(again) == 0 {
			return
		}
		if !reflect.DeepEqual(ps, again) {
			t.Fatalf("unstable:\n%+v\n%+v", ps, again)
		}
	})
}

// FuzzPOP3Server: whatever a server sends, a session (greeting, CAPA,
// AUTH, UIDL, RETR) ends with an answer or an error: no panic, no hang.
func FuzzPOP3Server(f *testing.F) {
	f.Add([]byte("+OK hi\r\n+OK\r\nSASL PLAIN\r\n.\r\n+OK\r\n+OK\r\n1 a\r\n.\r\n+OK\r\n..x\r\n.\r\n"))
	f.Add([]byte("+OK\r\n-ERR\r\n+OK\r\n+OK\r\n+OK\r\n"))
	f.Add([]byte("+ \r\n+\r\n"))
	f.Add([]byte("+OK\r\n+OK\r\n.\r\n+OK\r\n+OK\r\n2 \r\n.\r\n"))
	f.Fuzz(func(t *testing.T, script []byte) {
		cli, srv := net.Pipe()
		go func() {
			go io.Copy(io.Discard, srv)
			srv.Write(script)
			srv.Close()
		}()
		c := newPOP3Conn(cli, time.Second, nil)
		defer c.close()
		ctx := context.Background()
		if err := c.do(ctx, func() error { _, err := c.reply("greeting"); return err }); err != nil {
			return
		}
		if c.capa(ctx) != nil || c.auth(ctx, "", "u", "p") != nil {
			return
		}
		list, err := c.uidl(ctx)
		if err != nil || len(list) == 0 {
			return
		}
		_ = c.retr(ctx, list[0].Num, func(r io.Reader) error { _, err := io.Copy(io.Discard, r); return err })
	})
}
