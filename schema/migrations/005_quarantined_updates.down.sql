-- Quarantined rows become ordinary log rows again: rows at or below covered_position
-- count as folded although their content is in no state (as before this migration).
drop index if exists collaborations_quarantined_idx;
alter table collaborations drop column if exists quarantined;
