package sqlite

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/klauspost/compress/s2"

	"github.com/agentfleet/fleet/engine/event"
)

// maxBatchBytes is where Commit cuts a commit's events into another event_batches row: a row
// holds events until their JSON lines reach this size, so it is at most maxBatchBytes plus one
// event before compression. Rows of this size cost about as little per event as one row per
// commit, and keep a read of a few events from a long commit from loading the whole commit.
const maxBatchBytes = 64 << 10

// maxLinesBytes bounds a batch's JSON lines: SQLite stores no value over 1e9 bytes, so no
// batch is larger, and a corrupt compressed one that claims more is refused before allocating.
const maxLinesBytes = 1e9

// The stored forms of event_batches.data (its format column).
const (
	formatLines = 0 // the JSON lines as they are
	formatS2    = 1 // the JSON lines compressed as one S2 block (github.com/klauspost/compress/s2)
)

// batchBufs are the buffers one Commit or Events call renders batches in: lines holds JSON
// lines, packed their compressed form.
type batchBufs struct {
	lines, packed []byte
}

var batchPool = sync.Pool{New: func() any {
	return &batchBufs{lines: make([]byte, 0, maxBatchBytes+4<<10),
		packed: make([]byte, 0, s2.MaxEncodedLen(maxBatchBytes+4<<10))}
}}

func getBatchBufs() *batchBufs { return batchPool.Get().(*batchBufs) }

// put returns the buffers to the pool unless a huge event grew them.
func (b *batchBufs) put() {
	if cap(b.lines) <= 4*maxBatchBytes && cap(b.packed) <= 4*maxBatchBytes {
		b.lines, b.packed = b.lines[:0], b.packed[:0]
		batchPool.Put(b)
	}
}

// pack returns the stored form of b.lines: compressed into b.packed when that saves at least
// an eighth (token events shrink to about a tenth: their envelopes repeat), else the lines
// themselves, which the sqlite3 shell shows as they are.
func (b *batchBufs) pack() (format int, data []byte, err error) {
	if len(b.lines) > maxLinesBytes {
		return 0, nil, fmt.Errorf("%d bytes of JSON in one batch, more than SQLite stores", len(b.lines))
	}
	b.packed = s2.Encode(b.packed[:cap(b.packed)], b.lines)
	if len(b.packed) <= len(b.lines)-len(b.lines)/8 {
		return formatS2, b.packed, nil
	}
	return formatLines, b.lines, nil
}

// unpack returns the JSON lines of a stored batch, decompressed into b.lines if need be.
func (b *batchBufs) unpack(format int64, data []byte) ([]byte, error) {
	switch format {
	case formatLines:
		return data, nil
	case formatS2:
		n, err := s2.DecodedLen(data)
		if err != nil || n > maxLinesBytes {
			return nil, fmt.Errorf("%w: compressed batch: length %d, %v", ErrCorrupt, n, err)
		}
		if cap(b.lines) < n {
			b.lines = make([]byte, n)
		}
		if b.lines, err = s2.Decode(b.lines[:n], data); err != nil {
			return nil, fmt.Errorf("%w: compressed batch: %w", ErrCorrupt, err)
		}
		return b.lines, nil
	}
	return nil, fmt.Errorf("%w: unknown batch format %d", ErrCorrupt, format)
}

// batch is an event_batches row of run runID: the JSON lines of events first..last.
type batch struct {
	runID       string
	first, last int64
	data        []byte
}

// appendEvents decodes the batch's events from seq from on and appends them to out, at most
// max of them. A batch whose lines do not match its seqs, or a line that does not decode or
// names another run or seq, is corrupt.
func (b batch) appendEvents(out []event.Event, from uint64, max int) ([]event.Event, error) {
	if b.first < 1 || b.last < b.first || from < uint64(b.first) || from > uint64(b.last) {
		return nil, fmt.Errorf("%w: event batch %s/%d-%d read from seq %d", ErrCorrupt, b.runID, b.first, b.last, from)
	}
	if n := bytes.Count(b.data, []byte{'\n'}); int64(n) != b.last-b.first {
		return nil, fmt.Errorf("%w: event batch %s/%d-%d has %d lines", ErrCorrupt, b.runID, b.first, b.last, n+1)
	}
	rest := b.data
	seen := seenStrings{fieldRun: b.runID}
	for seq := uint64(b.first); seq < from; seq++ {
		rest = rest[bytes.IndexByte(rest, '\n')+1:]
	}
	for seq := from; seq <= uint64(b.last) && max > 0; seq, max = seq+1, max-1 {
		line, tail, _ := bytes.Cut(rest, []byte{'\n'})
		rest = tail
		e, err := decodeEvent(b.runID, seq, line, &seen)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}
