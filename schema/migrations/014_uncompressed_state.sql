-- documents.state is stored uncompressed (still out of line, in TOAST). A load reads the state
-- in slices (server/persistence/compaction.ts HEAD_SQL) to keep node-postgres's messages small;
-- a slice of an uncompressed value reads only its own TOAST chunks, where a compressed one is
-- decompressed from its start for every slice. pglz also cost the database a compression per
-- fold and a decompression per load, hundreds of milliseconds for a 20 MB state, for a state
-- that compresses to about a third: the disk holds three times more for documents.state, whose
-- total is one state per document (the history, in collaborations, is unchanged). States
-- written before this migration stay compressed until their next fold, and read correctly.
alter table documents alter column state set storage external;
