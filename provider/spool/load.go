package spool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// sideFile is a step's or a retry's file found by Open.
type sideFile struct {
	id, key, path string
}

// load reads every envelope, step and retry of the directory into the
// table. It removes temporary files, and the steps and retries of items
// no longer there (a Complete interrupted by a crash) or, for retries, of
// steps done; it reports everything else it cannot read as damaged,
// withholding the item it belongs to.
func (d *Dir) load(ctx context.Context) error {
	ents, err := os.ReadDir(d.dir)
	if err != nil {
		return err
	}
	var items, logs []string
	var steps, retries []sideFile
	removed := 0
	remove := func(path, why string) error {
		d.log.Info("spool: removing "+why, "file", path)
		if err := os.Remove(path); err != nil {
			return err
		}
		removed++
		return nil
	}
	for _, ent := range ents {
		name := ent.Name()
		path := filepath.Join(d.dir, name)
		switch {
		case name == markerName || name == lockName:
		case strings.HasPrefix(name, tmpPrefix) && ent.Type().IsRegular():
			if err := remove(path, "an unfinished temporary file"); err != nil {
				return err
			}
		case !ent.Type().IsRegular():
			d.damage(&CorruptError{Path: path, Offset: -1, Reason: "not a regular file"}, "")
		case strings.HasSuffix(name, itemSuffix) && ValidID(strings.TrimSuffix(name, itemSuffix)) == nil:
			items = append(items, strings.TrimSuffix(name, itemSuffix))
		case strings.HasSuffix(name, logSuffix) && ValidID(strings.TrimSuffix(name, logSuffix)) == nil:
			logs = append(logs, strings.TrimSuffix(name, logSuffix))
		case strings.HasSuffix(name, stepSuffix):
			id, key, ok := splitStepName(strings.TrimSuffix(name, stepSuffix))
			if !ok {
				d.damage(&CorruptError{Path: path, Offset: -1, Reason: "not a spool file name"}, "")
				continue
			}
			steps = append(steps, sideFile{id, key, path})
		case strings.HasSuffix(name, retrySuf):
			id, key, ok := splitStepName(strings.TrimSuffix(name, retrySuf))
			if !ok {
				d.damage(&CorruptError{Path: path, Offset: -1, Reason: "not a spool file name"}, "")
				continue
			}
			retries = append(retries, sideFile{id, key, path})
		default:
			d.damage(&CorruptError{Path: path, Offset: -1, Reason: "not a spool file name"}, "")
		}
	}
	withheld := map[string]bool{}
	for _, id := range items {
		if err := ctx.Err(); err != nil {
			return err
		}
		it, fr, err := loadItem(d.itemPath(id), id)
		if err != nil {
			var ce *CorruptError
			if !errors.As(err, &ce) {
				return err
			}
			d.damage(ce, id)
			withheld[id] = true
			if it != nil {
				withheld[it.ID] = true // a file renamed: keep the steps of the item it holds
			}
			continue
		}
		e := &entry{item: *it, size: fr.bodyLen, inItem: fr.kind == kindLogged}
		if e.inItem {
			e.logEnd = fr.end
		}
		d.tab.add(e)
		if e.inItem {
			if err := d.loadLog(e); err != nil {
				var ce *CorruptError
				if !errors.As(err, &ce) {
					return err
				}
				d.damage(ce, id)
				withheld[id] = true
			}
		}
	}
	for _, sf := range steps {
		e := d.tab.get(sf.id)
		if e == nil && !withheld[sf.id] {
			if err := remove(sf.path, "a step of a completed item"); err != nil {
				return err
			}
			continue
		}
		step, err := loadStep(sf)
		if err != nil {
			var ce *CorruptError
			if !errors.As(err, &ce) {
				return err
			}
			d.damage(ce, sf.id)
			withheld[sf.id] = true
			continue
		}
		if e != nil {
			e.steps[step] = true
		}
	}
	for _, id := range logs {
		if err := ctx.Err(); err != nil {
			return err
		}
		e := d.tab.get(id)
		path := d.logPath(id)
		if e == nil && !withheld[id] {
			if err := remove(path, "the log of a completed item"); err != nil {
				return err
			}
			continue
		}
		if e == nil {
			continue
		}
		if e.inItem {
			d.damage(&CorruptError{Path: path, Offset: -1, Reason: "a log beside an item that holds its own"}, id)
			withheld[id] = true
			continue
		}
		if err := d.loadLog(e); err != nil {
			var ce *CorruptError
			if !errors.As(err, &ce) {
				return err
			}
			d.damage(ce, id)
			withheld[id] = true
		}
	}
	for _, sf := range retries {
		e := d.tab.get(sf.id)
		if e == nil && !withheld[sf.id] {
			if err := remove(sf.path, "a retry of a completed item"); err != nil {
				return err
			}
			continue
		}
		r, err := loadRetry(sf)
		if err != nil {
			var ce *CorruptError
			if !errors.As(err, &ce) {
				return err
			}
			d.damage(ce, sf.id)
			withheld[sf.id] = true
			continue
		}
		if e == nil {
			continue
		}
		if e.steps[r.Step] {
			if err := remove(sf.path, "the retry of a done step"); err != nil {
				return err
			}
			continue
		}
		e.retries[r.Step] = *r
	}
	for id := range withheld {
		if e := d.tab.get(id); e != nil {
			d.tab.remove(e)
		}
	}
	d.withheld = withheld
	if removed > 0 {
		return d.syncer.sync()
	}
	return nil
}

