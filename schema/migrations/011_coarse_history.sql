-- Compaction coarsens the update log (server/persistence/history-coarsening.ts): the updates
-- of one session within a minute become one row, merged into one Yjs update. The row's
-- created_at is the first update's time; merged_until is the last one's, and merged_updates
-- how many updates it stands for. Both stay null on a row as appended (one update, not yet
-- applied by a compaction). Nullable without a default: adding them rewrites nothing.
alter table collaborations
  add column merged_updates integer,
  add column merged_until timestamptz;

-- Dead row versions. Every compaction pass deletes the appended rows it coarsens, and every
-- fold replaces a document's state (its TOAST chunks). The default trigger waits for dead rows
-- to reach a fifth of the live ones; for a log whose live rows are few coarsened ones and for
-- states of a few large documents that lets dead space pile up, so these tables are vacuumed
-- after a fixed number of dead rows instead, which keeps their files near their live size.
alter table collaborations set (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000);
-- documents: a fold updates one row; room on its page keeps that update HOT (no new index
-- entries), and its old state's TOAST chunks are vacuumed once a few thousand are dead.
alter table documents set (
  fillfactor = 70,
  toast.autovacuum_vacuum_scale_factor = 0,
  toast.autovacuum_vacuum_threshold = 2000
);
