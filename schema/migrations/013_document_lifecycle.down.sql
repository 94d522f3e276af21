-- Trashed documents become ordinary documents again and former names stop resolving.
drop table if exists document_aliases;
drop index if exists documents_deleted_by_idx;
drop index if exists documents_deleted_at_idx;
alter table documents drop column if exists deleted_by, drop column if exists deleted_at;
