package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/agentfleet/fleet/engine/event"
	"github.com/agentfleet/fleet/engine/store"
)

// Commit implements [store.Store] in one write transaction: ErrNotFound if the run does not
// exist; ErrConflict if the events do not continue the run's log from LastSeq+1 without gaps, or
// an id in the commit names another run or thread. Ids left empty in the commit's events,
// checkpoint, run record and messages are filled with the commit's run and its thread. An event
// without a type, or whose Type and Data disagree, and checkpoint Data that is not JSON are
// errors. On any error nothing of the commit is stored.
func (s *Store) Commit(ctx context.Context, c store.Commit) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if c.RunID == "" {
		return errors.New("sqlite: commit: empty run id")
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		ct := &commitTx{ctx: ctx, tx: tx, stmts: s.stmts, runID: c.RunID, now: s.now()}
		return ct.apply(c)
	})
	if err != nil {
		return fmt.Errorf("sqlite: commit run %q: %w", c.RunID, err)
	}
	return nil
}

// commitTx applies one Commit inside its transaction.
type commitTx struct {
	ctx      context.Context
	tx       *sql.Tx
	stmts    map[string]*sql.Stmt
	runID    string
	threadID string
	lastSeq  uint64 // the run's LastSeq before the commit
	newSeq   uint64 // after it
	now      time.Time
}