// damage reports a damaged or foreign file, and the item withheld for it.
func (d *Dir) damage(err *CorruptError, id string) {
	d.damaged = append(d.damaged, err)
	if id != "" {
		d.log.Error("spool: damaged file; its item is withheld", "item", id, "err", err)
	} else {
		d.log.Error("spool: foreign file", "err", err)
	}
}

// loadItem reads the envelope of the item file at path, named for id,
// and returns it with its frame. Damage is a *CorruptError; when the file
// holds another item, that item is returned with the error.
func loadItem(path, id string) (*Item, *frame, error) {
	f, fr, err := openFrame(path, kindItem)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	it, err := parseItemHeader(fr.header)
	if err != nil {
		return nil, nil, &CorruptError{Path: path, Offset: int64(prefixLen), Reason: "bad envelope", Err: err}
	}
	if it.ID != id {
		return it, nil, &CorruptError{Path: path, Offset: int64(prefixLen), Reason: fmt.Sprintf("holds item %q", it.ID)}
	}
	return it, fr, nil
}

// loadStep reads the header of a step's file and returns the step name.
func loadStep(sf sideFile) (string, error) {
	f, fr, err := openFrame(sf.path, kindStep)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h, err := parseStepHeader(fr.header)
	if err != nil {
		return "", &CorruptError{Path: sf.path, Offset: int64(prefixLen), Reason: "bad step header", Err: err}
	}
	if h.ID != sf.id || stepKey(h.Step) != sf.key {
		return "", &CorruptError{Path: sf.path, Offset: int64(prefixLen), Reason: fmt.Sprintf("holds step %q of item %q", h.Step, h.ID)}
	}
	return h.Step, nil
}

// loadRetry reads a retry's file.
func loadRetry(sf sideFile) (*Retry, error) {
	f, fr, err := openFrame(sf.path, kindRetry)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h, err := parseRetryHeader(fr.header)
	if err == nil && fr.bodyLen != 0 {
		err = fmt.Errorf("a body of %d bytes", fr.bodyLen)
	}
	if err != nil {
		return nil, &CorruptError{Path: sf.path, Offset: int64(prefixLen), Reason: "bad retry header", Err: err}
	}
	if h.ID != sf.id || stepKey(h.Step) != sf.key {
		return nil, &CorruptError{Path: sf.path, Offset: int64(prefixLen), Reason: fmt.Sprintf("holds the retry of step %q of item %q", h.Step, h.ID)}
	}
	return &Retry{Step: h.Step, Attempts: h.Attempts, Next: h.Next, Cause: h.Cause}, nil
}

// loadLog reads the log of item e: its steps done, with where their
// outputs lie, and its retries. A torn last record is dropped and the
// log cut before it, durably. Damage is a *CorruptError.
func (d *Dir) loadLog(e *entry) error {
	id := e.item.ID
	path := d.entryLog(e)
	start := int64(0)
	if e.inItem {
		start = e.logEnd // the end of the item's frame
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	recs, end, ce := scanLog(f, start, fi.Size())
	if ce != nil {
		ce.Path = path
		return ce
	}
	if e.outs == nil {
		e.outs = map[string]logSpan{}
	}
	for _, rec := range recs {
		switch rec.kind {
		case kindStep:
			h, err := parseStepHeader(rec.header)
			if err == nil && h.ID != id {
				err = fmt.Errorf("holds step %q of item %q", h.Step, h.ID)
			}
			if err != nil {
				return &CorruptError{Path: path, Offset: rec.bodyOff, Reason: "bad step record", Err: err}
			}
			if !e.steps[h.Step] { // the first output is kept
				e.steps[h.Step] = true
				e.outs[h.Step] = logSpan{off: rec.bodyOff, len: rec.bodyLen, crc: rec.bodyCRC}
			}
			delete(e.retries, h.Step)
		case kindRetry:
			h, err := parseRetryHeader(rec.header)
			if err == nil && h.ID != id {
				err = fmt.Errorf("holds the retry of step %q of item %q", h.Step, h.ID)
			}
			if err == nil && rec.bodyLen != 0 {
				err = fmt.Errorf("a body of %d bytes", rec.bodyLen)
			}
			if err != nil {
				return &CorruptError{Path: path, Offset: rec.bodyOff, Reason: "bad retry record", Err: err}
			}
			if !e.steps[h.Step] {
				e.retries[h.Step] = Retry{Step: h.Step, Attempts: h.Attempts, Next: h.Next, Cause: h.Cause}
			}
		}
	}
	if end < fi.Size() {
		d.log.Warn("spool: dropping the torn last record of a log", "file", path, "offset", end, "bytes", fi.Size()-end)
		if err := f.Truncate(end); err != nil {
			return err
		}
		if err := f.Sync(); err != nil {
			return err
		}
	}
	e.logEnd = end
	return nil
}
