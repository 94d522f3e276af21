-- Compaction coarsens the update log (server/persistence/history-coarsening.ts): the updates
-- of one session within a minute become one row, merged into one Yjs update. The row's
-- created_at is the first update's time; merged_until is the last one's, and merged_updates
-- how many updates it stands for. Both stay null on a row as appended (one update, not
-- coarsened). Nullable without a default: adding them rewrites nothing.
alter table collaborations
  add column merged_updates integer,
  add column merged_until timestamptz;

-- Dead row versions. Every compaction pass deletes the appended rows it coarsens, and every
-- fold replaces a document's state (its TOAST chunks), so both tables make dead rows all the
-- time. The default trigger waits for dead rows to reach a fifth of the live ones: on a large
-- log or a large total of states that is a lot of dead space at any moment. A vacuum scans the
-- table's indexes, so it is not run at every pass either: after a fixed number of dead rows
-- plus a small share of the live ones.
alter table collaborations set (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 10000);
-- documents: a fold updates one row; room on its page keeps that update HOT (no new index
-- entries). Its old state's TOAST chunks are vacuumed on the same kind of trigger.
alter table documents set (
  fillfactor = 70,
  toast.autovacuum_vacuum_scale_factor = 0.05,
  toast.autovacuum_vacuum_threshold = 2000
);