func (ct *commitTx) apply(c store.Commit) error {
	var last int64
	err := ct.queryRow(sqlRunHead, ct.runID).Scan(&ct.threadID, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	if err != nil {
		return err
	}
	if ct.lastSeq, err = seqOf(last); err != nil {
		return err
	}
	ct.newSeq = ct.lastSeq
	for _, step := range []func(store.Commit) error{ct.events, ct.checkpoint, ct.run, ct.messages} {
		if err := step(c); err != nil {
			return err
		}
	}
	return nil
}

// sameID checks an id given in a commit: empty (filled by the store) or want.
func sameID(what, got, want string) error {
	if got != "" && got != want {
		return fmt.Errorf("%s %q in a commit for %q: %w", what, got, want, store.ErrConflict)
	}
	return nil
}

// events checks that c.Events continue the log and stores them as event_batches rows of about
// maxBatchBytes each.
func (ct *commitTx) events(c store.Commit) error {
	if len(c.Events) == 0 {
		return nil
	}
	bufs := getBatchBufs()
	defer bufs.put()
	first := ct.lastSeq + 1
	for i, e := range c.Events {
		seq := ct.lastSeq + uint64(i) + 1
		if e.Seq != seq {
			return fmt.Errorf("event %d has seq %d, want %d: %w", i, e.Seq, seq, store.ErrConflict)
		}
		if err := errors.Join(sameID("event run", e.RunID, ct.runID),
			sameID("event thread", e.ThreadID, ct.threadID)); err != nil {
			return err
		}
		e.RunID, e.ThreadID = ct.runID, ct.threadID
		b := bufs.lines
		if seq > first {
			b = append(b, '\n')
		}
		b, err := appendEvent(b, e)
		if err != nil {
			return err
		}
		bufs.lines = b
		if len(b) >= maxBatchBytes || i == len(c.Events)-1 {
			if err := ct.insertBatch(bufs, first, seq); err != nil {
				return err
			}
			first, bufs.lines = seq+1, b[:0]
		}
	}
	ct.newSeq = ct.lastSeq + uint64(len(c.Events))
	return nil
}

// insertBatch stores bufs.lines, the JSON lines of events first..last.
func (ct *commitTx) insertBatch(bufs *batchBufs, first, last uint64) error {
	format, data, err := bufs.pack()
	if err != nil {
		return fmt.Errorf("events %d-%d: %w", first, last, err)
	}
	if _, err := ct.exec(sqlInsertBatch, ct.runID, int64(last), int64(first), format, data); err != nil {
		if isDuplicate(err) {
			return fmt.Errorf("events: %w", store.ErrConflict)
		}
		return fmt.Errorf("events: %w", err)
	}
	return nil
}

func (ct *commitTx) checkpoint(c store.Commit) error {
	cp := c.Checkpoint
	if cp == nil {
		return nil
	}
	if err := sameID("checkpoint run", cp.RunID, ct.runID); err != nil {
		return err
	}
	if !json.Valid(cp.Data) {
		return errors.New("checkpoint data is not valid JSON")
	}
	if cp.Seq > math.MaxInt64 {
		return fmt.Errorf("checkpoint seq %d out of range", cp.Seq)
	}
	var tc timeCodec
	created := tc.enc(cp.CreatedAt)
	if tc.err != nil {
		return fmt.Errorf("checkpoint: %w", tc.err)
	}
	_, err := ct.exec(sqlUpsertCkpt, ct.runID, int64(cp.Seq), cp.WorkflowHash, string(cp.Data), created)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

func (ct *commitTx) run(c store.Commit) error {
	if c.Run == nil {
		if ct.newSeq == ct.lastSeq {
			return nil
		}
		_, err := ct.exec(sqlSetLastSeq, int64(ct.newSeq), ct.runID)
		return err
	}
	r := *c.Run
	if err := errors.Join(sameID("run", r.ID, ct.runID), sameID("run thread", r.ThreadID, ct.threadID)); err != nil {
		return err
	}
	r.ID, r.ThreadID = ct.runID, ct.threadID
	args, err := runArgs(r, ct.newSeq)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	_, err = ct.exec(sqlUpdateRun, append(args[2:], ct.runID)...)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	return nil
}

// messages appends c.Messages to the run's thread with the next seqs and moves the thread's
// UpdatedAt to now (never backwards).
func (ct *commitTx) messages(c store.Commit) error {
	if len(c.Messages) == 0 {
		return nil
	}
	var next int64
	if err := ct.queryRow(sqlNextMessage, ct.threadID).Scan(&next); err != nil {
		return fmt.Errorf("messages: %w", err)
	}
	var tc timeCodec
	for i, m := range c.Messages {
		if err := errors.Join(sameID("message thread", m.ThreadID, ct.threadID),
			sameID("message run", m.RunID, ct.runID)); err != nil {
			return err
		}
		created := tc.enc(m.CreatedAt)
		if tc.err != nil {
			return fmt.Errorf("message %d: %w", i, tc.err)
		}
		if _, err := ct.exec(sqlInsertMsg, ct.threadID, next+int64(i)+1, ct.runID, m.Role, m.Agent,
			m.Content, created); err != nil {
			return fmt.Errorf("message %d: %w", i, err)
		}
	}
	_, err := ct.exec(sqlTouchThread, tc.enc(ct.now), ct.threadID)
	if err != nil {
		return fmt.Errorf("messages: %w", err)
	}
	return nil
}

// Events implements [store.Store]: ErrNotFound if the run does not exist; a negative limit is
// an error. A stored event that does not decode, or a gap or overlap between stored batches,
// fails the call with [ErrCorrupt].
func (s *Store) Events(ctx context.Context, runID string, after uint64, limit int) ([]event.Event, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	n, err := limitOf(limit, math.MaxInt)
	if err != nil {
		return nil, fmt.Errorf("sqlite: events of %q: %w", runID, err)
	}
	out, err := s.readEvents(ctx, runID, after, n)
	if err != nil {
		return nil, fmt.Errorf("sqlite: events of %q: %w", runID, err)
	}
	if len(out) == 0 {
		return out, s.mustExist(ctx, "runs", runID)
	}
	return out, nil
}

// readEvents returns up to n (> 0) events of runID after seq after: the batches that overlap
// (after, after+n], sliced.
func (s *Store) readEvents(ctx context.Context, runID string, after uint64, n int) ([]event.Event, error) {
	if after >= math.MaxInt64 {
		return []event.Event{}, nil // no seq is stored above MaxInt64
	}
	upTo := int64(math.MaxInt64) // the last seq wanted
	if uint64(n) < math.MaxInt64-after {
		upTo = int64(after) + int64(n)
	}
	rows, err := s.reads[sqlReadBatches].QueryContext(ctx, runID, int64(after), upTo)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	bufs := getBatchBufs()
	defer bufs.put()
	out := make([]event.Event, 0, min(n, 1024))
	next := after + 1 // the seq the next batch must hold
	for len(out) < n && rows.Next() {
		b := batch{runID: runID}
		var format int64
		var data sql.RawBytes // valid until the next Next: decoded at once
		if err := rows.Scan(&b.first, &b.last, &format, &data); err != nil {
			return nil, err
		}
		// Batches tile the log: the first read holds after+1, every later one starts right
		// after the one before.
		if b.first < 1 || uint64(b.first) > next || (len(out) > 0 && uint64(b.first) != next) {
			return nil, fmt.Errorf("%w: event batch %d-%d where seq %d was due", ErrCorrupt, b.first, b.last, next)
		}
		if b.data, err = bufs.unpack(format, data); err != nil {
			return nil, fmt.Errorf("event batch %d-%d: %w", b.first, b.last, err)
		}
		if out, err = b.appendEvents(out, next, n-len(out)); err != nil {
			return nil, err
		}
		next = after + uint64(len(out)) + 1
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// Checkpoint implements [store.Store]: ErrNotFound if the run does not exist or has no
// checkpoint. Data that is not JSON fails the call with [ErrCorrupt].
func (s *Store) Checkpoint(ctx context.Context, runID string) (store.Checkpoint, error) {
	if err := s.enter(); err != nil {
		return store.Checkpoint{}, err
	}
	defer s.leave()
	var cp store.Checkpoint
	var seq int64
	var data, created string
	err := s.r.QueryRowContext(ctx, `SELECT run_id, seq, workflow_hash, data, created_at FROM checkpoints
		WHERE run_id = ?`, runID).Scan(&cp.RunID, &seq, &cp.WorkflowHash, &data, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Checkpoint{}, fmt.Errorf("sqlite: checkpoint of %q: %w", runID, store.ErrNotFound)
	}
	if err != nil {
		return store.Checkpoint{}, fmt.Errorf("sqlite: checkpoint of %q: %w", runID, err)
	}
	if cp.Seq, err = seqOf(seq); err != nil {
		return store.Checkpoint{}, fmt.Errorf("sqlite: checkpoint of %q: %w", runID, err)
	}
	if !json.Valid([]byte(data)) {
		return store.Checkpoint{}, fmt.Errorf("sqlite: checkpoint of %q: %w: data is not JSON", runID, ErrCorrupt)
	}
	cp.Data = json.RawMessage(data)
	var tc timeCodec
	if cp.CreatedAt = tc.dec(created); tc.err != nil {
		return store.Checkpoint{}, fmt.Errorf("sqlite: checkpoint of %q: %w", runID, tc.err)
	}
	return cp, nil
}
