package main

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/trace"
	"github.com/pecsdk/pec/trace/filestore"
	"github.com/pecsdk/pec/trace/pgstore"
)

// cmdTrace runs the trace subcommands over a provider's trace store.
func cmdTrace(args []string, out io.Writer) (int, error) {
	if len(args) == 0 {
		return 2, errors.New("trace: no subcommand: verify, query or reissue (pec help trace)")
	}
	switch args[0] {
	case "verify":
		return traceVerify(args[1:], out)
	case "query":
		return traceQuery(args[1:], out)
	case "reissue":
		return traceReissue(args[1:], out)
	case "help", "-h", "-help", "--help":
		return 0, help(out, []string{"trace"})
	}
	return 2, fmt.Errorf("trace: unknown subcommand %q: verify, query or reissue (pec help trace)", args[0])
}

// storeFlags are the flags that name the store.
type storeFlags struct {
	dir, postgres *string
}

func addStoreFlags(fs *flag.FlagSet) storeFlags {
	return storeFlags{
		dir:      fs.String("dir", "", "the directory of an embedded trace store (opened read-only)"),
		postgres: fs.String("postgres", "", "the URL of a PostgreSQL trace store"),
	}
}

// open opens the store the flags name. A damaged embedded store gives an
// error matching trace.ErrCorrupt that names the file and the record.
func (sf storeFlags) open(ctx context.Context) (trace.Store, error) {
	switch {
	case *sf.dir != "" && *sf.postgres != "":
		return nil, errors.New("trace: give --dir or --postgres, not both")
	case *sf.dir != "":
		st, err := filestore.Open(ctx, *sf.dir, &filestore.Options{ReadOnly: true})
		if err != nil {
			return nil, err
		}
		return st, nil
	case *sf.postgres != "":
		st, err := pgstore.Open(ctx, *sf.postgres, nil)
		if err != nil {
			return nil, err
		}
		return st, nil
	}
	return nil, errors.New("trace: no store: give --dir DIR or --postgres URL")
}

func traceVerify(args []string, out io.Writer) (int, error) {
	fs := newFlagSet("trace verify")
	sf := addStoreFlags(fs)
	ca := fs.String("ca", "", "PEM file of trust anchors: every seal must be trusted")
	var certs pemFiles
	fs.Var(&certs, "cert", "PEM file of a provider certificate, past or present (repeat for renewals): every seal must be signed with one of them")
	sealed := fs.Bool("require-sealed", false, "records no seal covers are a failure (see --max-unsealed)")
	maxUnsealed := fs.Uint64("max-unsealed", 0, "with --require-sealed, how many records after the last seal are tolerated")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return 2, err
	}
	if len(pos) > 0 {
		return 2, fmt.Errorf("trace verify: unexpected argument %q", pos[0])
	}
	opts := &trace.VerifyOptions{RequireSealed: *sealed, MaxUnsealed: *maxUnsealed}
	if opts.SignatureOptions, err = verifyOptions(*ca); err != nil {
		return 2, err
	}
	for _, path := range certs {
		c, err := loadCertificate(path)
		if err != nil {
			return 2, err
		}
		opts.Certificates = append(opts.Certificates, c)
	}
	ctx := context.Background()
	st, err := sf.open(ctx)
	if errors.Is(err, trace.ErrCorrupt) {
		fmt.Fprintf(out, "FAIL %v\n", err)
		return 1, nil
	}
	if err != nil {
		return 2, err
	}
	defer st.Close()
	if fst, ok := st.(*filestore.Store); ok {
		for _, r := range fst.Recovered() {
			fmt.Fprintf(out, "note: torn tail of an interrupted write, not counted: %s\n", r)
		}
	}
	rep, err := trace.Verify(ctx, st, opts)
	if err != nil {
		return 2, err
	}
	if !rep.OK() {
		fmt.Fprintf(out, "FAIL record %d: %s: %s\n", rep.Break.Seq, rep.Break.Kind, rep.Break.Reason)
		return 1, nil
	}
	s := fmt.Sprintf("OK %d records", rep.Records)
	if rep.Records > 0 {
		s += fmt.Sprintf(" (%d to %d)", rep.First, rep.Last)
	}
	if rep.Checkpoint != nil {
		s += fmt.Sprintf(", from the checkpoint at record %d (records before %s pruned)", rep.Checkpoint.Seq, rep.Checkpoint.Before.In(pec.Location).Format(time.RFC3339))
	}
	s += fmt.Sprintf(", head %x, %d seals", rep.Head[:8], rep.Seals)
	if rep.Sealed > 0 {
		s += fmt.Sprintf(", sealed to record %d at %s", rep.Sealed, rep.SealedAt.In(pec.Location).Format(time.RFC3339))
	}
	if u := rep.Unsealed(); u > 0 {
		s += fmt.Sprintf(", %d records after the last seal", u)
	}
	fmt.Fprintln(out, s)
	return 0, nil
}

// loadCertificate reads the first certificate of a PEM file.
// pemFiles is a flag that may be given more than once.
type pemFiles []string

func (p *pemFiles) String() string     { return strings.Join(*p, ",") }
func (p *pemFiles) Set(v string) error { *p = append(*p, v); return nil }

func loadCertificate(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return nil, fmt.Errorf("%s: no PEM certificate", path)
		}
		if blk.Type == "CERTIFICATE" {
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			return c, nil
		}
	}
}

