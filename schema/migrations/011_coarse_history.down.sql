alter table documents reset (fillfactor, toast.autovacuum_vacuum_scale_factor, toast.autovacuum_vacuum_threshold);
alter table collaborations reset (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold);
-- Coarsened rows stay: each is still one valid Yjs update with its session and time.
alter table collaborations drop column if exists merged_until, drop column if exists merged_updates;
