drop index collaborations_user_id_idx;
create index collaborations_user_id_idx on collaborations (user_id);
