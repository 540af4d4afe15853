// Package filestore is the embedded trace.Store: a provider's trace log in
// one directory on local disk, append-only and durable.
//
// The directory holds:
//
//	PECTRACE                  the marker: this directory is a trace store (format version)
//	LOCK                      held (flock) by the one process that has the store open for writing
//	seg-<first seq, hex>.log  segments: a header, then framed records, appended only, then zeros (cut off the last one at Close)
//	next-segment.tmp          the next segment, being filled with zeros in the background
//	seals.log                 the seals, framed the same way, appended only
//	checkpoint                the checkpoint of the last Cut, replaced atomically
//
// A frame is a 13-byte header (the payload length as a little-endian
// uint32, one flags byte, the CRC-32C of the payload, and the CRC-32C of
// those nine bytes) followed by the payload: a record as
// trace.Record.MarshalBinary encodes it, or a seal. The header's own
// checksum keeps a damaged length from passing for a frame cut short by a
// crash. The last frame of every Append call carries a commit flag, so
// that a call of several records is kept whole or not at all.
//
// A segment file is made at its full size (Options.ZeroFill) filled with
// zeros, written and fsync'd before it is used: the next one is prepared
// in the background while the active one fills. Commits then overwrite
// blocks already allocated without changing the file's size, and need only
// fdatasync (no journal commit). On Linux each commit is written with
// direct I/O where the file system allows it (Options.NoDirectIO): whole
// 4 KiB blocks, the last one padded with zeros and written again, with the
// next frames, by the next commit; the fdatasync then only flushes the
// disk's cache (and commits the journal when the write made the file
// longer). The records end at the first frame header of zeros
// followed by nothing but zeros; segments without padding open the same.
//
// An Append returns once its frames are written and the segment fdatasync'd
// (and the directory fsync'd, when a segment was created). Concurrent
// Appends are committed together (group commit): each call validates its
// records, encodes them and computes their index keys on its own, then,
// under the writer lock, only chains them (one SHA-256 each) and places
// them in the open batch; one goroutine, the syncer, takes the open batch,
// writes it with one write, fdatasyncs once and releases its callers with
// one wake-up, then takes the batch filled meanwhile. Another goroutine
// adds the batch's keys to the indexes while it is written and
// fdatasync'd (a look-up never goes past the last record published); the
// first of the callers to run publishes the batch (with any durable batch
// before it, in order) before any of them returns. Segments are
// rolled when they reach Options.SegmentSize; one Append call never spans
// two, and a segment is made only once every batch before it is durable.
//
// Each seal is one frame appended to seals.log and fsync'd, so that sealing
// costs the same however many seals the retention period holds; the file
// is only ever replaced whole (temporary file, fsync, rename, directory
// fsync), by Cut. The checkpoint is written the same way.
//
// Open recovers from a crash: a torn tail of the last segment or of the
// seals log (a frame cut short, a bad checksum at the very end or followed
// only by zeros, a frame header of zeros followed by data, frames after
// the last commit flag) is truncated away and reported by Store.Recovered
// and the logger; data that a seal covers is never dropped, and corruption
// anywhere else is an error naming the file, the byte offset and the record
// (CorruptError, matching trace.ErrCorrupt). A directory that holds other
// files but no marker is refused untouched (ErrNotStore).
//
// The indexes that Query and Reissue use (provider message identifier,
// client Message-ID, addresses, generated Message-IDs, time) are kept in
// memory and rebuilt from the segments at Open.
//
// Cut replaces whole files: the segment holding the cut point is rewritten
// under a new name (temporary file, fsync, rename, directory fsync) after
// the checkpoint is stored, then the files cut are removed; Open finishes
// a Cut interrupted by a crash.
//
// Sources: PEC.md §14 (content, retention), §9 (identifiers).
package filestore
