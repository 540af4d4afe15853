package spool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// Put stores the item and its body; see Spool.Put. The body goes to a
// temporary file, with the envelope before it and its length and
// checksum after it; the file is fsync'd, hard-linked to the item's name
// (which fails when the name exists, so that two Puts of one ID cannot
// both succeed), and the directory fsync'd, together with the other
// calls waiting for it. The item's log follows, in the same file.
func (d *Dir) Put(ctx context.Context, it *Item, body io.Reader) error {
	if err := validItem(it); err != nil {
		return err
	}
	ctx, end, err := d.life.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	if err := d.failure(); err != nil {
		return err
	}
	if d.tab.get(it.ID) != nil || d.withheld[it.ID] {
		return exists(it.ID)
	}
	item := prepare(it, d.now)
	hdr, err := itemHeader(&item)
	if err != nil {
		return err
	}
	crc := newCRC()
	if body != nil {
		body = io.TeeReader(body, crc)
	}
	nf, n, err := d.writeNew(ctx, kindLogged, hdr, body)
	if err != nil {
		var re *readError
		if errors.As(err, &re) {
			return fmt.Errorf("spool: reading the body of item %q: %w", it.ID, re.err)
		}
		return fmt.Errorf("spool: writing item %q: %w", it.ID, err)
	}
	if ctx.Err() != nil {
		nf.discard()
		return context.Cause(ctx)
	}
	path := d.itemPath(it.ID)
	err = nf.link(path)
	if errors.Is(err, os.ErrExist) {
		nf.discard()
		return exists(it.ID)
	}
	if err != nil {
		nf.discard()
		return fmt.Errorf("spool: storing item %q: %w", it.ID, err)
	}
	// Linked: from here on the item is committed, whatever the context.
	if err := d.syncer.sync(); err != nil {
		nf.discard()
		os.Remove(path)
		return d.fail(fmt.Errorf("fsync of %s after storing item %q: %w", d.dir, it.ID, err))
	}
	bodyOff := int64(prefixLen + len(hdr) + 4 + trailerLen)
	e := &entry{item: item, size: n, inItem: true, logEnd: bodyOff + n}
	e.bodySpan, e.hasBody = logSpan{off: bodyOff, len: n, crc: crc.Sum32()}, true
	if nf.f != nil && d.keep() {
		// The nameless file, now named: the item's steps are appended,
		// and its body and outputs read, without opening it again.
		e.file.Store(newItemFile(nf.f))
		nf.f = nil
	} else {
		nf.discard()
	}
	if !d.tab.add(e) {
		d.drop(e)
		return exists(it.ID) // cannot happen: the link would have failed
	}
	return nil
}

// Get returns where the item stands; see Spool.Get.
func (d *Dir) Get(ctx context.Context, id string) (*State, error) {
	e, end, err := d.find(ctx, id)
	if err != nil {
		return nil, err
	}
	defer end()
	return d.tab.state(e), nil
}

// Body opens the item's file at its body; see Spool.Body. An item put
// by this process whose file is kept open is read through it, without
// opening the file or reading its frame again.
func (d *Dir) Body(ctx context.Context, id string) (io.ReadCloser, error) {
	e, end, err := d.find(ctx, id)
	if err != nil {
		return nil, err
	}
	defer end()
	if e.hasBody {
		if r := e.read(e.bodySpan, d.itemPath(id)); r != nil {
			return r, nil
		}
	}
	f, fr, err := openFrame(d.itemPath(id), kindItem)
	if errors.Is(err, os.ErrNotExist) {
		return nil, notFound(id, "")
	}
	if err != nil {
		return nil, err
	}
	return fr.reader(f), nil
}

// Pending lists the items not completed; see Spool.Pending. It reads
// nothing from disk: Open loaded every envelope.
func (d *Dir) Pending(ctx context.Context, opts *PendingOptions) ([]*State, error) {
	_, end, err := d.life.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer end()
	return d.tab.pending(opts), nil
}

// find starts a call on item id.
func (d *Dir) find(ctx context.Context, id string) (*entry, func(), error) {
	if err := ValidID(id); err != nil {
		return nil, nil, err
	}
	_, end, err := d.life.begin(ctx)
	if err != nil {
		return nil, nil, err
	}
	e := d.tab.get(id)
	if e == nil {
		end()
		return nil, nil, notFound(id, "")
	}
	return e, end, nil
}

// write starts a write on item id: the call begun, the spool not failed,
// the item locked and still there. The function returned ends it all.
func (d *Dir) write(ctx context.Context, id string) (context.Context, *entry, func(), error) {
	if err := ValidID(id); err != nil {
		return nil, nil, nil, err
	}
	ctx, end, err := d.life.begin(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := d.failure(); err != nil {
		end()
		return nil, nil, nil, err
	}
	e := d.tab.get(id)
	if e == nil {
		end()
		return nil, nil, nil, notFound(id, "")
	}
	e.mu.Lock()
	if e.gone {
		e.mu.Unlock()
		end()
		return nil, nil, nil, notFound(id, "")
	}
	return ctx, e, func() { e.mu.Unlock(); end() }, nil
}