// parseTime reads an RFC 3339 time, or a day at midnight in Italian time.
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, pec.Location); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a day (YYYY-MM-DD)", s)
}

func traceQuery(args []string, out io.Writer) (int, error) {
	fs := newFlagSet("trace query")
	sf := addStoreFlags(fs)
	var q trace.Query
	fs.StringVar(&q.MsgID, "msgid", "", "the provider message identifier (identificativo)")
	fs.StringVar(&q.ClientMsgID, "client-msgid", "", "the Message-ID the sender's client gave the message")
	fs.StringVar(&q.Address, "address", "", "an address: sender, recipient, or the one an outcome is about")
	since := fs.String("since", "", "records at or after this time")
	until := fs.String("until", "", "records before this time")
	fs.IntVar(&q.Limit, "limit", 0, "at most this many records, the first")
	asJSON := fs.Bool("json", false, "print one JSON object per record")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return 2, err
	}
	if len(pos) > 0 {
		return 2, fmt.Errorf("trace query: unexpected argument %q", pos[0])
	}
	if *since != "" {
		if q.Since, err = parseTime(*since); err != nil {
			return 2, fmt.Errorf("--since: %w", err)
		}
	}
	if *until != "" {
		if q.Until, err = parseTime(*until); err != nil {
			return 2, fmt.Errorf("--until: %w", err)
		}
	}
	ctx := context.Background()
	st, err := sf.open(ctx)
	if err != nil {
		return 2, err
	}
	defer st.Close()
	recs, err := st.Query(ctx, q)
	if err != nil {
		return 2, err
	}
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	for _, r := range recs {
		if *asJSON {
			if err := enc.Encode(recordView(r)); err != nil {
				return 2, err
			}
			continue
		}
		fmt.Fprintf(out, "%d %s %s\n", r.Seq, r.Time.In(pec.Location).Format(time.RFC3339Nano), r.Line())
	}
	return 0, nil
}

// jsonRecord is a record as query --json prints it: hashes in hex, the
// signed message by its size and hash (reissue gives the bytes).
type jsonRecord struct {
	Seq           uint64          `json:"seq"`
	Time          time.Time       `json:"time"`
	Point         trace.Point     `json:"point,omitempty"`
	Event         trace.Event     `json:"event"`
	Kind          string          `json:"kind,omitempty"`
	MsgID         string          `json:"msgid,omitempty"`
	ClientMsgID   string          `json:"client_msgid,omitempty"`
	Sender        string          `json:"sender,omitempty"`
	Recipients    []pec.Recipient `json:"recipients,omitempty"`
	Subject       string          `json:"subject,omitempty"`
	Provider      string          `json:"provider,omitempty"`
	Generated     []string        `json:"generated,omitempty"`
	ReceiptType   pec.ReceiptType `json:"receipt_type,omitempty"`
	Delivery      string          `json:"delivery,omitempty"`
	Reception     string          `json:"reception,omitempty"`
	Error         pec.ErrorCode   `json:"error,omitempty"`
	ErrorExtended string          `json:"error_extended,omitempty"`
	Virus         string          `json:"virus,omitempty"`
	QueueID       string          `json:"queue_id,omitempty"`
	MessageBytes  int             `json:"message_bytes,omitempty"`
	MessageRef    string          `json:"message_ref,omitempty"`
	MessageHash   string          `json:"message_sha256,omitempty"`
	Prev          string          `json:"prev"`
	Hash          string          `json:"hash"`
}

func recordView(r *trace.Record) jsonRecord {
	v := jsonRecord{
		Seq: r.Seq, Time: r.Time, Point: r.Point, Event: r.Event, MsgID: r.MsgID, ClientMsgID: r.ClientMsgID,
		Sender: r.Sender, Recipients: r.Recipients, Subject: r.Subject, Provider: r.Provider, Generated: r.Generated,
		ReceiptType: r.ReceiptType, Delivery: r.Delivery, Reception: r.Reception, Error: r.Error,
		ErrorExtended: r.ErrorExtended, Virus: r.Virus, QueueID: r.QueueID, MessageBytes: len(r.Message),
		MessageRef: r.MessageRef, Prev: hex.EncodeToString(r.Prev[:]), Hash: hex.EncodeToString(r.Hash[:]),
	}
	if r.Kind != pec.KindUnknown {
		v.Kind = r.Kind.String()
	}
	if !r.MessageHash.IsZero() {
		v.MessageHash = hex.EncodeToString(r.MessageHash[:])
	}
	return v
}

func traceReissue(args []string, out io.Writer) (int, error) {
	fs := newFlagSet("trace reissue")
	sf := addStoreFlags(fs)
	outFile := fs.String("o", "", "write the message to this file (default: standard output)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return 2, err
	}
	if len(pos) != 1 {
		return 2, errors.New("trace reissue: give one MESSAGE-ID")
	}
	ctx := context.Background()
	st, err := sf.open(ctx)
	if err != nil {
		return 2, err
	}
	defer st.Close()
	msg, err := st.Reissue(ctx, pos[0])
	if errors.Is(err, trace.ErrNotFound) {
		return 1, err
	}
	if err != nil {
		return 2, err
	}
	if *outFile == "" {
		_, err = out.Write(msg)
	} else {
		err = os.WriteFile(*outFile, msg, 0o644)
	}
	if err != nil {
		return 2, err
	}
	return 0, nil
}
