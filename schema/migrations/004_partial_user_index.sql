-- The log's user index only serves lookups of one user's rows (history by author, and
-- ON DELETE SET NULL from users); anonymous rows (user_id null, every row in open
-- mode) never need it. A partial index skips them: one index insert fewer per logged
-- update (a 510-row group commit: 6.9 → 6.3 ms) and a smaller index.
drop index collaborations_user_id_idx;
create index collaborations_user_id_idx on collaborations (user_id) where user_id is not null;
-- (Rebuilding the index locks the log against writes while it runs: on a large existing
-- log, run it in a quiet moment. `user_id = $1` still uses the partial index: equality
-- implies not null.)
